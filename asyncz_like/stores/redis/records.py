"""A Redis store's records read back: decoded, or noted as broken and reported once."""

from __future__ import annotations

from collections.abc import Callable

from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.serializers.decoded import DecodedRecords
from asyncz_like.stores.redis.broken import BrokenRecords
from asyncz_like.tasks.task import Task


class RedisRecords:
    """Decodes records (a copy of the task a record decoded to last time: see
    DecodedRecords) and notes the broken ones (see BrokenRecords), reported through
    ``report`` once per distinct bytes."""

    def __init__(
        self,
        decoded: DecodedRecords,
        broken: BrokenRecords,
        report: Callable[[str | None, BaseException], None],
    ) -> None:
        self.decoded = decoded
        self.broken = broken
        self._report = report

    def decode(self, task_id: str, record: bytes | None, score: float | None) -> Task | None:
        """The task of a record, with ``score`` (None: paused) as its next run time; None
        (reported once) when the record is broken or absent."""
        if record is None:
            return None
        try:
            task = self._read(task_id, record, score)
        except BrokenRecordError as error:
            if self.broken.note(task_id, record, error.reason):
                self._report(task_id, error)
            return None
        self.broken.forget(task_id)
        return task

    def decode_all(
        self, ids: list[bytes], records: list[bytes | None], scores: list[float | None]
    ) -> list[Task]:
        decoded = (
            self.decode(raw_id.decode(), record, score)
            for raw_id, record, score in zip(ids, records, scores, strict=True)
        )
        return [task for task in decoded if task is not None]

    def decode_claimed(
        self, ids: list[bytes], records: list[bytes], scores: list[bytes]
    ) -> tuple[list[Task], list[str]]:
        """The tasks of the records a claim returned, and the ids of the broken ones."""
        tasks: list[Task] = []
        broken: list[str] = []
        for raw_id, record, score in zip(ids, records, scores, strict=True):
            task = self.decode(raw_id.decode(), record, float(score))
            if task is None:
                broken.append(raw_id.decode())
            else:
                tasks.append(task)
        return tasks, broken

    def _read(self, task_id: str, record: bytes, score: float | None) -> Task:
        """The task of ``record`` with the next run time ``score`` (whatever the record
        says), any failure (and a record stored under another id) as broken."""
        try:
            task = self.decoded.decode(record, score)
        except BrokenRecordError:
            raise
        except Exception as exc:  # a custom serializer or trigger may raise anything
            raise BrokenRecordError(task_id, f"cannot decode: {exc!r}") from exc
        if task.id != task_id:
            raise BrokenRecordError(task_id, f"its id is {task.id!r}, not {task_id!r}")
        return task
