"""The Redis broker's enqueue script and its arguments (see ``scripts.py`` for the rest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from asyncz_like.brokers.codec import encode_work
from asyncz_like.brokers.records import Envelope
from asyncz_like.brokers.redis.layout import priority_hex, time_hex
from asyncz_like.brokers.redis.scripts import PRELUDE
from asyncz_like.serializers.base import BaseSerializer

# ARGV: prefix, batch, now_next, then per run: id, queue, head, task_id, name ('' for
# none), work; head is the priority hex, due and created (16 hex each), then the priority
# and max_deliveries in decimal, space-separated. 1 per run added, 0 per id taken (a retried
# call that finds a run of its own batch: 1). Publishes each queue added to.
# One HSET per run and the rest per batch (one EXISTS for every id, one INCRBY, one MSET of
# the works, one ZADD per sorted set and queue): the server's CPU per run went from 18.5-19.5
# to 12-14.5 µs against a call per key of each run (3 pairs of 20,000 runs, loaded machine).
ENQUEUE = (
    PRELUDE
    + """
local batch, now_next = ARGV[2], ARGV[3]
local STEP = 4000  -- values per call: unpack stays well below Lua's stack limit (8000)
local function call_in_steps(command, key, values)
  for s = 1, #values, STEP do
    local e = math.min(s + STEP - 1, #values)
    if key then redis.call(command, key, unpack(values, s, e))
    else redis.call(command, unpack(values, s, e)) end
  end
end

local keys = {}
for i = 4, #ARGV, 6 do keys[#keys + 1] = run_key(ARGV[i]) end
local taken = 0  -- ids of runs that exist already: rare, then each is looked at
for s = 1, #keys, STEP do
  taken = taken + redis.call('EXISTS', unpack(keys, s, math.min(s + STEP - 1, #keys)))
end
local seq = redis.call('INCRBY', P .. ':seq', #keys) - #keys  -- a gap per id taken
local added, works, lines = {}, {}, {}
for n = 1, #keys do
  local i = 4 + 6 * (n - 1)
  local id, q, head, key = ARGV[i], ARGV[i + 1], ARGV[i + 2], keys[n]
  local seen = taken > 0 and redis.call('HGET', key, 'bt')  -- every run hash has one
  if seen then
    added[n] = (seen == batch) and 1 or 0
  else
    seq = seq + 1
    local sq = string.format('%016x', seq)
    local rk, due, cr = string.sub(head, 1, 16), string.sub(head, 17, 32), string.sub(head, 33, 48)
    local pr, maxd = string.match(head, '^(%S+) (%S+)$', 49)
    -- tok, att, lost and pg start absent, read as 0 (HINCRBY counts from there): four
    -- fields less to write took about 2 of the script's 15 µs per run
    local fields = {'q', q, 'pr', pr, 'rk', rk, 'st', 'pending', 'due', due, 'cr', cr,
      'sq', sq, 'maxd', maxd, 'bt', batch}
    if ARGV[i + 3] ~= '' then fields[#fields + 1] = 'tid'; fields[#fields + 1] = ARGV[i + 3] end
    if ARGV[i + 4] ~= '' then fields[#fields + 1] = 'nm'; fields[#fields + 1] = ARGV[i + 4] end
    redis.call('HSET', key, unpack(fields))
    works[#works + 1] = P .. ':work:' .. id
    works[#works + 1] = ARGV[i + 5]
    local line = lines[q]
    if not line then
      line = {pending = {}, ready = {}, later = {}, ['later-pr'] = {}}
      lines[q] = line
    end
    local pending = line.pending
    pending[#pending + 1] = 0
    pending[#pending + 1] = cr .. sq .. id
    local set, member = line.later, due .. id  -- ready when due by `now_next` (exclusive),
    if not le(now_next, due) then  -- as `place` decides
      set, member = line.ready, rk .. due .. cr .. sq .. id
    else  -- and by priority beside the later set, as `add_later` does
      local by_priority = line['later-pr']
      by_priority[#by_priority + 1] = 0
      by_priority[#by_priority + 1] = rk .. due .. id
    end
    set[#set + 1] = 0
    set[#set + 1] = member
    added[n] = 1
  end
end
call_in_steps('MSET', nil, works)
for q, line in pairs(lines) do
  for kind, members in pairs(line) do
    if #members > 0 then
      call_in_steps('ZADD', kind == 'pending' and skey('pending', q) or qkey(kind, q), members)
    end
  end
  redis.call('SADD', P .. ':queues', q)
end
for q in pairs(lines) do redis.call('PUBLISH', P .. ':wake', q) end
return added
"""
)


def enqueue_args(envelopes: list[Envelope], now: datetime, serializer: BaseSerializer) -> list[Any]:
    """The enqueue script's arguments for ``envelopes``, six per run (see ``ENQUEUE``)."""
    args: list[Any] = []
    append = args.append
    # The runs of a batch mostly share their creation time (and due time: at once): each
    # distinct one is written once, 1.5 µs of CPU a run less for 1,000 of one time.
    moment: datetime | None = None
    moment_hex = ""
    for envelope in envelopes:
        created = envelope.created_at or now
        if created is not moment:
            moment, moment_hex = created, time_hex(created)
        due = envelope.due
        priority = envelope.priority
        append(envelope.run_id)
        append(envelope.queue)
        append(f"{priority_hex(priority)}{moment_hex if due is None else time_hex(due)}"
               f"{moment_hex}{priority} {envelope.max_deliveries}")  # fmt: skip
        append(envelope.task_id or "")
        append(envelope.name or "")
        append(encode_work(envelope, serializer))
    return args
