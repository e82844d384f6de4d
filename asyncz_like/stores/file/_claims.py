"""Claiming due tasks and giving them back, on top of the record files and the lease files."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from asyncz_like.exceptions import TaskLookupError
from asyncz_like.serializers import encode_task
from asyncz_like.stores.base import lost_claim_start
from asyncz_like.stores.file import _disk
from asyncz_like.stores.file._disk import Stat, write_atomic
from asyncz_like.stores.file._index import Entry
from asyncz_like.stores.file._leases import Lease, Leases
from asyncz_like.stores.file._records import Records

if TYPE_CHECKING:
    from asyncz_like.tasks.task import Task


class _Claim(NamedTuple):
    lease: bytes  # our lease file's exact content
    record: bytes  # the record as it was when claimed
    next_run_time: datetime | None


class Claims:
    """The claims of one store instance. Not thread-safe: the store holds its lock."""

    def __init__(self, records: Records, leases: Leases, lost_claims: dict[str, datetime]) -> None:
        self.records = records
        self.leases = leases
        self.lost_claims = lost_claims  # the store's: expired leases taken over
        self._claims: dict[str, _Claim] = {}
        self._held: dict[str, tuple[float, Stat]] = {}  # leased elsewhere: until, record seen

    def acquire(self, now: datetime, limit: int) -> list[Task]:
        """Claim up to ``limit`` due tasks, earliest first (the index is fresh)."""
        stamp = now.timestamp()
        claimed: list[Task] = []
        for name in self.records.index.due(stamp):
            if len(claimed) >= limit:
                break
            held = self._held.get(name)
            if held is not None and held[0] > stamp and held[1] == self.records.key(name):
                continue  # leased elsewhere, and the record has not changed since
            task = self._claim(name, now, stamp)
            if task is not None:
                claimed.append(task)
        return claimed

    def _claim(self, name: str, now: datetime, stamp: float) -> Task | None:
        """Take the lease of ``name``, then read the record as it is now: still due, we keep
        the claim; moved on, deleted or broken, we drop it at once."""
        taken = self.leases.claim(name, stamp)
        if not isinstance(taken, Lease):
            key = self.records.key(name)
            if key is not None:
                self._held[name] = (taken, key)
            return None
        lease = taken.content
        self._held.pop(name, None)
        task_id = self.records.task_id(name)
        found = self.records.read(name)
        task = None if found is None else self.records.index_version(name, task_id, *found)
        if found is None or task is None or not task.next_run_time or task.next_run_time > now:
            self.leases.remove_if(name, lease)
            return None
        self._claims[name] = _Claim(lease, found[0], task.next_run_time)
        if taken.took_over is not None:
            self.lost_claims[task.id] = lost_claim_start(taken.took_over, self.leases.lease_seconds)
        return task

    def renew(self, names: list[str], now: datetime) -> None:
        """Extend our leases on the claimed ``names`` (those no longer ours are forgotten)."""
        for name in names:
            claim = self._claims.get(name)
            if claim is not None:
                renewed = self.leases.renew(name, claim.lease, now.timestamp())
                if renewed is not None:
                    self._claims[name] = claim._replace(lease=renewed)

    def release(self, name: str, task: Task, next_run_time: datetime | None) -> bool:
        """Write the released task and drop our lease; False when the lease was not ours.
        TaskLookupError when the task was deleted meanwhile."""
        claim = self._claims.pop(name, None)
        if claim is None or not self.leases.holds(name, claim.lease):
            if not (self.records.directory / name).exists():
                raise TaskLookupError(task.id)  # deleted while it ran (its lease with it)
            return False
        try:
            self._write_released(name, task, claim, next_run_time)
        finally:
            self.leases.remove_if(name, claim.lease)
        return True

    def _write_released(
        self, name: str, task: Task, claim: _Claim, next_run_time: datetime | None
    ) -> None:
        records = self.records
        found = records.read(name)
        if found is None:
            raise TaskLookupError(task.id)  # deleted while it ran
        record = task
        if found[0] != claim.record:  # changed while it ran
            current = records.index_version(name, task.id, *found)
            if current is None or current.next_run_time != claim.next_run_time:
                return  # paused, rescheduled or broken meanwhile: that change wins
            current.next_run_time = next_run_time
            record = current
        path = records.directory / name
        if next_run_time is None:
            path.unlink(missing_ok=True)
            _disk.fsync_directory(records.directory)
            self.forget(name)
            return
        key = write_atomic(path, encode_task(record, records.serializer))
        records.entries[name] = Entry.of(key, task.id, next_run_time)

    def next_run_time(self) -> datetime | None:
        """The earliest next run time in the index; a task leased elsewhere counts from the
        end of that lease, so that a loop does not spin on a task it cannot claim."""
        best: tuple[float, datetime] | None = None
        for name, entry in self.records.entries.items():
            if entry.timestamp is None or entry.next_run_time is None:
                continue
            candidate = (entry.timestamp, entry.next_run_time)
            held = self._held.get(name)
            if held is not None and held[1] == entry.key and held[0] > entry.timestamp:
                candidate = (held[0], datetime.fromtimestamp(held[0], UTC))
            if best is None or candidate[0] < best[0]:
                best = candidate
        return None if best is None else best[1]

    def forget(self, name: str) -> None:
        self.records.forget(name)
        self._claims.pop(name, None)
        self._held.pop(name, None)
