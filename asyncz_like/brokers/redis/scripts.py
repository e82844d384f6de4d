"""The Lua scripts of the Redis broker: each runs atomically on the server, in one round trip.

ARGV[1] of every script is the key prefix; the keys are built inside (see ``layout.py``), as
a script touches the keys of the runs it finds. Times and priorities are 16-hex strings
compared as strings (``le``/``less``, byte by byte: Lua's ``<`` on strings follows the
server's locale). A script about a delivery checks the run's status and token first.
"""

from __future__ import annotations

from asyncz_like.brokers.redis.layout import RUN_FIELDS

PRELUDE = """
local P = ARGV[1]
local function run_key(id) return P .. ':run:' .. id end
local function qkey(kind, q) return P .. ':' .. kind .. ':' .. q end
local function skey(status, q) return P .. ':status:' .. status .. ':' .. q end

-- a <= b for two 16-hex times
local function le(a, b)
  local x, y = tonumber(string.sub(a, 1, 8), 16), tonumber(string.sub(b, 1, 8), 16)
  if x ~= y then return x < y end
  return tonumber(string.sub(a, 9), 16) <= tonumber(string.sub(b, 9), 16)
end

-- a < b byte by byte, as Redis orders members of one score
local function less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local function set_status(key, id, q, cr, sq, old, new)
  local member = cr .. sq .. id
  redis.call('ZREM', skey(old, q), member)
  redis.call('ZADD', skey(new, q), 0, member)
  redis.call('HSET', key, 'st', new)
end

-- the later set, and beside it the same runs by priority (`later-pr`, which STATS counts)
local function add_later(q, rk, due, id)
  redis.call('ZADD', qkey('later', q), 0, due .. id)
  redis.call('ZADD', qkey('later-pr', q), 0, rk .. due .. id)
end

local function remove_later(q, rk, due, id)
  redis.call('ZREM', qkey('later', q), due .. id)
  redis.call('ZREM', qkey('later-pr', q), rk .. due .. id)
end

-- a waiting run: ready when due by `now_next` (exclusive), else later (see also ENQUEUE)
local function place(id, q, rk, due, cr, sq, now_next)
  if now_next and not le(now_next, due) then
    redis.call('ZADD', qkey('ready', q), 0, rk .. due .. cr .. sq .. id)
  else
    add_later(q, rk, due, id)
  end
end

local function release(key, id, q, lease)
  if lease then redis.call('ZREM', qkey('leases', q), lease .. id) end
  redis.call('HDEL', key, 'w', 'ls')
end

-- a run that failed, timed out or was cancelled keeps its work until cleanup, for a retry
-- of the same call; a completed run, which is not retried, needs it no more
local function finish(key, id, q, cr, sq, old, new, at)
  set_status(key, id, q, cr, sq, old, new)
  redis.call('HSET', key, 'fa', at)
  redis.call('ZADD', P .. ':finished', 0, at .. id)
  if new == 'completed' then redis.call('DEL', P .. ':work:' .. id) end
end

-- a held run (`f` as `held` reads it) put back as retrying, due `at`; the retrying-pr set
-- holds every retrying run by priority, as `later-pr` (STATS subtracts them)
local function retry_at(key, id, f, at)
  set_status(key, id, f[3], f[5], f[6], 'running', 'retrying')
  redis.call('HSET', key, 'due', at)
  add_later(f[3], f[7], at, id)
  redis.call('ZADD', qkey('retrying-pr', f[3]), 0, f[7] .. at .. id)
end

-- field, value pairs from ARGV[first] on (their count at ARGV[first - 1]), then fields to delete
local function write_fields(key, first)
  local pairs_end = first + 2 * tonumber(ARGV[first - 1]) - 1
  for i = first, pairs_end, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
  for i = pairs_end + 1, #ARGV do redis.call('HDEL', key, ARGV[i]) end
end

-- the fields of a run held with `token`: nil (and the answer to give) when it is not held;
-- on a retried call, a run already in `done_status` with that token was ours: answer 1
local function held(key, token, retried, done_status)
  local f = redis.call('HMGET', key, 'st', 'tok', 'q', 'ls', 'cr', 'sq', 'rk', 'due')
  if f[2] ~= token then return nil, 0 end
  if f[1] ~= 'running' then
    return nil, (retried and f[1] == done_status) and 1 or 0
  end
  return f
end
"""

# ARGV: prefix, id, token, retried, status, at, count, field/value pairs, fields to delete.
# Ends a held run with `status` (completed, failed, timeout, cancelled). 1 done, 0 not held.
FINISH = (
    PRELUDE
    + """
local id, token, status, at = ARGV[2], ARGV[3], ARGV[5], ARGV[6]
local key = run_key(id)
local f, answer = held(key, token, ARGV[4] == '1', status)
if not f then return answer end
release(key, id, f[3], f[4])
finish(key, id, f[3], f[5], f[6], 'running', status, at)
write_fields(key, 8)
return 1
"""
)

# ARGV: prefix, id, token, retried, at, count, field/value pairs, fields to delete.
# Puts a held run back as retrying, due at `at`. 1 done, 0 not held.
RETRY = (
    PRELUDE
    + """
local id, token, at = ARGV[2], ARGV[3], ARGV[5]
local key = run_key(id)
local f, answer = held(key, token, ARGV[4] == '1', 'retrying')
if not f then return answer end
release(key, id, f[3], f[4])
retry_at(key, id, f, at)
write_fields(key, 7)
redis.call('PUBLISH', P .. ':wake', f[3])
return 1
"""
)

# ARGV: prefix, retried, then per run: kind ('f' to end with `status`, 'r' to retry at
# `at`), id, token, status ('' for a retry), at, count, field/value pairs, count, fields to
# delete. What FINISH or RETRY does, for many runs in one call: one script per batch rather
# than one per run cut the worker's CPU per run (docs/performance.md, "The worker's own
# cost"). An answer per run: 1 done, 0 not held.
FINISH_MANY = (
    PRELUDE
    + """
local retried = ARGV[2] == '1'
local answers, woken = {}, {}
local i = 3
while i <= #ARGV do
  local retry, id, token, status, at = ARGV[i] == 'r', ARGV[i + 1], ARGV[i + 2], ARGV[i + 3],
    ARGV[i + 4]
  local first = i + 6
  local pairs_end = first + 2 * tonumber(ARGV[i + 5]) - 1
  local next_run = pairs_end + 2 + tonumber(ARGV[pairs_end + 1])
  local key = run_key(id)
  local f, answer = held(key, token, retried, retry and 'retrying' or status)
  if f then
    release(key, id, f[3], f[4])
    if retry then
      retry_at(key, id, f, at)
      woken[f[3]] = true
    else
      finish(key, id, f[3], f[5], f[6], 'running', status, at)
    end
    for j = first, pairs_end, 2 do redis.call('HSET', key, ARGV[j], ARGV[j + 1]) end
    for j = pairs_end + 2, next_run - 1 do redis.call('HDEL', key, ARGV[j]) end
    answer = 1
  end
  answers[#answers + 1] = answer
  i = next_run
end
for q in pairs(woken) do redis.call('PUBLISH', P .. ':wake', q) end
return answers
"""
)

# ARGV: prefix, id, token, retried. Returns a held run to its queue, due as it was, without
# counting the attempt. 1 done, 0 not held.
GIVE_BACK = (
    PRELUDE
    + """
local id, token = ARGV[2], ARGV[3]
local key = run_key(id)
local f, answer = held(key, token, ARGV[4] == '1', 'pending')
if not f then return answer end
release(key, id, f[3], f[4])
set_status(key, id, f[3], f[5], f[6], 'running', 'pending')
redis.call('HINCRBY', key, 'att', -1)
redis.call('ZADD', qkey('ready', f[3]), 0, f[7] .. f[8] .. f[5] .. f[6] .. id)
redis.call('PUBLISH', P .. ':wake', f[3])
return 1
"""
)

# ARGV: prefix, id, token, count, field/value pairs, fields to delete. 1 done, 0 not held.
PROGRESS = (
    PRELUDE
    + """
local key = run_key(ARGV[2])
local f = held(key, ARGV[3], false, nil)
if not f then return 0 end
write_fields(key, 5)
return 1
"""
)

# ARGV: prefix, id, now. 'cancelled', 'requested', 'finished' or 'unknown'.
CANCEL = (
    PRELUDE
    + """
local id, now = ARGV[2], ARGV[3]
local key = run_key(id)
local f = redis.call('HMGET', key, 'st', 'q', 'rk', 'due', 'cr', 'sq')
local status, q = f[1], f[2]
if not status then return 'unknown' end
if status == 'running' then
  redis.call('HSET', key, 'cx', 1)
  return 'requested'
end
if status ~= 'pending' and status ~= 'retrying' then return 'finished' end
redis.call('ZREM', qkey('ready', q), f[3] .. f[4] .. f[5] .. f[6] .. id)
remove_later(q, f[3], f[4], id)
if status == 'retrying' then redis.call('ZREM', qkey('retrying-pr', q), f[3] .. f[4] .. id) end
finish(key, id, q, f[5], f[6], status, 'cancelled', now)
return 'cancelled'
"""
)

_FIELDS = "{" + ", ".join(f"'{name}'" for name in RUN_FIELDS) + "}"

# ARGV: prefix, limit, queue, status ('' for any). The RUN_FIELDS of up to `limit` runs,
# newest first, each preceded by its id.
LIST_RUNS = (
    PRELUDE
    + f"local FIELDS = {_FIELDS}\n"
    + """
local limit, queue, status = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local queues = queue ~= '' and {queue} or redis.call('SMEMBERS', P .. ':queues')
local statuses = status ~= '' and {status}
  or {'pending', 'running', 'retrying', 'completed', 'failed', 'cancelled', 'timeout'}
local lists, cursors = {}, {}
if limit > 0 then
  for _, q in ipairs(queues) do
    for _, s in ipairs(statuses) do
      local found = redis.call('ZREVRANGE', skey(s, q), 0, limit - 1)
      if #found > 0 then
        lists[#lists + 1] = found
        cursors[#cursors + 1] = 1
      end
    end
  end
end
local out = {}
while #out < 2 * limit do
  local best
  for i = 1, #lists do
    local m = lists[i][cursors[i]]
    if m and (not best or less(lists[best][cursors[best]], m)) then best = i end
  end
  if not best then break end
  local id = string.sub(lists[best][cursors[best]], 33)
  cursors[best] = cursors[best] + 1
  out[#out + 1] = id
  out[#out + 1] = redis.call('HMGET', run_key(id), unpack(FIELDS))
end
return out
"""
)

# ARGV: prefix, before (exclusive), limit. Deletes up to `limit` runs finished before;
# returns how many.
CLEANUP = (
    PRELUDE
    + """
local old = redis.call('ZRANGEBYLEX', P .. ':finished', '-', '(' .. ARGV[2], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(old) do
  local id = string.sub(member, 17)
  local key = run_key(id)
  local f = redis.call('HMGET', key, 'q', 'st', 'cr', 'sq')
  if f[1] then
    redis.call('ZREM', skey(f[2], f[1]), f[3] .. f[4] .. id)
    redis.call('DEL', key, P .. ':work:' .. id)
  end
  redis.call('ZREM', P .. ':finished', member)
end
return #old
"""
)

# ARGV: prefix, queues... '' when a run is ready, else the earliest time (16 hex) a delayed
# run falls due or a lease ends; false when none.
NEXT_WORK = (
    PRELUDE
    + """
local best = false
for i = 2, #ARGV do
  local q = ARGV[i]
  if redis.call('ZCARD', qkey('ready', q)) > 0 then return '' end
  for _, kind in ipairs({'later', 'leases'}) do
    local first = redis.call('ZRANGE', qkey(kind, q), 0, 0)[1]
    if first then
      local at = string.sub(first, 1, 16)
      if not best or not le(best, at) then best = at end
    end
  end
end
return best
"""
)
