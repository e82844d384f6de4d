"""One scheduler process of the fault tests.

    python -m tests.faults.worker CONFIG_JSON LOCK_PATH_OR_- SECONDS OUT_FILE

It works the shared store for SECONDS (or until SIGTERM) with the store's default lease,
writes OUT_FILE.ready once its scheduler has started, and writes one line per fire as the fire
starts: ``task id <TAB> scheduled (epoch) <TAB> started (epoch) <TAB> pid``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from importlib import import_module

from asyncz_like.runs import current_run
from asyncz_like.schedulers import BackgroundScheduler

#: Where ``fire`` records the fire it runs (set by whoever runs the scheduler).
RECORD: Callable[[str, datetime], None] | None = None


def fire() -> None:
    """The task of every fault test: records its fire as it starts, so that a fire cut short
    by a SIGKILL still counts as run."""
    run = current_run()
    if RECORD is not None and run is not None and run.task_id and run.scheduled_at:
        RECORD(run.task_id, run.scheduled_at)


def line_writer(path: str) -> Callable[[str, datetime], None]:
    """A RECORD that appends a line per fire to ``path``, line-buffered (a SIGKILL loses at
    most the line being written)."""
    out = open(path, "a", buffering=1)  # noqa: SIM115  # open for the life of the process
    lock = threading.Lock()
    pid = os.getpid()

    def record(task_id: str, scheduled: datetime) -> None:
        line = f"{task_id}\t{scheduled.timestamp():.6f}\t{time.time():.6f}\t{pid}\n"
        with lock:
            out.write(line)

    return record


def main(config_json: str, lock_path: str, seconds: float, out_path: str) -> None:
    # Run with -m this module is __main__: the tasks name tests.faults.worker.
    import_module("tests.faults.worker").RECORD = line_writer(out_path)
    logging.basicConfig(format="%(created).3f %(process)d %(name)s %(message)s", level=logging.INFO)
    scheduler = BackgroundScheduler(
        timezone="UTC",
        stores={"default": json.loads(config_json)},
        executors={"default": {"type": "threadpool", "max_workers": 10}},
        lock_path=None if lock_path == "-" else lock_path,
    )
    scheduler.start()
    with open(f"{out_path}.ready", "w"):  # the test seeds the tasks once every process is up
        pass
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait(seconds)
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4])
