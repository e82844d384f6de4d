"""Two scheduler processes share one store: ``max_instances=1`` holds across them, so a long
run in one process blocks the overlapping fires in both."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from asyncz_like.triggers import IntervalTrigger
from tests.stores.backends import BACKENDS, Backend

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RUN, INTERVAL, WINDOW = 2.5, 0.5, 6.0


@pytest.fixture(params=["postgresql", "redis"])
def shared_backend(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    made = BACKENDS[request.param](tmp_path)
    try:
        yield made
    finally:
        made.cleanup()


def seed(backend: Backend, start: datetime, runs_path: Path) -> None:
    from asyncz_like.schedulers import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC", stores={"default": backend.make()})
    scheduler.start(paused=True)
    scheduler.add_task(
        "tests.integration.mp_worker:slow",
        IntervalTrigger(seconds=INTERVAL, start_at=start),
        args=[str(runs_path), RUN],
        id="slow",
        coalesce=True,
        max_instances=1,
        mistrigger_grace_time=None,
    )
    scheduler.shutdown()


def test_max_instances_holds_across_processes(shared_backend: Backend, tmp_path: Path) -> None:
    runs_path = tmp_path / "runs.tsv"
    start = datetime.now(UTC) + timedelta(seconds=2)
    seed(shared_backend, start, runs_path)
    # a lease shorter than a run: the slot lives on by the heartbeat only
    config = json.dumps(shared_backend.config(lease_seconds=1.5, poll_interval=0.1))
    seconds = (start - datetime.now(UTC)).total_seconds() + WINDOW
    worker = [sys.executable, "-m", "tests.integration.mp_worker", config, "-", str(seconds)]
    procs = [
        subprocess.Popen([*worker, str(tmp_path / f"fires-{i}.tsv")], cwd=ROOT) for i in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=seconds + 15) == 0
    runs = sorted(
        (float(start_), float(end), pid)
        for start_, end, pid in (line.split("\t") for line in runs_path.read_text().splitlines())
    )
    assert len(runs) >= 2, runs
    for (_, end, _), (next_start, _, _) in itertools.pairwise(runs):
        assert next_start >= end - 0.01, f"overlapping runs: {runs}"
