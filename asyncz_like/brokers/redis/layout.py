"""How the Redis broker lays runs out in keys, and its records back to runs.

Every time is kept as 16 lowercase hex digits: UTC microseconds since the epoch plus 2**62
(so that times before 1970 stay positive). Strings of one length sort as their times do, so
the sorted sets order by time exactly (Lua numbers are doubles: exact to 2**53 only), and the
scripts compare times as strings, never as numbers. A priority is kept the same way, inverted
(``2**63 - 1 - priority``), so that the higher sorts first.

Keys, under a prefix ``P`` (``queue`` and ``id`` last, so no two names meet):

* ``P:run:<id>`` a hash per run (its fields are :data:`RUN_FIELDS` and those the scripts
  use), all short: Redis keeps such a hash compact (a listpack, while every value is at most
  ``hash-max-listpack-value``, 64 bytes): 408 bytes for a finished run, 1,408 as a hash table;
* ``P:work:<id>`` the encoded work of a run (a string), deleted when the run completes (kept
  until cleanup when it ends otherwise, for a retry);
* ``P:ready:<queue>`` runs due now: members ``priority|due|created|seq|id`` (fixed widths,
  no separators), all of score 0, so the first member is the best run;
* ``P:later:<queue>`` runs due later: members ``due|id``; ``P:later-pr:<queue>`` the same
  runs by priority, members ``priority|due|id``, and ``P:retrying-pr:<queue>`` every retrying
  run, members alike: ``stats`` counts them by priority and due time, reading no run;
* ``P:leases:<queue>`` running runs: members ``lease end|id``;
* ``P:status:<status>:<queue>`` every run by status: members ``created|seq|id``;
* ``P:finished`` finished runs: members ``finished|id``, for cleanup;
* ``P:worker:<id>`` a hash per worker known, ``P:workers`` their ids by last heartbeat
  (see ``workers.py``);
* ``P:queues`` the set of queue names; ``P:seq`` the enqueue counter; ``P:wake`` the
  channel an enqueue publishes its queue names on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from asyncz_like.brokers.codec import decode_result, decode_work
from asyncz_like.brokers.records import Envelope, QueueStats
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus
from asyncz_like.serializers.base import BaseSerializer

DEFAULT_PREFIX = "asyncz_like.broker"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_OFFSET = 1 << 62
_TOP = (1 << 63) - 1

#: The fields of a run hash a Run is read from, in this order.
RUN_FIELDS = ("q", "pr", "st", "due", "cr", "sa", "fa", "tok", "att", "pg", "msg", "tid", "nm",
              "res", "et", "em", "etb")  # fmt: skip
#: The fields of a run hash an envelope is read from (with its work), in this order.
ENVELOPE_FIELDS = ("q", "pr", "maxd", "tid", "nm", "cr")


def time_hex(moment: datetime) -> str:
    """An aware datetime as the 16 hex digits the broker keeps."""
    return f"{(moment - _EPOCH) // _MICROSECOND + _OFFSET:016x}"


def next_time_hex(moment: datetime) -> str:
    """The time one microsecond after ``moment``: a member below it is due by ``moment``."""
    return f"{(moment - _EPOCH) // _MICROSECOND + _OFFSET + 1:016x}"


def from_time_hex(text: bytes | str | None) -> datetime | None:
    if text is None:
        return None
    return _EPOCH + (int(text, 16) - _OFFSET) * _MICROSECOND


def priority_hex(priority: int) -> str:
    """A priority as 16 hex digits sorting the highest first."""
    return f"{_TOP - priority:016x}"


def text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


def run_of(run_id: str, values: list[Any], serializer: BaseSerializer) -> Run | None:
    """The Run of the RUN_FIELDS ``values`` of a run hash; None when the hash is gone."""
    (queue, priority, status, due, created, started, finished, token, attempt, progress,
     message, task_id, name, result, error_type, error_message, traceback) = values  # fmt: skip
    if status is None:
        return None
    error = None
    if error_type is not None:
        error = RunError(error_type.decode(), text(error_message) or "", text(traceback))
    return Run(
        run_id,
        text(task_id),
        text(name),
        RunStatus(status.decode()),
        float(progress or 0),
        text(message),
        decode_result(result, serializer),
        error,
        int(attempt or 0),
        int(priority),
        from_time_hex(created),
        from_time_hex(due),
        from_time_hex(started),
        from_time_hex(finished),
        text(queue),
        int(token or 0),
    )


def read_call(client: Any, prefix: str, run_id: str) -> tuple[list[Any], bytes | None]:
    """The ENVELOPE_FIELDS of a run's hash and its work, read in one round trip."""
    pipe = client.pipeline(transaction=True)
    pipe.hmget(f"{prefix}:run:{run_id}", ENVELOPE_FIELDS)
    pipe.get(f"{prefix}:work:{run_id}")
    fields, work = pipe.execute()
    return list(fields), work


def envelope_of(
    run_id: str, values: list[Any], work: bytes | None, serializer: BaseSerializer
) -> Envelope | None:
    """The envelope of the ENVELOPE_FIELDS ``values`` of a run hash and its ``work``; None
    when either is gone (the work goes when the run ends)."""
    queue, priority, max_deliveries, task_id, name, created = values
    if queue is None or work is None:
        return None
    return decode_work(
        work,
        serializer,
        run_id=run_id,
        queue=queue.decode(),
        priority=int(priority),
        max_deliveries=int(max_deliveries),
        task_id=text(task_id),
        name=text(name),
        created_at=from_time_hex(created),
    )


def error_fields(error: RunError) -> tuple[dict[str, str], list[str]]:
    """The run hash fields to set for ``error``, and those to delete."""
    if not isinstance(error, RunError):
        raise TypeError(f"error must be a RunError, got error={error!r}")
    values = {"et": error.type, "em": error.message}
    if error.traceback is None:
        return values, ["etb"]
    return {**values, "etb": error.traceback}, []


def stats_of(row: list[Any]) -> tuple[str, QueueStats | None]:
    """One queue's row of the stats script: its name and counts (None when all are zero);
    its priorities come as 16 hex digits (:func:`priority_hex`)."""
    queue, *numbers = row
    stats = QueueStats(
        running=numbers[0],
        retrying=numbers[1],
        completed=numbers[2],
        failed=numbers[3],
        cancelled=numbers[4],
        timeout=numbers[5],
        scheduled=numbers[6],
    )
    pairs = numbers[7:]
    for index in range(0, len(pairs), 2):
        stats.pending[_TOP - int(pairs[index], 16)] = int(pairs[index + 1])
    return queue.decode(), stats if any(numbers[:7]) or stats.pending else None


def claimed_envelope(row: list[Any], serializer: BaseSerializer) -> Envelope:
    """The run of one row the claim script returns (BrokenRecordError if unreadable)."""
    raw_id, queue, _token, _attempt, priority, max_deliveries, task_id, name, created, work = row
    return decode_work(
        work,
        serializer,
        run_id=raw_id.decode(),
        queue=queue.decode(),
        priority=int(priority),
        max_deliveries=int(max_deliveries),
        task_id=None if task_id is None else task_id.decode(),
        name=None if name is None else name.decode(),
        created_at=from_time_hex(created),
    )
