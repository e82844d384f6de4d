"""What a store may offer to keep run records beside its tasks (``BaseStore.run_store``):
rows of run records, kept work, limits. A persistent run history is built on it."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from asyncz_like.serializers.base import BaseSerializer


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run record as a store keeps it: the record and the fields it is queried by
    (times as UTC epochs)."""

    id: str
    task_id: str | None
    status: str
    created: float
    finished: float | None
    record: bytes


class RunStore(Protocol):
    """Run records in a store shared by any number of schedulers.

    Every method does I/O: the history calls them from its flushing thread, or from a reading
    thread without the scheduler's run lock held.
    """

    serializer: BaseSerializer
    name: str  # where the records are, for logs and errors

    def start(self) -> None:
        """Create the tables or keys that are missing."""

    def write(self, rows: Sequence[RunRow]) -> None:
        """Insert or replace these records (one transaction or pipeline)."""

    def keep(self, rows: Sequence[tuple[RunRow, bytes]]) -> None:
        """Write these records with the work of each (pending work for a later start)."""

    def claim(self) -> list[tuple[bytes, bytes]]:
        """Take all kept work, atomically: (record, work) pairs that no other scheduler gets."""
        ...

    def get(self, run_id: str) -> bytes | None:
        """The record of ``run_id``, if any."""

    def select(
        self,
        statuses: Collection[str] | None,
        task_id: str | None,
        limit: int | None,
        alive_after: float | None,
    ) -> Iterable[bytes]:
        """Records newest first. Every record that matches (status, task id, not finished at or
        before ``alive_after``) comes, in order, at most ``limit`` of them; others may come
        too (the history filters what it decodes)."""
        ...

    def trim(self, max_finished: int, expired_before: float | None) -> int:
        """Delete finished records beyond the newest ``max_finished`` and those finished at or
        before ``expired_before``; return how many."""
        ...

    def drop(self) -> None:
        """Delete every record (tests)."""
