"""A store whose server goes away and comes back: the loop logs, retries and fires again.

The store talks to its server through a TCP proxy (tests/proxy.py) that the test stops and
starts; the shared server itself is never touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from asyncz_like.schedulers import BackgroundScheduler
from asyncz_like.stores.base import BaseStore
from tests.proxy import TcpProxy
from tests.stores.backends import PostgresBackend, RedisBackend

pytestmark = [pytest.mark.e2e, pytest.mark.service]

FIRES: list[datetime] = []


def tick() -> None:
    FIRES.append(datetime.now().astimezone())


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = (
        parts.netloc.rsplit(":", 1)[0] if ":" in parts.netloc.rsplit("@", 1)[-1] else parts.netloc
    )
    return urlunsplit(parts._replace(netloc=f"{netloc}:{port}"))


def _postgres(tmp_path: Path) -> tuple[Any, Callable[[int], BaseStore]]:
    from asyncz_like.stores.sqlalchemy import SQLAlchemyStore

    backend = PostgresBackend(tmp_path)
    backend.make()  # the table, made directly (and dropped at the end)
    target = urlsplit(backend.url)
    host, port = target.hostname or "127.0.0.1", target.port or 5432

    def make(proxy_port: int) -> BaseStore:
        url = _through(backend.url, proxy_port)
        return SQLAlchemyStore(database=url, tablename=f"t_{backend.token}")

    return (backend, (host, port)), make


def _redis(tmp_path: Path) -> tuple[Any, Callable[[int], BaseStore]]:
    from asyncz_like.stores.redis import RedisStore

    backend = RedisBackend(tmp_path)
    backend.make().shutdown()  # checks the server is there
    options = backend.config()
    del options["type"]
    target = (options.pop("host"), options.pop("port"))

    def make(proxy_port: int) -> BaseStore:
        return RedisStore(host="127.0.0.1", port=proxy_port, **options)

    return (backend, target), make


@pytest.fixture(params=["postgresql", "redis"])
def outage_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    (backend, target), make = {"postgresql": _postgres, "redis": _redis}[request.param](tmp_path)
    proxy = TcpProxy(*target).start()
    try:
        yield proxy, make(proxy.port)
    finally:
        proxy.stop()
        backend.cleanup()


def test_firing_resumes_by_itself_after_the_server_comes_back(
    outage_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    proxy, store = outage_store
    FIRES.clear()
    scheduler = BackgroundScheduler(stores={"default": store}, timezone="UTC")
    scheduler.start()
    try:
        scheduler.add_task(tick, "interval", seconds=0.2, id="tick", mistrigger_grace_time=None)
        time.sleep(1.0)
        before = len(FIRES)
        proxy.stop()  # the server goes away
        time.sleep(2.5)
        during = len(FIRES)
        proxy.start()  # and comes back
        back_at = datetime.now().astimezone()
        time.sleep(2.0)
        after = [fire for fire in FIRES if fire > back_at]
        task = scheduler.get_task("tick")
    finally:
        scheduler.shutdown(wait=False)
    assert before >= 3
    assert during - before <= 2  # at most what was handed over before the cut
    assert len(after) >= 4, f"fires after the server came back: {len(after)}"
    assert task is not None and task.next_run_time is not None  # nothing lost
    assert any("retrying" in record.getMessage() for record in caplog.records)
