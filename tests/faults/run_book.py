"""The work of the worker fault tests (``--import tests.faults.run_book``) and its ledger.

Each run of :func:`noop` writes a ``start`` line as it starts and an ``end`` line as it
returns, to a file of its worker process in the book directory it is given:
``event <TAB> run id <TAB> delivery count <TAB> pid``. The file is opened once per process,
line-buffered, so that a SIGKILL loses at most the line being written (a cut line is not
read). :class:`RunBook` reads the files back and says what ran, what ran again and whether a
kill explains it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from asyncz_like.runs import Run, RunStatus, current_run

_lock = threading.Lock()
_out: IO[str] | None = None


def _line(book: str, event: str) -> None:
    global _out
    run = current_run()
    assert run is not None
    with _lock:
        if _out is None:
            _out = open(Path(book) / f"{os.getpid()}.tsv", "a", buffering=1)  # noqa: SIM115
        _out.write(f"{event}\t{run.id}\t{run.deliveries}\t{os.getpid()}\n")


def noop(book: str, seconds: float = 0.0) -> str:
    """A ledgered run: ``start``, a sleep of ``seconds`` (0: none), ``end``."""
    _line(book, "start")
    if seconds:
        time.sleep(seconds)
    _line(book, "end")
    return "ok"


Line = tuple[str, int, int]  # run id, delivery count, pid


def read_book(book: Path) -> tuple[list[Line], list[Line]]:
    """The ``start`` and ``end`` lines of every process's file."""
    starts: list[Line] = []
    ends: list[Line] = []
    for path in sorted(book.glob("*.tsv")):
        for text in path.read_text().splitlines():
            parts = text.split("\t")
            if len(parts) != 4 or parts[0] not in ("start", "end") or not parts[3].isdigit():
                continue  # a line cut by a SIGKILL
            line = (parts[1], int(parts[2]), int(parts[3]))
            (starts if parts[0] == "start" else ends).append(line)
    return starts, ends


@dataclass
class RunBook:
    """What the ledger and the broker say of the ``expected`` runs.

    A run is *done* when the broker has it COMPLETED and its completing delivery (the
    broker's delivery count) wrote an ``end`` line. It is *repeated* when it started more
    than once; a repeat is *explained* when every start but the one that completed it was in
    a killed process (the promise: at least once for a run that had started when its worker
    died, never twice otherwise). ``cut`` counts the explained repeats whose killed start had
    no end (killed mid-run); the others had ended but their finish was not yet recorded.
    """

    name: str
    expected: list[str]
    runs: dict[str, Run]  # the broker's records, by id
    starts: list[Line]
    ends: list[Line]
    killed: set[int] = field(default_factory=set)
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.started: dict[str, list[Line]] = {}
        for line in self.starts:
            self.started.setdefault(line[0], []).append(line)
        self.ended = {(run_id, count) for run_id, count, _ in self.ends}
        self.statuses = Counter(run.status for run in self.runs.values())
        self.missing = [run_id for run_id in self.expected if not self._done(run_id)]
        self.repeated = [
            run_id for run_id in self.expected if len(self.started.get(run_id, [])) > 1
        ]
        self.unexplained = [run_id for run_id in self.repeated if not self._explained(run_id)]
        self.cut = sum(1 for run_id in self.repeated if self._cut(run_id))
        self.ran = sum(1 for run_id in self.expected if run_id in self.started)

    def _done(self, run_id: str) -> bool:
        run = self.runs.get(run_id)
        if run is None or run.status is not RunStatus.COMPLETED:
            return False
        return (run_id, run.deliveries) in self.ended

    def _explained(self, run_id: str) -> bool:
        run = self.runs.get(run_id)
        counts = [count for _, count, _ in self.started[run_id]]
        if run is None or len(set(counts)) != len(counts):  # one delivery started twice
            return False
        return all(
            pid in self.killed for _, count, pid in self.started[run_id] if count != run.deliveries
        )

    def _cut(self, run_id: str) -> bool:
        run = self.runs[run_id]
        return any(
            (run_id, count) not in self.ended
            for _, count, _ in self.started[run_id]
            if count != run.deliveries
        )

    def report(self) -> str:
        failed = len(self.runs) - self.statuses[RunStatus.COMPLETED]
        line = (
            f"{self.name}: expected {len(self.expected)}, ran {self.ran}, repeated "
            f"{len(self.repeated)} ({self.cut} cut mid-run, unexplained "
            f"{len(self.unexplained)}), missing {len(self.missing)}, not completed {failed}, "
            f"kills {len(self.killed)}, {self.seconds:.1f} s"
        )
        print(f"\n{line}")
        return line

    def check(self) -> None:
        summary = self.report()
        others = {status.value: n for status, n in self.statuses.items()}
        assert len(self.runs) == len(self.expected), f"{summary}; the broker has {others}"
        assert self.statuses[RunStatus.COMPLETED] == len(self.expected), f"{summary}; {others}"
        assert not self.missing, f"{summary}; missing: {self.missing[:10]}"
        assert not self.unexplained, f"{summary}; repeated: {self._lines(self.unexplained)}"

    def _lines(self, run_ids: list[str]) -> list[tuple[str, list[Line], int]]:
        return [
            (run_id, self.started[run_id], self.runs[run_id].deliveries)
            for run_id in run_ids[:5]
            if run_id in self.runs
        ]
