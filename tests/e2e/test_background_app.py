"""The background-work example app, driven with Starlette's TestClient."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from examples import background_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(background_app, "SECONDS_PER_ROW", 0.002)
    with TestClient(background_app.app) as test_client:
        yield test_client


def follow(client: TestClient, url: str, seconds: float = 10) -> dict[str, Any]:
    """Poll the report until it is finished, as a browser would."""
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, Any] = client.get(url).json()
        if body["status"] in ("completed", "failed", "cancelled", "timeout"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.01)


def test_post_returns_at_once_and_get_follows_the_run(client: TestClient) -> None:
    response = client.post("/reports", json={"kind": "sales", "rows": 20})
    assert response.status_code == 202
    started = response.json()
    assert started["status"] == "pending" and started["url"] == f"/reports/{started['id']}"
    assert response.headers["location"] == started["url"]
    seen = client.get(started["url"]).json()
    assert seen["id"] == started["id"] and 0 <= seen["progress"] <= 100
    done = follow(client, started["url"])
    assert done["status"] == "completed" and done["progress"] == 100.0
    assert done["result"] == {"kind": "sales", "rows": 20, "total": 210}
    assert done["message"] == "20/20 rows" and done["name"] == "report sales"
    figures = client.get("/stats").json()
    assert figures["by_status"]["completed"] >= 1 and figures["running"] == 0
    assert figures["workers"]["default:coroutines"]["capacity"] == 4


def test_cancel_a_running_report(client: TestClient) -> None:
    started = client.post("/reports", json={"kind": "big", "rows": 10_000}).json()
    cancelled = client.delete(started["url"])
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
    assert client.get(started["url"]).json()["status"] == "cancelled"
    assert client.delete(started["url"]).status_code == 409


def test_bad_requests(client: TestClient) -> None:
    assert client.get("/reports/nope").status_code == 404
    assert client.delete("/reports/nope").status_code == 404
    assert client.post("/reports", json={"rows": 3}).status_code == 400
    assert client.post("/reports", json={"kind": "x", "rows": 0}).status_code == 400
    assert client.post("/reports", content=b"not json").status_code == 400
