"""The record files of one store: names, reading, decoding, and noting broken ones."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.serializers import decode_task
from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.stores.file._disk import Stat, read_file, stat_key
from asyncz_like.stores.file._index import Entry, Index
from asyncz_like.stores.file._names import encode_name

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task


class Records:
    """Reads the records in ``directory`` through an :class:`Index`.

    A record that cannot be decoded is kept in the index as broken (never due), and put in
    ``reports`` once per version of the file (the store tells the listeners). Nothing here
    writes or deletes a record.
    """

    def __init__(self, directory: Path, suffix: str, serializer: BaseSerializer) -> None:
        self.directory = directory
        self.suffix = suffix
        self.serializer = serializer
        self.index = Index(directory, suffix)
        self.reports: list[BrokenRecordError] = []
        self._reported: dict[str, Stat] = {}
        self.refreshed_at = float("-inf")

    @property
    def entries(self) -> dict[str, Entry]:
        return self.index.entries

    def name_for(self, task_id: str) -> str:
        """The file name of ``task_id``'s record; TaskConfigurationError for an unusable id."""
        return encode_name(task_id) + self.suffix

    def name_or_none(self, task_id: str) -> str | None:
        try:
            return self.name_for(task_id)
        except (TypeError, ValueError):
            return None

    def task_id(self, name: str) -> str:
        return self.entries[name].task_id

    def key(self, name: str) -> Stat | None:
        entry = self.entries.get(name)
        return None if entry is None else entry.key

    def refresh(self) -> None:
        self.index.refresh(self._load)
        self.refreshed_at = time.monotonic()

    def read(self, name: str) -> tuple[bytes, Stat] | None:
        found = read_file(self.directory / name)
        if found is None:
            self.forget(name)
        return found

    def read_task(self, name: str, task_id: str) -> Task | None:
        """The task in the record now (None when missing or broken); updates the index."""
        found = self.read(name)
        return None if found is None else self.index_version(name, task_id, *found)

    def index_version(self, name: str, task_id: str, data: bytes, key: Stat) -> Task | None:
        """Decode this version of a record into the index; its task, or None when broken."""
        entry, task = self.decode(name, task_id, data, key)
        self.entries[name] = entry
        return task

    def current_entry(self, name: str, task_id: str) -> Entry | None:
        """The entry of the record as it is on disk now (read only when it changed)."""
        try:
            key = stat_key(os.stat(self.directory / name))
        except FileNotFoundError:
            return None
        entry = self.entries.get(name)
        if entry is None or entry.key != key or entry.racy:
            self.read_task(name, task_id)
            entry = self.entries.get(name)
        return entry

    def decode(
        self, name: str, task_id: str, data: bytes, key: Stat, scanned_ns: int | None = None
    ) -> tuple[Entry, Task | None]:
        """Decode one version of a record; a broken one is noted (reported once)."""
        scanned_ns = time.time_ns() if scanned_ns is None else scanned_ns
        try:
            task = decode_task(data, self.serializer)
            if task.id != task_id:
                raise BrokenRecordError(task_id, f"its id is {task.id!r}, not {task_id!r}")
        except Exception as exc:
            reason = exc.reason if isinstance(exc, BrokenRecordError) else repr(exc)
            if self._reported.get(name) != key:
                self._reported[name] = key
                self.reports.append(BrokenRecordError(task_id, reason))
            return Entry.of(key, task_id, None, reason, scanned_ns), None
        self._reported.pop(name, None)
        return Entry.of(key, task_id, task.next_run_time, None, scanned_ns), task

    def forget(self, name: str) -> None:
        self.entries.pop(name, None)
        self._reported.pop(name, None)

    def _load(self, name: str, task_id: str, scanned_ns: int) -> Entry | None:
        found = read_file(self.directory / name)
        if found is None:
            return None
        return self.decode(name, task_id, *found, scanned_ns=scanned_ns)[0]
