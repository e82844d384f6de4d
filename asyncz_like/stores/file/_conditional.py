"""A write of a record only while it is unchanged and unclaimed: under a lease of our own.

Taking the task's lease file (as a claim does) keeps every claim of every store instance
off the task while the record is read, compared and written, so that no fire is released
over the write, and no other conditional write interleaves with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from asyncz_like.stores.file._disk import write_atomic
from asyncz_like.stores.file._index import Entry
from asyncz_like.stores.file._leases import Lease, Leases
from asyncz_like.stores.file._records import Records

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task


def update_if_unchanged(
    records: Records, leases: Leases, task: Task, data: bytes, seen: datetime, now: float
) -> bool:
    """Write ``data`` (the record of ``task``) while the stored next run time is ``seen``
    and nobody holds the task's lease; True when written. A lease that expired unreleased
    is left alone (its holder died holding a fire: the next claim takes that over)."""
    name = records.name_or_none(task.id)
    if name is None or leases.path(name).exists():
        return False
    taken = leases.claim(name, now)
    if not isinstance(taken, Lease):
        return False
    try:
        if taken.took_over is not None:  # expired between the look and the claim
            return False
        found = records.read(name)
        if found is None:
            return False
        current = records.index_version(name, task.id, *found)
        if current is None or current.next_run_time != seen:
            return False
        key = write_atomic(records.directory / name, data)
        records.entries[name] = Entry.of(key, task.id, task.next_run_time)
        return True
    finally:
        leases.remove_if(name, taken.content)
