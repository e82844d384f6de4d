"""Reads and deletes over a Redis store's keys, each one pipeline (a MULTI/EXEC)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from redis import Redis

#: Ids per command of a delete of many.
DELETE_CHUNK = 1000


def read_all(
    client: Redis, tasks_key: str, run_times_key: str
) -> tuple[list[bytes], list[bytes | None], list[float | None]]:
    """Every record's id, bytes and score (None: paused): scheduled ones by score, paused
    ones after them by id."""
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(tasks_key)
    pipe.zrange(run_times_key, 0, -1, withscores=True)
    records, scheduled = cast(
        "tuple[dict[bytes, bytes], list[tuple[bytes, float]]]", pipe.execute()
    )
    scores: dict[bytes, float | None] = {
        raw_id: score for raw_id, score in scheduled if raw_id in records
    }
    ids = [*scores, *sorted(set(records) - set(scores))]
    return ids, [records[raw_id] for raw_id in ids], [scores.get(raw_id) for raw_id in ids]


def paused_ids(client: Redis, tasks_key: str, run_times_key: str) -> list[bytes]:
    """The ids of the records without a score, in :func:`read_all`'s order."""
    pipe = client.pipeline(transaction=True)
    pipe.hkeys(tasks_key)
    pipe.zrange(run_times_key, 0, -1)
    stored, scheduled = cast("tuple[list[bytes], list[bytes]]", pipe.execute())
    return sorted(set(stored) - set(scheduled))


def delete_many(client: Redis, keys: tuple[str, str, str], task_ids: list[str]) -> Any:
    """Delete these tasks from the records hash, the run-times set and the leases hash."""
    tasks_key, run_times_key, leases_key = keys
    pipe = client.pipeline(transaction=True)
    for start in range(0, len(task_ids), DELETE_CHUNK):
        chunk = task_ids[start : start + DELETE_CHUNK]
        pipe.hdel(tasks_key, *chunk)
        pipe.zrem(run_times_key, *chunk)
        pipe.hdel(leases_key, *chunk)
    return pipe.execute()


def delete_one(client: Redis, keys: tuple[str, str, str], task_id: str, attempt: int) -> bool:
    """Delete one task; True when it was there, or on a retry (the first try may have
    deleted it)."""
    tasks_key, run_times_key, leases_key = keys
    pipe = client.pipeline(transaction=True)
    pipe.hdel(tasks_key, task_id)
    pipe.zrem(run_times_key, task_id)
    pipe.hdel(leases_key, task_id)
    return bool(pipe.execute()[0]) or attempt > 1
