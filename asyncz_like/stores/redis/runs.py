"""Run records in Redis beside the Redis store's tasks.

Keys (``P`` is ``<tasks_key>.runs``): ``P`` a hash (run id -> record), ``P.order`` a sorted
set (run id -> creation time, for newest first), ``P.finished`` a sorted set (run id -> end
time, for the limits) and ``P.kept`` a hash (run id -> kept work), claimed by one Lua script.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from asyncz_like.stores.redis.connection import call_with_retries
from asyncz_like.stores.runs import RunRow

if TYPE_CHECKING:
    import logging

    from redis import Redis

    from asyncz_like.serializers.base import BaseSerializer

T = TypeVar("T")

#: Take every kept run: its record and its work, and nobody else gets them.
_CLAIM = """
local kept = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
local taken = {}
for i = 1, #kept, 2 do
  local record = redis.call('HGET', KEYS[1], kept[i])
  if record then
    taken[#taken + 1] = record
    taken[#taken + 1] = kept[i + 1]
  end
end
return taken
"""
_PAGE = 200


class RedisRunStore:
    """Run records under the keys ``<prefix>``, ``<prefix>.order``, ``<prefix>.finished`` and
    ``<prefix>.kept`` of a Redis store's client."""

    def __init__(
        self, client: Redis, prefix: str, serializer: BaseSerializer, logger: logging.Logger
    ) -> None:
        self.client = client
        self.serializer = serializer
        self.logger = logger
        self.records, self.order = prefix, f"{prefix}.order"
        self.finished, self.kept = f"{prefix}.finished", f"{prefix}.kept"
        self.name = f"Redis keys {prefix}*"
        self._claim = client.register_script(_CLAIM)

    def _retry(self, call: Callable[[int], T]) -> T:
        return call_with_retries(call, 5, 0.1, 2.0, self.logger)

    def start(self) -> None:
        pass  # keys need no creation

    def write(self, rows: Sequence[RunRow]) -> None:
        if rows:
            self._retry(lambda _: self._write([(row, None) for row in rows]))

    def keep(self, rows: Sequence[tuple[RunRow, bytes]]) -> None:
        if rows:
            self._retry(lambda _: self._write(rows))

    def _write(self, rows: Sequence[tuple[RunRow, bytes | None]]) -> None:
        pipe = self.client.pipeline(transaction=True)
        for row, kept in rows:
            pipe.hset(self.records, row.id, row.record)
            pipe.zadd(self.order, {row.id: row.created}, nx=True)
            if row.finished is not None:
                pipe.zadd(self.finished, {row.id: row.finished})
            if kept is not None:
                pipe.hset(self.kept, row.id, kept)
        pipe.execute()

    def claim(self) -> list[tuple[bytes, bytes]]:
        """One script takes every kept run: of several schedulers, one gets each."""
        flat = cast(
            "list[bytes]", self._retry(lambda _: self._claim(keys=[self.records, self.kept]))
        )
        return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    def get(self, run_id: str) -> bytes | None:
        return cast("bytes | None", self._retry(lambda _: self.client.hget(self.records, run_id)))

    def select(
        self,
        statuses: Collection[str] | None,
        task_id: str | None,
        limit: int | None,
        alive_after: float | None,
    ) -> Iterator[bytes]:
        """Every record newest first, a page at a time (the history filters them)."""
        start = 0
        while True:
            records = self._retry(functools.partial(self._page, start))
            if records is None:
                return
            yield from (record for record in records if record is not None)
            start += _PAGE

    def _page(self, first: int, attempt: int) -> list[bytes | None] | None:
        ids = cast("list[bytes]", self.client.zrevrange(self.order, first, first + _PAGE - 1))
        if not ids:
            return None
        return cast("list[bytes | None]", self.client.hmget(self.records, ids))

    def trim(self, max_finished: int, expired_before: float | None) -> int:
        def trim(_: int) -> int:
            ids: list[Any] = []
            if expired_before is not None:
                ids += self.client.zrangebyscore(self.finished, "-inf", expired_before)
            extra = int(self.client.zcard(self.finished)) - len(ids) - max_finished
            if extra > 0:
                ids += self.client.zrange(self.finished, len(ids), len(ids) + extra - 1)
            if ids:
                pipe = self.client.pipeline(transaction=True)
                pipe.hdel(self.records, *ids)
                pipe.zrem(self.order, *ids)
                pipe.zrem(self.finished, *ids)
                pipe.execute()
            return len(ids)

        return self._retry(trim)

    def drop(self) -> None:
        self._retry(
            lambda _: self.client.delete(self.records, self.order, self.finished, self.kept)
        )
