"""A run history kept in a persistent store, so that runs survive a restart.

Live runs stay the live objects in memory (a :class:`MemoryRunHistory` with the same limits).
Every change is buffered as a snapshot (the latest per run), and a thread of the history's own
writes the buffer to the store; reads that miss the memory go to the store without the
scheduler's run lock. On shutdown the buffer is written, then the pending work is kept for the
next start (of this or any scheduler on the store), which claims it atomically.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.runs.history import MemoryRunHistory
from asyncz_like.runs.run import Run
from asyncz_like.runs.status import RunStatus
from asyncz_like.stores.runs import RunRow, RunStore
from asyncz_like.workers.persistent.codec import (
    KeptWork,
    Snapshot,
    decode_kept,
    decode_run,
    encode_kept,
    encode_run,
    encode_work,
    snapshot,
)

if TYPE_CHECKING:
    from asyncz_like.clock import Clock
    from asyncz_like.runs.options import RunOptions

logger = logging.getLogger("asyncz_like.runs.persistent")
#: Records per write transaction of a flush (and encoded between two offers of the GIL).
WRITE_SLICE = 32
#: Seconds between two write transactions of the flushing thread.
WRITE_PACE = 0.01
Runs = list[Run]  # (the class's own ``list`` method hides the builtin in its body)
Kept = list[tuple[Run, bytes, datetime | None]]
Claimed = list[KeptWork | tuple[Run, BrokenRecordError]]


class StoredRunHistory:
    """Runs in memory while this process holds them, and in ``store`` for everybody, always.

    ``max_run_history`` and ``run_result_ttl`` bound the memory as in
    :class:`~asyncz_like.runs.history.MemoryRunHistory` and the stored records too (applied
    by the flushing thread after it writes finished runs, and at each clean-up of the loop).
    Changes reach the store within ``flush_interval`` seconds, and at shutdown.
    """

    persistent = True

    def __init__(
        self,
        store: RunStore,
        max_run_history: int = 1000,
        run_result_ttl: float | timedelta | None = 86400.0,
        flush_interval: float = 1.0,
    ) -> None:
        if not flush_interval > 0:
            raise ValueError(f"flush_interval must be positive, got {flush_interval!r}")
        self.memory = MemoryRunHistory(max_run_history, run_result_ttl)
        self.store = store
        self.serializer = store.serializer
        self.flush_interval = float(flush_interval)
        self._dirty: dict[str, Snapshot] = {}
        self._dirty_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one flush at a time, in order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._clock: Clock | None = None
        self._drain: Callable[[], None] = _nothing
        self._trim_wanted = False

    @property
    def max_run_history(self) -> int:
        return self.memory.max_run_history

    @property
    def run_result_ttl(self) -> float | None:
        return self.memory.run_result_ttl

    # -- the RunHistory protocol (under the scheduler's run lock: no I/O) -------------------

    def add(self, run: Run) -> None:
        self.memory.add(run)
        self._buffer(run)

    def changed(self, run: Run) -> None:
        self._buffer(run)

    def finished(self, run: Run) -> None:
        self.memory.finished(run)
        self._buffer(run)

    def get(self, run_id: str, now: datetime) -> Run | None:
        return self.memory.get(run_id, now)

    def list(
        self,
        statuses: Collection[RunStatus] | None,
        task_id: str | None,
        limit: int | None,
        now: datetime,
    ) -> list[Run]:
        return self.memory.list(statuses, task_id, limit, now)

    def cleanup(self, now: datetime) -> int:
        self._trim_wanted = True
        return self.memory.cleanup(now)

    def __len__(self) -> int:
        return len(self.memory)

    def _buffer(self, run: Run) -> None:
        fields = snapshot(run)
        with self._dirty_lock:
            self._dirty[run.id] = fields

    # -- reading the store (without the run lock) -------------------------------------------

    def load(self, run_id: str, now: datetime) -> Run | None:
        """The stored record of ``run_id`` (a copy, not updated), unless unknown or expired."""
        data = self.store.get(run_id)
        run = self._decode(data) if data is not None else None
        return None if run is None or self.memory.expired(run, now) else run

    def load_list(
        self,
        statuses: Collection[RunStatus] | None,
        task_id: str | None,
        limit: int | None,
        now: datetime,
        live: Runs,
    ) -> Runs:
        """``live`` (from memory) and the stored runs, newest first, at most ``limit``."""
        ttl = self.memory.run_result_ttl
        alive_after = None if ttl is None else now.timestamp() - ttl
        values = None if statuses is None else {status.value for status in statuses}
        known = {run.id for run in live}
        want = None if limit is None else limit + len(live)
        found: Runs = []
        for data in self.store.select(values, task_id, want, alive_after):
            if want is not None and len(found) >= want:
                break
            run = self._decode(data)
            if run is None or run.id in known or self.memory.expired(run, now):
                continue
            if (values is None or run.status.value in values) and (
                task_id is None or run.task_id == task_id
            ):
                found.append(run)
        merged = sorted([*live, *found], key=_created, reverse=True)
        return merged if limit is None else merged[:limit]

    def _decode(self, data: bytes) -> Run | None:
        try:
            return decode_run(data, self.serializer)
        except Exception as exc:
            logger.warning("Skipping a run record in %s: %s", self.store.name, exc)
            return None

    # -- submitting and keeping work ------------------------------------------------------

    def encode_work(
        self,
        fn: Any,
        reference: str | None,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: RunOptions,
    ) -> bytes:
        """The record of submitted work, so that a later start can run it if it is kept;
        raises (TaskConfigurationError, SerializationError) when it cannot be kept."""
        return encode_work(fn, reference, args, kwargs, options, self.serializer)

    def keep(self, kept: Kept) -> None:
        """Write what is buffered, then keep these pending runs (and their work) in the store
        for the next start; they leave this process's memory."""
        self.flush()
        rows = [
            (self._row(snapshot(run)), encode_kept(work, due, self.serializer))
            for run, work, due in kept
        ]
        self.store.keep([(row, work) for row, work in rows if row is not None])
        for run, _, _ in kept:
            self.memory.forget(run.id)
        if kept:
            logger.info(
                "Kept %d pending run(s) in %s for the next start", len(kept), self.store.name
            )

    def claim(self) -> Claimed:
        """Take the work kept in the store (each piece goes to one scheduler only): the work
        to run, or the run with the reason it cannot be run."""
        claimed: Claimed = []
        for record, work in self.store.claim():
            run = self._decode(record)
            if run is None:
                logger.error(
                    "A kept run in %s could not be decoded; it is dropped", self.store.name
                )
                continue
            try:
                claimed.append(decode_kept(run, work, self.serializer))
            except BrokenRecordError as exc:
                claimed.append((run, exc))
        return claimed

    # -- the flushing thread --------------------------------------------------------------

    def start(self, clock: Clock, drain: Callable[[], None]) -> None:
        """Create the tables (or keys) and start flushing. ``drain`` brings the records of
        finished fires into the history."""
        self.store.start()
        self._clock, self._drain = clock, drain
        self._stopping = False
        self._wake.clear()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._loop, name="asyncz_like-run-history", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread, then write what is left (call after the runs stopped)."""
        self._stopping = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._drain()
        self._flush_quietly()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.wait(self.flush_interval)
            if self._stopping:
                return
            try:
                self._drain()
            except Exception:
                logger.exception("Error recording the runs of fires")
            self._flush_quietly()

    def _flush_quietly(self) -> None:
        try:
            self.flush(pace=WRITE_PACE)
        except Exception as exc:  # the store is away: the buffer waits for the next try
            logger.warning(
                "Could not write run records to %s (will retry): %r", self.store.name, exc
            )

    def flush(self, pace: float = 0.0) -> int:
        """Write the buffered changes now; apply the limits when runs finished. Returns how
        many records were written. On an error, what was not written stays buffered.

        The records go in transactions of ``WRITE_SLICE``, ``pace`` seconds apart: the
        flushing thread spreads a second's worth of fires (hundreds of records) so that the
        database and the GIL are never taken from the scheduler's claims for long."""
        with self._write_lock:
            with self._dirty_lock:
                pending, self._dirty = self._dirty, {}
            rows = []
            for index, fields in enumerate(pending.values()):
                if index and not index % WRITE_SLICE:
                    time.sleep(0)  # background work: let a waiting thread take the GIL now
                if (row := self._row(fields)) is not None:
                    rows.append(row)
            written = 0
            try:
                while written < len(rows):
                    if written and pace:
                        time.sleep(pace)
                    chunk = rows[written : written + WRITE_SLICE]
                    self.store.write(chunk)
                    written += len(chunk)
                if self._trim_wanted or any(row.finished is not None for row in rows):
                    self._trim()
            except BaseException:
                done = {row.id for row in rows[:written]}
                with self._dirty_lock:  # newer snapshots taken meanwhile win
                    left = {key: fields for key, fields in pending.items() if key not in done}
                    self._dirty = {**left, **self._dirty}
                raise
            return len(rows)

    def _trim(self) -> None:
        self._trim_wanted = False
        ttl = self.memory.run_result_ttl
        expired_before = None
        if ttl is not None and self._clock is not None:
            expired_before = self._clock.now().timestamp() - ttl
        self.store.trim(self.memory.max_run_history, expired_before)

    def _row(self, fields: Snapshot) -> RunRow | None:
        try:
            record = encode_run(fields, self.serializer)
        except Exception:
            logger.exception("Run %s cannot be recorded in %s", fields[0], self.store.name)
            return None
        created, finished = fields[10], fields[13]
        return RunRow(
            fields[0],
            fields[1],
            fields[3].value,
            created.timestamp() if created is not None else 0.0,
            finished.timestamp() if finished is not None else None,
            record,
        )

    def __repr__(self) -> str:
        return f"<StoredRunHistory in {self.store.name}>"


def _created(run: Run) -> float:
    return run.created_at.timestamp() if run.created_at is not None else 0.0


def _nothing() -> None:
    pass
