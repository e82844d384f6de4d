"""Scheduler processes for the fault tests (tests/faults/worker.py), started and made ready."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_workers(
    config: str, lock: str, seconds: float, outs: list[Path]
) -> list[subprocess.Popen[bytes]]:
    """One worker per output file, each working the store for ``seconds``; returns once
    every one has started its scheduler (so that a slow start does not make fires late)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.faults.worker", config, lock, str(seconds), str(out)],
            cwd=ROOT,
        )
        for out in outs
    ]
    deadline = time.monotonic() + 30
    while not all(Path(f"{out}.ready").exists() for out in outs):
        if time.monotonic() > deadline or any(proc.poll() is not None for proc in procs):
            stop_workers(procs)
            raise RuntimeError("the scheduler processes did not start")
        time.sleep(0.05)
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]], timeout: float = 0.0) -> None:
    """Wait up to ``timeout`` for each to end by itself, then kill what is left."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
