"""The claim and renew scripts of the Redis broker (see ``scripts.py`` for the rest).

A claim, atomically, for each of its queues: takes back up to ``sweep`` runs whose lease
ended (back in line, or ended: CANCELLED when a cancel was asked, FAILED at
``max_deliveries``), moves up to ``move`` delayed runs that fell due to the ready set, and
reads the best ready runs; then it leases the best ``limit`` of all its queues. Only the
ready, later and lease sets of its queues are read: finished runs are never looked at, so a
claim costs the same however many of them are kept.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from asyncz_like.brokers.records import lost_reason
from asyncz_like.brokers.redis.layout import next_time_hex, time_hex
from asyncz_like.brokers.redis.scripts import PRELUDE
from asyncz_like.runs.run import RunError

_LOST_REASON = lost_reason(987654321).replace("987654321", "%d")

# ARGV: prefix, worker, now, now_next, lease until, the time after it, limit, sweep, move,
# lost reason template ('%d' for the deliveries), claim nonce, retried, queues... Returns
# {leased, failed}: per run leased, best first, {id, queue, token, attempt, priority,
# max_deliveries, task_id, name, created, work}; per run the sweep ended FAILED, {id, lost}.
# A retried claim whose first try went through returns what it leased.
CLAIM = (
    PRELUDE
    + """
local worker, now, now_next, lease, lease_next = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit, sweep, move = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local reason, nonce, retried = ARGV[10], ARGV[11], ARGV[12] == '1'
local queues = {}
for i = 13, #ARGV do queues[#queues + 1] = ARGV[i] end

local ROW = {'st', 'cr', 'sq', 'pr', 'maxd', 'tid', 'nm', 'tok', 'att', 'rk', 'due', 'w', 'cl'}
local function row_of(id, q, f)
  local work = redis.call('GET', P .. ':work:' .. id)
  return {id, q, tonumber(f[8]), tonumber(f[9]), f[4], f[5], f[6], f[7], f[2], work}
end

-- the runs this claim leased on its first try (they all end their lease at `lease`)
local function replay()
  local found, rows = {}, {}
  for _, q in ipairs(queues) do
    for _, member in ipairs(redis.call('ZRANGEBYLEX', qkey('leases', q), '[' .. lease,
                                       '(' .. lease_next)) do
      local id = string.sub(member, 17)
      local f = redis.call('HMGET', run_key(id), unpack(ROW))
      if f[1] == 'running' and f[12] == worker and f[13] == nonce then
        local rank = f[10] .. f[11] .. f[2] .. f[3] .. id
        found[#found + 1] = rank
        rows[rank] = row_of(id, q, f)
      end
    end
  end
  table.sort(found, less)
  local out = {}
  for i, rank in ipairs(found) do out[i] = rows[rank] end
  return out
end

if retried then
  local out = replay()
  if #out > 0 then return {out, {}} end
end

local failed = {}
local function take_back(q)
  local leases = qkey('leases', q)
  for _, member in ipairs(redis.call('ZRANGEBYLEX', leases, '-', '(' .. now_next,
                                     'LIMIT', 0, sweep)) do
    redis.call('ZREM', leases, member)
    local id = string.sub(member, 17)
    local key = run_key(id)
    local f = redis.call('HMGET', key, 'st', 'ls', 'cx', 'maxd', 'rk', 'due', 'cr', 'sq')
    if f[1] == 'running' and f[2] == string.sub(member, 1, 16) then
      local lost = redis.call('HINCRBY', key, 'lost', 1)
      redis.call('HDEL', key, 'w', 'ls')
      if f[3] then
        finish(key, id, q, f[7], f[8], 'running', 'cancelled', now)
      elseif lost >= tonumber(f[4]) then
        finish(key, id, q, f[7], f[8], 'running', 'failed', now)
        redis.call('HSET', key, 'et', 'WorkerLost', 'em', string.format(reason, lost, lost))
        redis.call('HDEL', key, 'etb')
        failed[#failed + 1] = {id, lost}
      else
        set_status(key, id, q, f[7], f[8], 'running', 'pending')
        place(id, q, f[5], f[6], f[7], f[8], now_next)
      end
    end
  end
end

local function bring_due(q)
  local later, ready = qkey('later', q), qkey('ready', q)
  for _, member in ipairs(redis.call('ZRANGEBYLEX', later, '-', '(' .. now_next,
                                     'LIMIT', 0, move)) do
    redis.call('ZREM', later, member)
    local id = string.sub(member, 17)
    local f = redis.call('HMGET', run_key(id), 'rk', 'cr', 'sq')
    if f[1] then
      local due = string.sub(member, 1, 16)
      redis.call('ZREM', qkey('later-pr', q), f[1] .. due .. id)
      redis.call('ZADD', ready, 0, f[1] .. due .. f[2] .. f[3] .. id)
    end
  end
end

-- up to `limit` best ready members due by now; one not due yet (enqueued by a process whose
-- clock is ahead) goes back to the later set
local function best_ready(q)
  local ready, got, offset = qkey('ready', q), {}, 0
  while #got < limit do
    local page = redis.call('ZRANGE', ready, offset, offset + limit - #got - 1)
    if #page == 0 then break end
    for _, member in ipairs(page) do
      local due = string.sub(member, 17, 32)
      if le(due, now) then
        got[#got + 1] = member
        offset = offset + 1
      else
        redis.call('ZREM', ready, member)
        add_later(q, string.sub(member, 1, 16), due, string.sub(member, 65))
      end
    end
  end
  return got
end

local function lease_run(q, member)
  redis.call('ZREM', qkey('ready', q), member)
  local id = string.sub(member, 65)
  local key = run_key(id)
  local f = redis.call('HMGET', key, unpack(ROW))
  if f[1] ~= 'pending' and f[1] ~= 'retrying' then return nil end
  if f[1] == 'retrying' then redis.call('ZREM', qkey('retrying-pr', q), f[10] .. f[11] .. id) end
  f[8] = redis.call('HINCRBY', key, 'tok', 1)
  f[9] = redis.call('HINCRBY', key, 'att', 1)
  redis.call('HSET', key, 'w', worker, 'ls', lease, 'sa', now, 'cl', nonce)
  redis.call('ZADD', qkey('leases', q), 0, lease .. id)
  set_status(key, id, q, f[2], f[3], f[1], 'running')
  return row_of(id, q, f)
end

local lists, cursors = {}, {}
for i, q in ipairs(queues) do
  take_back(q)
  bring_due(q)
  lists[i] = limit > 0 and best_ready(q) or {}
  cursors[i] = 1
end
local out = {}
while #out < limit do
  local best
  for i = 1, #queues do
    local m = lists[i][cursors[i]]
    if m and (not best or less(m, lists[best][cursors[best]])) then best = i end
  end
  if not best then break end
  local member = lists[best][cursors[best]]
  cursors[best] = cursors[best] + 1
  local leased = lease_run(queues[best], member)
  if leased then out[#out + 1] = leased end
end
return {out, failed}
"""
)

# ARGV: prefix, worker, lease until, then id, token pairs. Extends the leases `worker` still
# holds; returns {lost ids, ids whose cancel was asked}.
RENEW = (
    PRELUDE
    + """
local worker, lease = ARGV[2], ARGV[3]
local lost, cancel = {}, {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local key = run_key(id)
  local f = redis.call('HMGET', key, 'st', 'tok', 'w', 'q', 'ls', 'cx')
  if f[1] == 'running' and f[2] == ARGV[i + 1] and f[3] == worker then
    redis.call('ZREM', qkey('leases', f[4]), f[5] .. id)
    redis.call('ZADD', qkey('leases', f[4]), 0, lease .. id)
    redis.call('HSET', key, 'ls', lease)
    if f[6] then cancel[#cancel + 1] = id end
  else
    lost[#lost + 1] = id
  end
end
return {lost, cancel}
"""
)


def lost_runs(pairs: list[Any]) -> list[tuple[str, RunError]]:
    """The runs a claim's sweep ended FAILED, from the ``{id, lost}`` pairs CLAIM returns."""
    return [(raw.decode(), RunError("WorkerLost", lost_reason(int(n)))) for raw, n in pairs]


def claim_head(
    prefix: str, worker_id: str, now: datetime, lease_until: datetime, limit: int, sweep: int,
    move: int,
) -> list[Any]:  # fmt: skip
    """CLAIM's ARGV up to its ``retried`` flag, with a nonce of its own (a retry replays)."""
    return [
        prefix, worker_id, time_hex(now), next_time_hex(now), time_hex(lease_until),
        next_time_hex(lease_until), limit, sweep, move, _LOST_REASON, secrets.token_hex(8),
    ]  # fmt: skip
