"""The in-memory index of a directory of task files: one entry per record, refreshed by stat.

A refresh lists the directory with :func:`os.scandir` and stats each record; only a file
whose (inode, mtime, size) changed is read and decoded again. A file modified less than
``RACY_NS`` before the scan is read again on the next scan too, in case a second write in the
same timestamp tick left the same size (as git does for its index).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asyncz_like.stores.file._disk import Stat
from asyncz_like.stores.file._names import decode_name

RACY_NS = 50_000_000


@dataclass(slots=True, frozen=True)
class Entry:
    """What the index knows of one record file, as of the version ``key``."""

    key: Stat
    task_id: str
    next_run_time: datetime | None
    timestamp: float | None  # next_run_time as a UTC epoch, for ordering
    broken: str | None  # why the record cannot be read, or None
    racy: bool = False

    @classmethod
    def of(
        cls,
        key: Stat,
        task_id: str,
        next_run_time: datetime | None,
        broken: str | None = None,
        scanned_ns: int | None = None,
    ) -> Entry:
        timestamp = None if next_run_time is None else next_run_time.timestamp()
        racy = scanned_ns is not None and key[1] > scanned_ns - RACY_NS
        return cls(key, task_id, next_run_time, timestamp, broken, racy)


#: Reads and decodes one record file: (file name, task id, scan time) -> its entry, or None.
Loader = Callable[[str, str, int], Entry | None]


class Index:
    """Entries by file name for the records (``<encoded id><suffix>``) in ``directory``."""

    def __init__(self, directory: Path, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix
        self.entries: dict[str, Entry] = {}

    def task_id_of(self, name: str) -> str | None:
        """The task id of a record file name, or None for a name that is not a record."""
        if name.startswith(".") or not name.endswith(self.suffix):
            return None
        return decode_name(name[: -len(self.suffix)])

    def refresh(self, load: Loader) -> None:
        """Stat every record; ``load`` those that are new or changed."""
        scanned_ns = time.time_ns()
        old, fresh = self.entries, {}
        try:
            listing = os.scandir(self.directory)
        except FileNotFoundError:  # not made yet, or removed by cleanup_directory
            self.entries = {}
            return
        with listing:
            for item in listing:
                name = item.name
                entry = old.get(name)
                task_id = entry.task_id if entry is not None else self.task_id_of(name)
                if task_id is None:
                    continue
                try:
                    stat = item.stat()
                except FileNotFoundError:
                    continue
                key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
                if entry is None or entry.key != key or entry.racy:
                    entry = load(name, task_id, scanned_ns)
                if entry is not None:
                    fresh[name] = entry
        self.entries = fresh

    def due(self, now: float) -> list[str]:
        """Names of the readable records due at ``now``, earliest first."""
        due = [
            (entry.timestamp, name)
            for name, entry in self.entries.items()
            if entry.timestamp is not None and entry.timestamp <= now
        ]
        due.sort()
        return [name for _, name in due]
