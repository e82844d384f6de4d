"""The workers known to the Redis broker: a hash per worker, ``P:worker:<id>``, and the
sorted set ``P:workers`` of their ids by last heartbeat (microseconds since the epoch, exact
as a score until 2255), each call one script."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from asyncz_like.brokers.base import WorkerRegistry
from asyncz_like.brokers.records import WorkerInfo
from asyncz_like.brokers.redis.layout import from_time_hex, text, time_hex
from asyncz_like.stores.redis.held_connection import ScriptRunner
from asyncz_like.stores.redis.scripts import RunnableScript

if TYPE_CHECKING:
    from redis import Redis

#: The fields of a worker hash, in the order a WorkerInfo is read from.
FIELDS = ("h", "pid", "q", "c", "sa", "hb", "b", "hs", "v")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_KEYS = """
local P = ARGV[1]
local set = P .. ':workers'
local function wkey(id) return P .. ':worker:' .. id end
"""
PUT = (
    _KEYS
    + """
redis.call('DEL', wkey(ARGV[2]))
redis.call('HSET', wkey(ARGV[2]), unpack(ARGV, 4))
redis.call('ZADD', set, ARGV[3], ARGV[2])
return 1
"""
)
BEAT = (
    _KEYS
    + """
local key = wkey(ARGV[2])
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSET', key, 'b', ARGV[4], 'hb', ARGV[5])
redis.call('ZADD', set, ARGV[3], ARGV[2])
return 1
"""
)
REMOVE = (
    _KEYS
    + """
redis.call('ZREM', set, ARGV[2])
return redis.call('DEL', wkey(ARGV[2]))
"""
)
LIST = (
    _KEYS
    + """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', set, 0, -1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HMGET', wkey(id), unpack(ARGV, 2))
end
return out
"""
)
FORGET = (
    _KEYS
    + """
local old = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. ARGV[2])
for _, id in ipairs(old) do redis.call('DEL', wkey(id)) end
redis.call('ZREMRANGEBYSCORE', set, '-inf', '(' .. ARGV[2])
return #old
"""
)

Call = Callable[[RunnableScript, list[Any]], Any]


def score(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class RedisWorkerRegistry(WorkerRegistry):
    """Worker records under the broker's prefix; ``call(script, args)`` runs a script with
    the prefix first, retried as the broker retries."""

    def __init__(self, client: Redis, runner: ScriptRunner, call: Call) -> None:
        register = client.register_script
        self._put = RunnableScript(register(PUT), runner)
        self._beat = RunnableScript(register(BEAT), runner)
        self._remove = RunnableScript(register(REMOVE), runner)
        self._list = RunnableScript(register(LIST), runner)
        self._forget = RunnableScript(register(FORGET), runner)
        self._call = call

    def put(self, info: WorkerInfo) -> None:
        values = (
            info.hostname,
            info.pid,
            json.dumps(list(info.queues)),
            info.concurrency,
            time_hex(info.started_at),
            time_hex(info.last_heartbeat),
            info.busy,
            repr(info.heartbeat_seconds),
            info.version,
        )
        pairs: list[Any] = []
        for field, value in zip(FIELDS, values, strict=True):
            pairs.extend((field, value))
        self._call(self._put, [info.worker_id, score(info.last_heartbeat), *pairs])

    def beat(self, worker_id: str, busy: int, now: datetime) -> bool:
        args = [worker_id, score(now), busy, time_hex(now)]
        return bool(self._call(self._beat, args) == 1)

    def remove(self, worker_id: str) -> bool:
        return bool(self._call(self._remove, [worker_id]) == 1)

    def all(self) -> list[WorkerInfo]:
        found = self._call(self._list, list(FIELDS))
        infos = []
        for index in range(0, len(found), 2):
            info = _info_of(found[index].decode(), found[index + 1])
            if info is not None:
                infos.append(info)
        return infos

    def forget(self, before: datetime) -> int:
        return int(self._call(self._forget, [score(before)]))


def _info_of(worker_id: str, values: list[Any]) -> WorkerInfo | None:
    """The record of a worker hash's FIELDS ``values``; None when the hash is gone."""
    host, pid, queues, concurrency, started, last, busy, seconds, version = values
    started_at, last_heartbeat = from_time_hex(started), from_time_hex(last)
    if started_at is None or last_heartbeat is None:
        return None
    return WorkerInfo(
        worker_id,
        text(host) or "",
        int(pid),
        tuple(json.loads(queues)),
        int(concurrency),
        started_at,
        last_heartbeat,
        int(busy),
        float(seconds),
        text(version) or "",
    )
