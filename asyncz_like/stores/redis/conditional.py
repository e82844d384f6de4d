"""The Redis store's write of a task only while it is unchanged and unclaimed: one script."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis

    from asyncz_like.stores.redis.held_connection import ScriptRunner

# KEYS: tasks, run_times, leases. ARGV: id, record, score ('' when paused), seen score.
# 1: written; 0: no such task, a lease is on it (held, or expired with its holder dead), or
# its score is no longer the one seen (within 1e-6 s, as the release's check).
UPDATE_IF_UNCHANGED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return 0 end
local current = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not current or math.abs(tonumber(current) - tonumber(ARGV[4])) >= 1e-6 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""


def update_if_unchanged(
    client: Redis, runner: ScriptRunner, keys: Sequence[str], args: Sequence[Any]
) -> bool:
    """Run :data:`UPDATE_IF_UNCHANGED`; True when it wrote. (Registering a script only
    hashes its text: this runs once per task a clock step repairs, not per fire.)"""
    return bool(runner(client.register_script(UPDATE_IF_UNCHANGED), keys, args))
