"""The web/worker example (examples/web_worker/): a Starlette process that only submits, and a
real ``asyncz-like worker`` process, started through the command line, that runs the work.
They share a broker: a SQLite file, or PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from examples.web_worker import tasks
from examples.web_worker.app import create_app
from tests.brokers.backends import BrokerBackend, made_backend

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        made.make()  # creates the table now, and drops it at the end
        yield made


@pytest.fixture
def worker(backend: BrokerBackend, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    config = tmp_path / "broker.json"
    config.write_text(json.dumps(backend.config(poll_interval=0.2)))
    command = [sys.executable, "-m", "asyncz_like.cli", "worker", "--broker", f"@{config}",
               "--queues", "images", "--interval", "0.5", "--import", tasks.__name__]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "THUMBNAIL_SECONDS_PER_STEP": "0.05"}
    with open(tmp_path / "worker.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def follow(client: TestClient, url: str, seconds: float) -> list[dict[str, Any]]:
    """Poll the run as a browser would; every state seen, up to the final one."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    while not seen or seen[-1]["status"] not in ("completed", "failed", "cancelled", "timeout"):
        assert time.monotonic() < deadline, seen[-1:]
        seen.append(client.get(url).json())
        time.sleep(0.02)
    return seen


def test_the_web_process_submits_and_the_worker_process_runs(
    backend: BrokerBackend, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    with TestClient(create_app(backend.config())) as client:
        response = client.post("/thumbnails", json={"photo": "cat.jpg", "size": 64})
        assert response.status_code == 202, response.text
        submitted = response.json()
        assert submitted["status"] == "pending"
        seen = follow(client, submitted["url"], seconds=30)
        assert client.get("/runs/nope").status_code == 404
        assert client.post("/thumbnails", json={"size": 3}).status_code == 400
        # an ended run (and an unknown one) cannot be cancelled any more
        assert client.delete(submitted["url"]).json() == {"cancelled": False}
        assert client.delete("/runs/nope").json() == {"cancelled": False}
    done = seen[-1]
    assert done["status"] == "completed", (done, (tmp_path / "worker.log").read_text())
    assert done["queue"] == "images" and done["progress"] == 100.0
    assert done["result"]["thumbnail"] == "cat.jpg.64px.jpg"
    # it ran in the worker process, not in the web process
    assert done["result"]["worker_pid"] == worker.pid != os.getpid()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0


def test_the_web_process_cancels_a_run_the_worker_process_is_running(
    backend: BrokerBackend, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    with TestClient(create_app(backend.config())) as client:
        submitted = client.post("/thumbnails", json={"photo": "big.tif", "steps": 1000}).json()
        deadline = time.monotonic() + 30
        while client.get(submitted["url"]).json()["status"] != "running":
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.02)
        assert client.delete(submitted["url"]).json() == {"cancelled": True}
        seen = follow(client, submitted["url"], seconds=10)  # the worker stops it within 1 s
    assert seen[-1]["status"] == "cancelled", seen[-1]
    assert seen[-1]["progress"] < 100.0
