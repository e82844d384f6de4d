"""The work the worker-process tests enqueue (``--import tests.integration.worker_tasks``).

Each function appends ``run id <TAB> event <TAB> pid`` to a ledger file, one line per write
(line-buffered, appended), so that a SIGKILL loses at most the line being written.
"""

from __future__ import annotations

import os
import time

from asyncz_like.runs import current_run


def _write(ledger: str, event: str) -> None:
    run = current_run()
    assert run is not None
    with open(ledger, "a", buffering=1) as out:
        out.write(f"{run.id}\t{event}\t{os.getpid()}\n")


def record(ledger: str) -> str:
    """A quick run: one ``done`` line."""
    _write(ledger, "done")
    return "ok"


def slow(ledger: str, seconds: float) -> str:
    """A long run: a ``start`` line, then ``done`` once ``seconds`` have passed."""
    _write(ledger, "start")
    time.sleep(seconds)
    _write(ledger, "done")
    return "ok"
