"""A SIGKILL ledger with kills that keep coming: four scheduler processes work one SQLite
store with a ``lock_path`` (one at a time works it, as on one host with gunicorn workers),
and every ~3 s the busiest is SIGKILLed and a fresh one started in its place. No fire may go
missing; a fire may run twice only when a killed process started it (see
docs/many-workers.md); no fire may start later than about ``lease_seconds`` after its time."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from asyncz_like.stores.base import DEFAULT_LEASE_SECONDS
from tests.faults.ledger import Ledger, expected_fires, read_fires, seed_store
from tests.faults.processes import start_workers, stop_workers
from tests.faults.test_kill import _busiest
from tests.stores.backends import made_backend

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.timeout(90)]

PROCESSES, WINDOW, LEAD = 4, 21.0, 1.5
#: Kills at about these offsets from the first fire (each moved by up to 0.4 s at random).
KILLS = [3.0 * n for n in range(1, 7)]
#: How late a fire may start after a kill: the lease, the poll that notices it, a margin.
STALL_BOUND = DEFAULT_LEASE_SECONDS + 2.0


def _sleep_until(start: datetime, offset: float) -> None:
    time.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds() + offset))


def test_kills_every_3_s_lose_no_fire_on_sqlite_with_a_lock_path(tmp_path: Path) -> None:
    began = time.monotonic()
    rng = random.Random(22)
    with made_backend("sqlite", tmp_path) as backend:
        config = json.dumps(backend.config())  # default lease_seconds and poll_interval
        lock = str(tmp_path / "faults_{store}.lock")
        lifetime = 30 + LEAD + WINDOW + STALL_BOUND + 10 * len(KILLS)  # an upper bound
        outs = [tmp_path / f"out-{i}.tsv" for i in range(PROCESSES)]
        procs: list[subprocess.Popen[bytes]] = start_workers(config, lock, lifetime, outs)
        killed: set[int] = set()
        try:
            start = datetime.now(UTC) + timedelta(seconds=LEAD)
            seed_store(backend, start)
            for kill_at in KILLS:
                _sleep_until(start, kill_at + rng.uniform(-0.4, 0.4))
                index = _busiest(outs, start)  # the likeliest to hold claims and run slots
                victim = procs[index]
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait()
                killed.add(victim.pid)
                outs[index] = tmp_path / f"out-{PROCESSES + len(killed)}.tsv"  # a new one
                procs[index] = start_workers(config, lock, lifetime, [outs[index]])[0]
            _sleep_until(start, max(WINDOW, KILLS[-1] + STALL_BOUND) + 0.5)
        finally:
            for proc in procs:
                proc.terminate()  # a clean shutdown
            stop_workers(procs, timeout=10)
        files = sorted(tmp_path.glob("out-*.tsv"))
        ledger = Ledger(
            f"sqlite + lock_path, {PROCESSES} processes, {len(killed)} SIGKILLed every ~3 s",
            expected_fires(WINDOW), read_fires(files, start), killed,
            time.monotonic() - began,
        )  # fmt: skip
    ledger.check()
    latest = ledger.latest(after=0.0)
    print(f"  latest fire: {latest:.2f} s late")
    assert latest < STALL_BOUND, f"a fire started {latest:.2f} s late"
