"""The file store: one file per task in a directory, written atomically, claimed by lease files.

Layout (see docs/store-file.md)::

    <directory>/<encoded id><suffix>           one record: the serializer's bytes of the task
    <directory>/.<record>.<12 hex>.tmp          a write in progress (or left by a crash)
    <directory>/.leases/<record>.lease          the claim on a task: owner and expiry
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import (
    BrokenRecordError,
    ConflictIdError,
    StoreNotFoundError,
    TaskLookupError,
)
from asyncz_like.serializers import encode_task, get_serializer
from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.stores.base import (
    DEFAULT_LEASE_SECONDS,
    BaseStore,
    StoreScheduler,
    check_lease_options,
)
from asyncz_like.stores.file import _disk
from asyncz_like.stores.file._claims import Claims
from asyncz_like.stores.file._conditional import update_if_unchanged
from asyncz_like.stores.file._disk import write_atomic
from asyncz_like.stores.file._index import Entry
from asyncz_like.stores.file._leases import Leases
from asyncz_like.stores.file._names import check_suffix, encode_name
from asyncz_like.stores.file._records import Records
from asyncz_like.stores.file._slots import Slots

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task

LEASES = ".leases"
SLOTS = ".slots"
FRESH_SECONDS = 0.05


class FileStore(BaseStore):
    """Keeps each task in its own file in ``directory`` (made when missing).

    Several store instances (threads, processes on one host) may share the directory: a due
    task is claimed by creating its lease file exclusively. ``mode`` (asyncz's option) is
    the permission of the directory when it is made. ``cleanup_directory=True``
    removes the store's files at shutdown, and the directory when nothing else is left in it.
    Records that cannot be decoded are reported once, skipped and kept.
    """

    does_io = True
    shares_run_slots = True
    validates_on_add = True

    def __init__(
        self,
        directory: str | os.PathLike[str],
        suffix: str = ".task",
        cleanup_directory: bool = False,
        serializer: str | BaseSerializer | None = None,
        secret_key: str | bytes | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_interval: float = 1.0,
        mode: int = 0o700,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.directory = Path(directory)
        self.suffix = check_suffix(suffix)
        self.cleanup_directory = bool(cleanup_directory)
        self.mode = mode
        self.serializer = get_serializer(serializer, secret_key)
        lease, poll = check_lease_options(lease_seconds, poll_interval, poll_may_be_none=False)
        self.lease_seconds, self.poll_interval = lease, poll
        self.owner = uuid.uuid4().hex
        self._lock = threading.RLock()
        self._depth = 0
        self._records = Records(self.directory, self.suffix, self.serializer)
        self._leases = Leases(self.directory / LEASES, self.owner, self.lease_seconds)
        self._claims = Claims(self._records, self._leases, self.lost_claims)
        self._slots = Slots(self.directory / SLOTS, self.lease_seconds)

    # -- life cycle -------------------------------------------------------------------------

    def start(self, scheduler: StoreScheduler, alias: str) -> None:
        super().start(scheduler, alias)
        with self._locked():
            self._prepare()
            for folder in (self.directory, self.directory / LEASES):
                _disk.remove_stale(folder)
            self._records.refresh()

    def attach(self, scheduler: StoreScheduler, alias: str) -> None:
        """Start on an existing directory, creating and removing nothing (the records are
        read by the first call that needs them)."""
        if not self.directory.is_dir():
            raise StoreNotFoundError(f"FileStore at {self.directory}", "no such directory")
        BaseStore.start(self, scheduler, alias)

    def _repr_details(self) -> list[tuple[str, Any]]:
        return [("directory", self.directory)]

    def shutdown(self) -> None:
        if self.cleanup_directory:
            with self._locked():
                self._remove_directory()
        super().shutdown()

    def path_for(self, task_id: str) -> Path:
        """The record file of ``task_id`` (test hook; also handy to inspect a record)."""
        return self.directory / self._records.name_for(task_id)

    # -- reading ----------------------------------------------------------------------------

    def lookup_task(self, task_id: str) -> Task | None:
        with self._locked():
            name = self._records.name_or_none(task_id)
            return None if name is None else self._records.read_task(name, task_id)

    def get_due_tasks(self, now: datetime) -> list[Task]:
        with self._locked():
            records = self._records
            records.refresh()
            names = records.index.due(now.timestamp())
            tasks = [records.read_task(name, records.task_id(name)) for name in names]
            due = [t for t in tasks if t and t.next_run_time and t.next_run_time <= now]
            return sorted(due, key=_order)

    def get_next_run_time(self) -> datetime | None:
        """The earliest next run time. The index is reused when it was refreshed in the last
        ``FRESH_SECONDS`` (the pass that just claimed): another instance's task added since
        is seen on the next pass, within ``poll_interval``."""
        with self._locked():
            if time.monotonic() - self._records.refreshed_at > FRESH_SECONDS:
                self._records.refresh()
            return self._claims.next_run_time()

    def get_all_tasks(self) -> list[Task]:
        with self._locked():
            records = self._records
            records.refresh()
            names = [name for name, entry in records.entries.items() if not entry.broken]
            tasks = [records.read_task(name, records.task_id(name)) for name in names]
            return sorted((task for task in tasks if task is not None), key=_order)

    def get_broken_records(self) -> dict[str, str]:
        with self._locked():
            self._records.refresh()
            entries = self._records.entries.values()
            return {entry.task_id: entry.broken for entry in entries if entry.broken}

    # -- writing ----------------------------------------------------------------------------

    def validate_task(self, task: Task) -> None:
        encode_name(task.id)
        encode_task(task, self.serializer)

    def add_task(self, task: Task) -> None:
        data = encode_task(task, self.serializer)
        with self._locked():
            name = self._records.name_for(task.id)
            self._prepare()
            try:
                key = write_atomic(self.directory / name, data, exclusive=True)
            except FileExistsError:
                raise ConflictIdError(task.id) from None
            self._records.entries[name] = Entry.of(key, task.id, task.next_run_time)

    def update_task(self, task: Task) -> None:
        """Write ``task`` over its record; a lease on it is left as it is. A broken record is
        not overwritten (BrokenRecordError): repair it, or delete it first."""
        data = encode_task(task, self.serializer)
        with self._locked():
            name = self._records.name_or_none(task.id)
            entry = None if name is None else self._records.current_entry(name, task.id)
            if name is None or entry is None:
                raise TaskLookupError(task.id)
            if entry.broken:
                raise BrokenRecordError(
                    task.id,
                    f"{entry.broken}; the record is kept as it is: repair it, or "
                    "remove it with delete_task() before storing this task again",
                )
            key = write_atomic(self.directory / name, data)
            self._records.entries[name] = Entry.of(key, task.id, task.next_run_time)

    def update_task_if_unchanged(self, task: Task, seen: datetime, now: datetime) -> bool:
        """``update_task`` while the record's next run time is ``seen`` and no claim holds
        the task: checked and written under a lease of its own (see ``_conditional``)."""
        data = encode_task(task, self.serializer)
        with self._locked():
            return update_if_unchanged(
                self._records, self._leases, task, data, seen, now.timestamp()
            )

    def delete_task(self, task_id: str) -> None:
        """Remove the record of ``task_id``, a broken one too (the only way one is removed)."""
        with self._locked():
            name = self._records.name_or_none(task_id)
            if name is None:
                raise TaskLookupError(task_id)
            try:
                os.unlink(self.directory / name)
            except FileNotFoundError:
                raise TaskLookupError(task_id) from None
            _disk.fsync_directory(self.directory)
            self._claims.forget(name)
            self._leases.discard(name)

    def remove_all_tasks(self) -> None:
        """Remove every readable task. Broken records are kept (delete_task removes one)."""
        with self._locked():
            self._records.refresh()
            kept = self._remove_records()
            if kept:
                self.logger.warning(
                    "remove_all_tasks kept %d broken record(s) in %s: %s",
                    len(kept),
                    self.directory,
                    ", ".join(sorted(kept)),
                    extra={"store": self.alias},
                )

    # -- claims -----------------------------------------------------------------------------

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        with self._locked():
            self._records.refresh()
            return self._claims.acquire(now, limit)

    def release_task(self, task: Task, next_run_time: datetime | None) -> None:
        """Write the next run time (or delete the task when None), then drop our lease; when
        the lease is no longer ours (expired and taken over), change nothing. A change made
        to the record while it was claimed is kept; when it moved the task's run time (a
        pause, a reschedule) that change wins over ``next_run_time``."""
        with self._locked():
            task.next_run_time = next_run_time
            name = self._records.name_for(task.id)
            if not self._claims.release(name, task, next_run_time):
                self.logger.warning(
                    "Task %s was not released: its lease expired and was taken over (or it "
                    "was never claimed here); the record is left as it is",
                    task.id,
                    extra={"task_id": task.id, "store": self.alias},
                )

    def renew_claims(self, task_ids: Sequence[str], now: datetime) -> None:
        with self._locked():
            self._claims.renew([self._records.name_for(task_id) for task_id in task_ids], now)

    # -- internals --------------------------------------------------------------------------

    # -- run slots: lease files in the .slots folder (see _slots) ----------------------------

    def acquire_run_slot(self, task: Task, now: datetime) -> str | None:
        limit = task.max_instances or 1
        return self._slots.acquire(task.id, limit, now.timestamp())

    def release_run_slot(self, task_id: str, token: str) -> None:
        self._slots.release(task_id, token)

    def renew_run_slots(self, slots: list[tuple[str, str]], now: datetime) -> None:
        for task_id, token in slots:
            self._slots.renew(task_id, token, now.timestamp())

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's lock; report broken records once it is released (listeners may
        call back into the scheduler)."""
        reports: list[BrokenRecordError] = []
        try:
            with self._lock:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                    if self._depth == 0:
                        reports, self._records.reports = self._records.reports, []
        finally:
            for error in reports:
                self.report_broken_record(error.task_id, error)

    def _prepare(self) -> None:
        """Make the directory (at start, and for a new record; readers take a missing one
        as empty, so that nothing recreates it after cleanup_directory removed it)."""
        self.directory.mkdir(self.mode, parents=True, exist_ok=True)
        (self.directory / LEASES).mkdir(self.mode, exist_ok=True)
        (self.directory / SLOTS).mkdir(self.mode, exist_ok=True)

    def _remove_records(self) -> list[str]:
        """Delete the readable records and their leases; return the ids of the broken ones."""
        kept, removed = [], 0
        for name, entry in list(self._records.entries.items()):
            if entry.broken:
                kept.append(entry.task_id)
                continue
            (self.directory / name).unlink(missing_ok=True)
            self._leases.discard(name)
            self._claims.forget(name)
            removed += 1
        if removed:
            _disk.fsync_directory(self.directory)
        return kept

    def _remove_directory(self) -> None:
        """cleanup_directory: our files go; the directory goes when nothing else is in it."""
        self._records.refresh()
        kept = self._remove_records()
        leases = self.directory / LEASES
        for folder in (leases, self.directory):
            _disk.remove_stale(folder, max_age=-1.0)
        for lease in leases.glob("*.lease"):
            lease.unlink(missing_ok=True)
        slots = self.directory / SLOTS
        if slots.exists():
            _disk.remove_stale(slots, max_age=-1.0)
            for slot in slots.glob("*.lease"):
                slot.unlink(missing_ok=True)
            slots.rmdir()
        try:
            leases.rmdir()
            self.directory.rmdir()
        except FileNotFoundError:
            return
        except OSError:
            self.logger.warning(
                "cleanup_directory: %s is kept; it still holds %s",
                self.directory,
                f"broken records ({', '.join(sorted(kept))})" if kept else "files of others",
                extra={"store": self.alias},
            )


def _order(task: Task) -> tuple[bool, float, str]:
    when = task.next_run_time
    return (when is None, 0.0 if when is None else when.timestamp(), task.id)
