"""The Lua scripts of the Redis store: each runs atomically on the server, in one round trip.

Keys: ``tasks`` (hash id -> record), ``run_times`` (sorted set id -> next run time, UTC epoch;
paused tasks are absent), ``leases`` (hash id -> ``"owner|until"``). The next run time lives in
the score only: a record holds none (records of earlier versions may; the score wins), so a
release moves the score and never rewrites the record, which stays the same bytes fire after
fire. A script that returns records returns their scores beside them (``false``: paused).

Times travel as decimal strings (Python ``repr`` of a float, Redis ``%.17g`` scores) so that no
precision is lost: a Lua number turned into a reply is truncated to an integer, so none is
ever returned as one, and scores are compared with ``tonumber`` on both sides.

A store passes the task ids of the records it knows to be broken, each with the SHA-1 of the
record bytes, as ``id, sha1`` pairs at the end of ARGV: such a record is skipped while its
bytes stay the same, and looked at again once anybody rewrites it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis
    from redis.commands.core import Script

    from asyncz_like.stores.redis.held_connection import ScriptRunner

_PRELUDE = """
local function load_exclusions(first)
  local fingerprints = {}
  for i = first, #ARGV, 2 do fingerprints[ARGV[i]] = ARGV[i + 1] end
  return fingerprints
end

local function excluded(tasks, id, fingerprints)
  local fingerprint = fingerprints[id]
  if not fingerprint then return false end
  local record = redis.call('HGET', tasks, id)
  return record ~= false and redis.sha1hex(record) == fingerprint
end

local function lease_until(leases, id)
  local lease = redis.call('HGET', leases, id)
  if not lease then return nil end
  local bar = string.find(lease, '|', 1, true)
  if not bar then return nil end
  local text = string.sub(lease, bar + 1)
  local number = tonumber(text)
  if not number then return nil end
  return number, text
end

local function owned(lease, owner)
  return lease ~= false and string.sub(lease, 1, #owner + 1) == owner .. '|'
end
"""

# KEYS: run_times, tasks, leases. ARGV: now, lease until, owner, limit, retake before,
# expired before (another owner's lease that ended by then is taken over), exclusions...
# Returns {ids, records, scores, expired}: up to `limit` due ids, earliest first, now leased to
# `owner`, with their records and scores (next run times, as strings); `expired` pairs (id,
# lease end) for the expired leases taken over (their holder died).
CLAIM = (
    _PRELUDE
    + """
local now, limit = tonumber(ARGV[1]), tonumber(ARGV[4])
local fingerprints = load_exclusions(7)
local lease = ARGV[3] .. '|' .. ARGV[2]
local retake_before, expired_before = tonumber(ARGV[5]), tonumber(ARGV[6])
local ids, records, scores, expired = {}, {}, {}, {}
local offset, page = 0, math.max(limit, 100)
while #ids < limit do
  local due = redis.call(
    'ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', offset, page)
  for d = 1, #due, 2 do
    local id = due[d]
    local held, held_text = lease_until(KEYS[3], id)
    -- a lease of our own old enough (ending by ARGV[5]) is free: a claim of ours whose pass
    -- failed before its fires went out; a younger one may hold fires claimed ahead
    local free = not (held and held > expired_before)
      or (held <= retake_before and owned(redis.call('HGET', KEYS[3], id), ARGV[3]))
    if free and not excluded(KEYS[2], id, fingerprints) then
      local record = redis.call('HGET', KEYS[2], id)
      if record then
        redis.call('HSET', KEYS[3], id, lease)
        ids[#ids + 1], records[#records + 1], scores[#scores + 1] = id, record, due[d + 1]
        if held then
          expired[#expired + 1] = id
          expired[#expired + 1] = held_text
        end
        if #ids >= limit then break end
      else  -- an index entry without a record (written by hand): not a task
        redis.call('ZREM', KEYS[1], id)
        redis.call('HDEL', KEYS[3], id)
      end
    end
  end
  if #due < 2 * page then break end
  offset = offset + page
end
return {ids, records, scores, expired}
"""
)

# KEYS: run_times, tasks, leases. ARGV: exclusions...
# The earliest time a task can be claimed: its next run time, or the end of a lease on it.
NEXT_TIME = (
    _PRELUDE
    + """
local fingerprints = load_exclusions(1)
local best, best_text = nil, false
local offset, page = 0, 100
while true do
  local entries = redis.call('ZRANGE', KEYS[1], offset, offset + page - 1, 'WITHSCORES')
  if #entries == 0 then break end
  for i = 1, #entries, 2 do
    local id, text = entries[i], entries[i + 1]
    local score = tonumber(text)
    if best and score >= best then return best_text end
    if not excluded(KEYS[2], id, fingerprints) then
      local held, held_text = lease_until(KEYS[3], id)
      if held and held > score then score, text = held, held_text end
      if not best or score < best then best, best_text = score, text end
    end
  end
  offset = offset + page
end
return best_text
"""
)

# KEYS: run_times, tasks. ARGV: min, max. Returns {ids, records, scores} by next run time, the
# scores as strings.
RANGE = """
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
local ids, records, scores = {}, {}, {}
for i = 1, #entries, 2 do
  local n = #ids + 1
  ids[n], scores[n] = entries[i], entries[i + 1]
  records[n] = redis.call('HGET', KEYS[2], entries[i])
end
return {ids, records, scores}
"""

# KEYS: tasks, run_times. ARGV: id. Returns {record, score}: the score a string, false when
# the task is paused (absent from run_times); the record false when there is no such task.
LOOKUP = """
return {redis.call('HGET', KEYS[1], ARGV[1]), redis.call('ZSCORE', KEYS[2], ARGV[1])}
"""

# KEYS: tasks, run_times. ARGV: id, record, score ('' when paused), retried ('1' or '0').
# 1: added; 0: the id is taken (nothing written). A retry that finds its own record: 1.
ADD = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  if ARGV[4] == '1' and redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return 1 end
  return 0
end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
return 1
"""

# KEYS: tasks, run_times. ARGV: retried, then id, record, score ('' when paused) per task.
# All or nothing: returns the first id held (by another record; on a retry our own same record
# counts as written), else '' once every task is written.
ADD_MANY = """
local retried = ARGV[1] == '1'
for i = 2, #ARGV, 3 do
  local held = redis.call('HGET', KEYS[1], ARGV[i])
  if held and not (retried and held == ARGV[i + 1]) then return ARGV[i] end
end
for i = 2, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if ARGV[i + 2] ~= '' then redis.call('ZADD', KEYS[2], ARGV[i + 2], ARGV[i]) end
end
return ''
"""

# KEYS: tasks, run_times. ARGV: id, record, score ('' when paused). 1: updated; 0: no such id.
# The lease, if any, is left alone: a user's change does not end a claim.
UPDATE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
end
return 1
"""

# KEYS: tasks, run_times, leases. ARGV: owner, retried, then id, score ('' to delete), claimed
# score per task, in one call. The record is never written: only the score moves (or the task
# goes), and only while it is still the claimed one (within 1e-6 s, as the SQL store's
# SAME_INSTANT): a pause or a reschedule made meanwhile stays. For each, in order: 1 released
# (the lease cleared), 0 the lease is not ours (nothing changed), -1 the task is gone.
RELEASE_MANY = (
    _PRELUDE
    + """
local owner, retried, results = ARGV[1], ARGV[2] == '1', {}
for i = 3, #ARGV, 3 do
  local id, score, claimed, result = ARGV[i], ARGV[i + 1], ARGV[i + 2], 1
  if redis.call('HEXISTS', KEYS[1], id) == 0 then
    result = (retried and score == '') and 1 or -1  -- a retried delete that went through
  elseif not owned(redis.call('HGET', KEYS[3], id), owner) then
    -- a retry that went through: our score is there (both sides read back exactly)
    local stored = redis.call('ZSCORE', KEYS[2], id)
    result = (retried and score ~= '' and stored and tonumber(stored) == tonumber(score))
      and 1 or 0
  else
    redis.call('HDEL', KEYS[3], id)
    local current, wanted = redis.call('ZSCORE', KEYS[2], id), tonumber(claimed)
    if current and wanted and math.abs(tonumber(current) - wanted) < 1e-6 then
      if score == '' then
        redis.call('HDEL', KEYS[1], id)
        redis.call('ZREM', KEYS[2], id)
      else
        redis.call('ZADD', KEYS[2], score, id)
      end
    end
  end
  results[#results + 1] = result
end
return results
"""
)

# KEYS: leases. ARGV: owner, lease until, ids... Extends the leases `owner` holds on these ids.
RENEW_LEASES = (
    _PRELUDE
    + """
local lease = ARGV[1] .. '|' .. ARGV[2]
for i = 3, #ARGV do
  if owned(redis.call('HGET', KEYS[1], ARGV[i]), ARGV[1]) then
    redis.call('HSET', KEYS[1], ARGV[i], lease)
  end
end
return 1
"""
)

# KEYS: leases. ARGV: owner, ids... Clears the leases `owner` holds on these ids.
DROP_LEASES = (
    _PRELUDE
    + """
local dropped = 0
for i = 2, #ARGV do
  if owned(redis.call('HGET', KEYS[1], ARGV[i]), ARGV[1]) then
    dropped = dropped + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return dropped
"""
)


#: KEYS: the slots sorted set of each task. ARGV: now, until, key lifetime in ms, then limit,
#: token per key. For each key, in order: 1 when a slot was taken (or its token is there
#: already: an attempt whose answer was lost), 0 when ``limit`` live slots are held.
SLOT_ACQUIRE_MANY = """
local results = {}
for k = 1, #KEYS do
  local key, limit, token = KEYS[k], tonumber(ARGV[2 + 2 * k]), ARGV[3 + 2 * k]
  local taken = 1
  if not redis.call('ZSCORE', key, token) then  -- present: an attempt whose answer was lost
    redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
    if redis.call('ZCARD', key) >= limit then
      taken = 0
    else
      redis.call('ZADD', key, ARGV[2], token)
      redis.call('PEXPIRE', key, ARGV[3])
    end
  end
  results[k] = taken
end
return results
"""

#: KEYS: the slots sorted set of one task. ARGV: until, key lifetime in ms, tokens. Renews
#: the tokens still present (an expired slot is not brought back).
SLOT_RENEW = """
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class RunnableScript:
    """A registered script and the runner that calls it: ``script(keys=..., args=...)``."""

    script: Script
    runner: ScriptRunner

    def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        return self.runner(self.script, keys, args)


@dataclass(frozen=True, slots=True)
class Scripts:
    """The scripts registered on one client (``EVALSHA``, loaded again after a restart)."""

    claim: RunnableScript
    next_time: RunnableScript
    range: RunnableScript
    lookup: RunnableScript
    add: RunnableScript
    add_many: RunnableScript
    update: RunnableScript
    release_many: RunnableScript
    drop_leases: RunnableScript
    renew_leases: RunnableScript
    slot_acquire_many: RunnableScript
    slot_renew: RunnableScript

    @classmethod
    def register(cls, client: Redis, runner: ScriptRunner) -> Scripts:
        def runnable(source: str) -> RunnableScript:
            return RunnableScript(client.register_script(source), runner)

        return cls(
            claim=runnable(CLAIM),
            next_time=runnable(NEXT_TIME),
            range=runnable(RANGE),
            lookup=runnable(LOOKUP),
            add=runnable(ADD),
            add_many=runnable(ADD_MANY),
            update=runnable(UPDATE),
            release_many=runnable(RELEASE_MANY),
            drop_leases=runnable(DROP_LEASES),
            renew_leases=runnable(RENEW_LEASES),
            slot_acquire_many=runnable(SLOT_ACQUIRE_MANY),
            slot_renew=runnable(SLOT_RENEW),
        )
