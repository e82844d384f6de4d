"""``asyncz-like worker`` processes for the fault tests, started through the real command line,
each in a process group of its own, so that a kill or the final clean-up reaches whatever it
started too."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from asyncz_like.brokers import BaseBroker
from asyncz_like.brokers.records import QueueStats
from asyncz_like.runs import Run

ROOT = Path(__file__).resolve().parents[2]
TASKS = "tests.faults.run_book"


class CliWorkers:
    """Workers on the broker ``config`` (written to a JSON file they read with ``--broker
    @file``), claiming from ``queue``. :meth:`close` ends every one, whatever happened."""

    def __init__(self, config: dict[str, Any], queue: str, tmp_path: Path, *options: str) -> None:
        self.tmp_path = tmp_path
        self.path = tmp_path / "broker.json"
        self.path.write_text(json.dumps(config))
        self.queue = queue
        self.options = options
        self.alive: list[subprocess.Popen[bytes]] = []
        self.log_paths: dict[int, Path] = {}
        self.killed: set[int] = set()
        self.started = 0
        self.logs: list[IO[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        path = self.tmp_path / f"worker-{self.started}.log"
        log = open(path, "wb")  # noqa: SIM115
        self.logs.append(log)
        command = [sys.executable, "-m", "asyncz_like.cli", "worker", "--broker", f"@{self.path}",
                   "--queues", self.queue, "--import", TASKS, *self.options]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        self.alive.append(process)
        self.log_paths[process.pid] = path
        self.started += 1
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL ``process`` (and its group), and note its pid as killed."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.killed.add(process.pid)
        self.alive.remove(process)

    def up(self, process: subprocess.Popen[bytes]) -> bool:
        """Whether ``process`` has started working (or has ended)."""
        text = self.log_paths[process.pid].read_text(errors="replace")
        return process.poll() is not None or " started: queues " in text

    def log_text(self, tail: int = 6000) -> str:
        texts = [path.read_text(errors="replace") for path in sorted(self.tmp_path.glob("*.log"))]
        return "\n".join(texts)[-tail:]

    def close(self, grace: float = 15.0) -> list[int | None]:
        """SIGTERM every live worker, wait up to ``grace`` seconds, then SIGKILL their groups;
        the exit codes of those that stopped by themselves (None: killed). A worker still
        starting is given a few seconds to get going first (a SIGTERM then is graceful)."""
        wait_for(lambda: all(self.up(process) for process in self.alive), 10, 0.1)
        for process in self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        codes: list[int | None] = []
        for process in self.alive:
            try:
                codes.append(process.wait(max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                codes.append(None)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # what it started, if anything
            process.wait()
        self.alive.clear()
        for log in self.logs:
            log.close()
        return codes


def queue_stats(broker: BaseBroker, queue: str) -> QueueStats:
    return broker.stats(datetime.now(UTC)).get(queue) or QueueStats()


def wait_for(check: Callable[[], bool], seconds: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def read_runs(broker: BaseBroker, queue: str, run_ids: list[str]) -> dict[str, Run]:
    """The broker's record of each run: listed in one call where the broker allows that many,
    the rest read one by one."""
    runs = {run.id: run for run in broker.list_runs(queue=queue, limit=len(run_ids))}
    for run_id in run_ids:
        if run_id not in runs and (run := broker.get_run(run_id)) is not None:
            runs[run_id] = run
    return {run_id: runs[run_id] for run_id in run_ids if run_id in runs}
