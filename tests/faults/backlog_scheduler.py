"""A scheduler process whose one worker thread is kept busy (test_kill_backlog.py).

    python -m tests.faults.backlog_scheduler DATABASE MARKS [CLAIM_AHEAD]

It works the SQLite store DATABASE (``lease_seconds=1``) with a thread pool of one worker
until it is killed, claiming CLAIM_AHEAD seconds ahead (default: the scheduler's); the tasks
the test put there append lines to the file MARKS.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from asyncz_like.schedulers import BackgroundScheduler

#: How long ``occupy`` keeps the one worker: longer than the test waits for the kill.
OCCUPIED_FOR = 60.0


def mark(marks: str, line: str) -> None:
    with open(marks, "a", encoding="utf-8") as out:
        out.write(f"{line}\n")


def occupy(marks: str) -> None:
    """Keeps the worker busy, so that the fires after it wait in the pool's queue."""
    mark(marks, "occupied")
    time.sleep(OCCUPIED_FOR)


def fire(marks: str) -> None:
    mark(marks, f"fired {os.getpid()}")


def scheduler(database: str, workers: int, claim_ahead: float | None = None) -> BackgroundScheduler:
    store = {"type": "sqlalchemy", "database": database, "lease_seconds": 1}
    executor = {"type": "threadpool", "max_workers": workers}
    options: dict[str, Any] = {} if claim_ahead is None else {"claim_ahead": claim_ahead}
    return BackgroundScheduler(
        timezone="UTC", stores={"default": store}, executors={"default": executor}, **options
    )


def main() -> None:
    claim_ahead = float(sys.argv[3]) if len(sys.argv) > 3 else None
    scheduler(sys.argv[1], 1, claim_ahead).start()
    time.sleep(OCCUPIED_FOR * 2)  # until killed


if __name__ == "__main__":
    main()
