"""The Redis broker's stats script, and the script that builds the sets it counts in a
database made without them (see ``scripts.py`` for the rest)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from asyncz_like.brokers.redis.scripts import PRELUDE
from asyncz_like.stores.redis.connection import transient_errors

if TYPE_CHECKING:
    from asyncz_like.stores.redis.scripts import RunnableScript

logger = logging.getLogger(__name__)

# ARGV: prefix, the time after now. Per queue: {queue, running, retrying, completed, failed,
# cancelled, timeout, scheduled, then priority (16 hex), count pairs of the pending runs due
# by now}. Pending runs are the ready and later runs less the retrying ones: each of the
# ready, later-pr and retrying-pr sets is counted by priority (its members start with the
# priority, then the due time) with two calls per priority, so a queue costs O(priorities x
# log(runs)) whatever its number of runs: 0.1-0.5 ms with 10,000 or 100,000 runs waiting,
# against 30-75 and 450-720 ms when each pending run was read (docs/broker-redis.md,
# "Counting"). When the sets do not add up (a database of a version without them, not yet
# indexed by INDEX), each pending run is read.
STATS = (
    PRELUDE
    + """
local now_next = ARGV[2]

-- adds `sign` x the members of `key` due by now to `due_now`, per priority; returns `sign`
-- x those due later
local function count_by_priority(key, due_now, sign)
  local cursor, due_total = '-', 0
  while true do
    local first = redis.call('ZRANGEBYLEX', key, cursor, '+', 'LIMIT', 0, 1)[1]
    if not first then break end
    local rk = string.sub(first, 1, 16)
    local due = redis.call('ZLEXCOUNT', key, '[' .. rk, '(' .. rk .. now_next)
    due_now[rk] = (due_now[rk] or 0) + sign * due
    due_total = due_total + due
    cursor = '(' .. rk .. 'g'  -- past this priority's members: hex digits sort before g
  end
  return sign * (redis.call('ZCARD', key) - due_total)
end

-- scheduled, due_now from the by-priority sets; nil when they do not add up
local function counted(q, pending, retrying)
  local ready, later = redis.call('ZCARD', qkey('ready', q)), redis.call('ZCARD', qkey('later', q))
  if redis.call('ZCARD', qkey('later-pr', q)) ~= later
      or redis.call('ZCARD', qkey('retrying-pr', q)) ~= retrying
      or ready + later ~= pending + retrying then
    return nil
  end
  local due_now = {}
  local scheduled = count_by_priority(qkey('ready', q), due_now, 1)
    + count_by_priority(qkey('later-pr', q), due_now, 1)
    + count_by_priority(qkey('retrying-pr', q), due_now, -1)
  return scheduled, due_now
end

-- scheduled, due_now from every pending run's hash
local function read_one_by_one(q)
  local scheduled, due_now = 0, {}
  for _, member in ipairs(redis.call('ZRANGE', skey('pending', q), 0, -1)) do
    local f = redis.call('HMGET', run_key(string.sub(member, 33)), 'rk', 'due')
    if f[2] and le(now_next, f[2]) then
      scheduled = scheduled + 1
    elseif f[1] then
      due_now[f[1]] = (due_now[f[1]] or 0) + 1
    end
  end
  return scheduled, due_now
end

local out = {}
for _, q in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
  local counts = {q}
  for _, s in ipairs({'running', 'retrying', 'completed', 'failed', 'cancelled', 'timeout'}) do
    counts[#counts + 1] = redis.call('ZCARD', skey(s, q))
  end
  local scheduled, due_now = counted(q, redis.call('ZCARD', skey('pending', q)), counts[3])
  if not scheduled then scheduled, due_now = read_one_by_one(q) end
  counts[#counts + 1] = scheduled
  for rk, count in pairs(due_now) do
    if count > 0 then
      counts[#counts + 1] = rk
      counts[#counts + 1] = count
    end
  end
  out[#out + 1] = counts
end
return out
"""
)

# ARGV: prefix. Per queue, builds the later-pr and retrying-pr sets again when their size is
# not that of the later set and of the retrying runs (a database of a version without them:
# STATS reads every pending run until then). Returns the number of sets built.
INDEX = (
    PRELUDE
    + """
local built = 0
for _, q in ipairs(redis.call('SMEMBERS', P .. ':queues')) do
  local later, later_pr = qkey('later', q), qkey('later-pr', q)
  if redis.call('ZCARD', later_pr) ~= redis.call('ZCARD', later) then
    redis.call('DEL', later_pr)
    for _, member in ipairs(redis.call('ZRANGE', later, 0, -1)) do
      local id = string.sub(member, 17)
      local rk = redis.call('HGET', run_key(id), 'rk')
      if rk then redis.call('ZADD', later_pr, 0, rk .. string.sub(member, 1, 16) .. id) end
    end
    built = built + 1
  end
  local retrying, retrying_pr = skey('retrying', q), qkey('retrying-pr', q)
  if redis.call('ZCARD', retrying_pr) ~= redis.call('ZCARD', retrying) then
    redis.call('DEL', retrying_pr)
    for _, member in ipairs(redis.call('ZRANGE', retrying, 0, -1)) do
      local id = string.sub(member, 33)
      local f = redis.call('HMGET', run_key(id), 'rk', 'due')
      if f[1] and f[2] then redis.call('ZADD', retrying_pr, 0, f[1] .. f[2] .. id) end
    end
    built = built + 1
  end
end
return built
"""
)


def build_sets(index: RunnableScript, prefix: str) -> None:
    """Run INDEX (``index``) once: one try, as a broker starts; while Redis is away, STATS
    reads every run until the next start."""
    try:
        index(keys=[], args=[prefix])
    except transient_errors() as error:
        logger.warning("Could not check the sets stats() counts: %r", error)
