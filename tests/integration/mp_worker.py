"""One scheduler process for the multi-process tests.

    python -m tests.integration.mp_worker CONFIG_JSON LOCK_PATH_OR_- SECONDS OUT_FILE [OPTIONS_JSON]

It works the shared store for SECONDS at most (SIGTERM ends it sooner, with a clean shutdown),
writing one line per fire it starts to OUT_FILE:
``task_id <TAB> scheduled time (epoch) <TAB> pid <TAB> start time (epoch)``.
Beside it: ``OUT_FILE.ready`` once the scheduler has started, ``OUT_FILE.submitted``
(``task_id <TAB> scheduled times <TAB> epoch``: the fires handed to the executor, so claimed)
and ``OUT_FILE.log`` (its warnings, such as the claims it took over from a dead scheduler).
OPTIONS_JSON: more scheduler options (a JSON object).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from importlib import import_module
from typing import Any

from asyncz_like.events import TaskSubmissionEvent
from asyncz_like.events.constants import TASK_SUBMITTED
from asyncz_like.runs import current_run
from asyncz_like.schedulers import BackgroundScheduler

#: Where ``noop`` records the fire it runs (set by ``main``).
_RECORD: Any = None


def noop() -> None:
    """The task every fire runs: it records its fire as it starts (task id, scheduled time),
    so that a fire this process started counts as run even when a SIGKILL cuts it short."""
    run = current_run()
    if _RECORD is not None and run is not None and run.task_id and run.scheduled_at:
        _RECORD(run.task_id, run.scheduled_at)


def slow(path: str, seconds: float) -> None:
    """A long run: appends ``start <TAB> end <TAB> pid`` (epoch seconds) to ``path``."""
    start = time.time()
    time.sleep(seconds)
    with open(path, "a") as out:
        out.write(f"{start:.6f}\t{time.time():.6f}\t{os.getpid()}\n")


def main(
    config_json: str, lock_path: str, seconds: float, out_path: str, options_json: str = "{}"
) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    handler = logging.FileHandler(f"{out_path}.log")
    handler.setFormatter(logging.Formatter("%(created).3f %(process)d %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    # line-buffered: a SIGKILL loses at most the line being written
    with (
        open(out_path, "a", buffering=1) as out,
        open(f"{out_path}.submitted", "a", buffering=1) as submitted,
    ):
        lock = threading.Lock()
        pid = os.getpid()

        def record(task_id: str, scheduled: Any) -> None:
            line = f"{task_id}\t{scheduled.timestamp():.6f}\t{pid}\t{time.time():.6f}\n"
            with lock:
                out.write(line)

        def handed_over(event: Any) -> None:
            if isinstance(event, TaskSubmissionEvent):
                times = ",".join(f"{t.timestamp():.6f}" for t in event.scheduled_run_times)
                with lock:
                    submitted.write(f"{event.task_id}\t{times}\t{time.time():.6f}\n")

        # The tasks name this module; run with -m it is __main__, a module of another name.
        import_module("tests.integration.mp_worker")._RECORD = record

        scheduler = BackgroundScheduler(
            timezone="UTC",
            stores={"default": json.loads(config_json)},
            executors={"default": {"type": "threadpool", "max_workers": 20}},
            lock_path=None if lock_path == "-" else lock_path,
            **json.loads(options_json),
        )
        scheduler.add_listener(handed_over, TASK_SUBMITTED)
        scheduler.start()
        with open(f"{out_path}.ready", "w") as ready:
            ready.write(f"{time.time():.6f}\n")
        stop.wait(seconds)
        scheduler.shutdown(wait=True)


if __name__ == "__main__":
    main(*sys.argv[1:3], float(sys.argv[3]), *sys.argv[4:])
