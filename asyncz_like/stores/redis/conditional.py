"""The Redis store's write of tasks only while each is unchanged and unclaimed: one script."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis

    from asyncz_like.stores.redis.held_connection import ScriptRunner

# KEYS: tasks, run_times, leases. ARGV: id, record, score ('' when paused), seen score, per
# task. Writes each task that exists, has no lease (held, or expired with its holder dead)
# and whose score is still the one seen (within 1e-6 s, as the release's check). Returns how
# many it wrote.
UPDATE_IF_UNCHANGED = """
local written = 0
for i = 1, #ARGV, 4 do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[1], id) == 1 and redis.call('HEXISTS', KEYS[3], id) == 0 then
    local current = redis.call('ZSCORE', KEYS[2], id)
    if current and math.abs(tonumber(current) - tonumber(ARGV[i + 3])) < 1e-6 then
      redis.call('HSET', KEYS[1], id, ARGV[i + 1])
      if ARGV[i + 2] == '' then
        redis.call('ZREM', KEYS[2], id)
      else
        redis.call('ZADD', KEYS[2], ARGV[i + 2], id)
      end
      written = written + 1
    end
  end
end
return written
"""

#: Tasks per script call: a script blocks the server while it runs.
CHUNK = 500


def update_if_unchanged(
    client: Redis, runner: ScriptRunner, keys: Sequence[str], args: Sequence[bytes | str]
) -> int:
    """Run :data:`UPDATE_IF_UNCHANGED` over ``args`` (4 per task), :data:`CHUNK` tasks a
    call; how many tasks it wrote. (Registering a script only hashes its text: this runs
    once per clock step, not per fire.)"""
    script = client.register_script(UPDATE_IF_UNCHANGED)
    written = 0
    for start in range(0, len(args), 4 * CHUNK):
        written += int(runner(script, keys, args[start : start + 4 * CHUNK]))
    return written
