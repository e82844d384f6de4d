"""What every anchor's side script shares: its command line, the job's clock, its report.

Each side script runs inside its library's venv (``benchmarks/.venvs/<library>``) and needs
only that library and the standard library. ``anchors.py`` calls it with one command:

* ``prepare``: make the tables (or nothing where the library makes none);
* ``enqueue --count N [--rate R]``: N no-op jobs, in batches, or one at a time at R/s;
* ``work --expect N [--warm W]``: one worker (``--concurrency``) in this process until N jobs
  ended (0: until SIGTERM); it prints ``ready`` once started, then one JSON line;
* ``clean``: drop what ``prepare`` and the jobs made.

The job records ``time.time()`` as it starts and as it ends: the drain runs from the first
start to the last end (the worker's start-up is not counted, as in ``drain.py``), and each
job's latency is its start minus the ``sent`` time the enqueuer gave it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

PROCESS_STARTED = time.time()
BATCH = 1000


class Recorder:
    """The jobs' clock in a worker process; ``on_done`` is called once ``expect`` jobs ended."""

    def __init__(self, expect: int, warm: int, on_done: Callable[[], None]) -> None:
        self.expect, self.warm, self.on_done = expect, warm, on_done
        self.ended_count = 0
        self.ended_indexes: set[int] = set()
        self.first_start = math.inf
        self.last_end = 0.0
        self.latencies_ms: list[float] = []
        self._lock = threading.Lock()
        self._done = False

    def started(self, index: int, sent: float) -> None:
        now = time.time()
        with self._lock:
            self.first_start = min(self.first_start, now)
            if index >= self.warm:
                self.latencies_ms.append((now - sent) * 1000)

    def ended(self, index: int) -> None:
        now = time.time()
        with self._lock:
            self.ended_count += 1
            self.ended_indexes.add(index)
            self.last_end = max(self.last_end, now)
            done = not self._done and 0 < self.expect <= len(self.ended_indexes)
            self._done = self._done or done
        if done:
            self.on_done()

    def report(self) -> dict[str, Any]:
        return {
            "jobs": len(self.ended_indexes),
            "repeats": self.ended_count - len(self.ended_indexes),
            "drain_s": self.last_end - self.first_start if self.ended_count else None,
            "latency_ms": self.latencies_ms if self.warm else [],
        }


def paced(count: int, rate: float) -> list[float]:
    """When each of ``count`` jobs is due, in seconds from the start, at ``rate`` per second."""
    return [index / rate for index in range(count)] if rate > 0 else [0.0] * count


def ready() -> None:
    print("ready", flush=True)


def emit(report: dict[str, Any]) -> None:
    print(json.dumps({**report, "process_s": time.time() - PROCESS_STARTED}), flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["prepare", "enqueue", "work", "clean"])
    parser.add_argument("--name", required=True, help="queue, schema or prefix of this run")
    parser.add_argument("--backend", default="", help="redis or postgresql (saq)")
    parser.add_argument("--url", required=True, help="the server's URL")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.0, help="jobs/s (0: batches)")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument(
        "--warm", type=int, default=0, help="first jobs left out of the latencies (0: no latencies)"
    )
    parser.add_argument("--concurrency", type=int, default=20)
    return parser.parse_args(argv)


def main(commands: dict[str, Callable[[argparse.Namespace], None]]) -> int:
    args = parse()
    commands[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit("run a side script (procrastinate_side.py, saq_side.py, dramatiq_side.py)")
