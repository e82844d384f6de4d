"""SIGKILL ledgers: four scheduler processes share one store with its default settings, and
one of them is killed while it works. No fire may go missing; a fire may run twice only when
the killed process started it (see docs/many-workers.md); and a task the killed process held
fires again within about ``lease_seconds`` (5 s) of the kill."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from asyncz_like.stores.base import DEFAULT_LEASE_SECONDS
from tests.faults.ledger import Ledger, expected_fires, read_fires, seed_store
from tests.faults.processes import start_workers, stop_workers
from tests.stores.backends import Backend, made_backend

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(120)]

PROCESSES, WINDOW, LEAD = 4, 8.0, 1.5
#: Just before the fires at 3 s: the processes hold the claims of those fires, taken ahead.
KILL_AT = 2.98
NEEDS_LOCK = {"file", "sqlite"}  # one host: the per-store file lock
#: How late a fire may start after a kill: the lease, the poll that notices it, a margin.
STALL_BOUND = DEFAULT_LEASE_SECONDS + 2.0


@pytest.fixture(params=["file", "sqlite", "postgresql", "mariadb", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


def _busiest(outs: list[Path], start: datetime) -> int:
    """The index of the process that started the most of the latest fires."""
    fires = read_fires(outs, start)
    latest = max((offset for _, offset, _, _ in fires), default=0.0)
    pids = [pid for _, offset, _, pid in fires if offset == latest]
    counts = {index: 0 for index in range(len(outs))}
    for index, out in enumerate(outs):
        mine = {pid for _, _, _, pid in read_fires([out], start)}
        counts[index] = sum(1 for pid in pids if pid in mine)
    return max(counts, key=lambda index: counts[index])


def test_a_killed_scheduler_loses_no_fire_and_stalls_its_tasks_briefly(
    backend: Backend, tmp_path: Path
) -> None:
    began = time.monotonic()
    config = json.dumps(backend.config())  # default lease_seconds and poll_interval
    lock = str(tmp_path / "faults_{store}.lock") if backend.name in NEEDS_LOCK else "-"
    lifetime = 30 + LEAD + WINDOW + STALL_BOUND  # at most 30 s to start (start_workers)
    outs = [tmp_path / f"out-{i}.tsv" for i in range(PROCESSES)]
    procs = start_workers(config, lock, lifetime, outs)
    try:
        start = datetime.now(UTC) + timedelta(seconds=LEAD)
        seed_store(backend, start)
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + KILL_AT - 0.3))
        victim = procs[_busiest(outs, start)]  # the likeliest to hold claims at the kill
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + KILL_AT))
        os.kill(victim.pid, signal.SIGKILL)
        end = max(WINDOW, KILL_AT + STALL_BOUND) + 0.5  # every fire held up has run by then
        time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + end))
    finally:
        for proc in procs[1:]:
            proc.terminate()  # a clean shutdown
        stop_workers(procs, timeout=10)
    ledger = Ledger(
        f"{backend.name}, one of {PROCESSES} SIGKILLed at {KILL_AT} s",
        expected_fires(WINDOW), read_fires(outs, start), {victim.pid},
        time.monotonic() - began,
    )  # fmt: skip
    ledger.check()
    latest = ledger.latest(after=KILL_AT - 1.0)
    print(f"  latest fire after the kill: {latest:.2f} s late")
    assert latest < STALL_BOUND, f"a fire started {latest:.2f} s late"
