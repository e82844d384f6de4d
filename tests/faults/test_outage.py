"""Outage ledgers: one scheduler works a PostgreSQL, MariaDB or Redis store through a TCP proxy
(tests/proxy.py) that the test cuts for longer than the default lease, either by resetting
every connection or by dropping every packet (calls hang until it ends). No fire may go
missing and none may run twice: the scheduler never starts again a fire it has started.
The real servers are never touched."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.schedulers import BackgroundScheduler
from asyncz_like.stores.base import DEFAULT_LEASE_SECONDS
from tests.e2e.test_store_outage import _through
from tests.faults import worker
from tests.faults.ledger import Ledger, expected_fires, read_fires, seed, seed_store
from tests.faults.processes import start_workers, stop_workers
from tests.proxy import TcpProxy
from tests.stores.backends import Backend, made_backend

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.service, pytest.mark.timeout(120)]

#: The cut starts just after the fires at 2 s have started (their releases not all written)
#: and lasts longer than the default lease, so that leases end during it.
CUT_AT, OUTAGE, WINDOW, LEAD = 2.02, DEFAULT_LEASE_SECONDS + 1.0, 11.0, 1.0
#: After the window: time for the fires held up by the cut to run.
SETTLE = 2.5


@pytest.fixture(params=["postgresql", "mariadb", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


def _proxied(backend: Backend) -> tuple[TcpProxy, dict[str, Any]]:
    """A proxy to the backend's server, and the store config that goes through it."""
    backend.make().shutdown()  # the server is there (CI=true: fails rather than skips)
    if backend.name == "redis":
        config = backend.config()
        proxy = TcpProxy(config["host"], config["port"])
        return proxy, {**config, "host": "127.0.0.1", "port": proxy.port}
    url = backend.config()["database"]
    host, port = url.rsplit("@", 1)[-1].split("/", 1)[0].split(":")
    proxy = TcpProxy(host, int(port))
    return proxy, backend.config(database=_through(url, proxy.port))


@pytest.mark.parametrize("mode", ["reset", "blackhole"])
def test_an_outage_repeats_no_fire_and_loses_none(
    backend: Backend, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    began = time.monotonic()
    fires: list[tuple[str, float, float, int]] = []
    start = datetime.now(UTC) + timedelta(seconds=LEAD)  # seeded with next_run_time=start
    pid = os.getpid()

    def record(task_id: str, scheduled: datetime) -> None:
        base = start.timestamp()
        fires.append((task_id, round(scheduled.timestamp() - base, 3), time.time() - base, pid))

    monkeypatch.setattr(worker, "RECORD", record)
    proxy, config = _proxied(backend)
    proxy.start()
    scheduler = BackgroundScheduler(
        timezone="UTC", stores={"default": config},
        executors={"default": {"type": "threadpool", "max_workers": 10}},
    )  # fmt: skip
    try:
        scheduler.start()
        seed(scheduler, start)
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + CUT_AT))
        if mode == "reset":
            proxy.stop()
            time.sleep(OUTAGE)
            proxy.start()
        else:
            proxy.blackhole()
            time.sleep(OUTAGE)
            proxy.flow()
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + WINDOW + SETTLE))
    finally:
        scheduler.shutdown(wait=True)
        proxy.stop()
    ledger = Ledger(
        f"{backend.name}, {OUTAGE:g} s {mode} at {CUT_AT} s",
        expected_fires(WINDOW), list(fires), set(), time.monotonic() - began,
    )  # fmt: skip
    ledger.check()


def test_an_outage_under_several_schedulers_repeats_no_fire(
    backend: Backend, tmp_path: Path
) -> None:
    """Three scheduler processes behind the proxy, connections reset: when the server is back,
    a scheduler must not take over the claim of another that is alive and has not yet
    written the release it could not write during the cut."""
    began = time.monotonic()
    proxy, config = _proxied(backend)
    proxy.start()
    outs = [tmp_path / f"out-{i}.tsv" for i in range(3)]
    lifetime = 30 + LEAD + WINDOW + SETTLE
    try:
        procs = start_workers(json.dumps(config), "-", lifetime, outs)
        try:
            start = datetime.now(UTC) + timedelta(seconds=LEAD)
            seed_store(backend, start)
            time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + CUT_AT))
            proxy.stop()
            time.sleep(OUTAGE)
            proxy.start()
            time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + WINDOW + SETTLE))
        finally:
            for proc in procs:
                proc.terminate()
            stop_workers(procs, timeout=10)
    finally:
        proxy.stop()
    ledger = Ledger(
        f"{backend.name}, 3 schedulers, {OUTAGE:g} s reset at {CUT_AT} s",
        expected_fires(WINDOW), read_fires(outs, start), set(), time.monotonic() - began,
    )  # fmt: skip
    ledger.check()
