-- _lib.lua: the prelude prepended to every per-show script (booking_core/holds/lua/__init__.py).
--
-- KEYS[1..14] of every per-show script, all tagged {show:<id>} (booking_core/redis_keys.py):
--   1 meta HASH starts_ms, on_sale, on_sale_ms, queued    2 seats SET hall seat ids + "-"    3 sold SET sold seat ids + "-"
--   4 sold_gen STRING                 5 holds HASH token -> "user|expires_ms|offered|s1,s2"
--   6 seat_holds HASH seat -> token   7 user_holds HASH user -> token    8 expiry ZSET token -> expires_ms
--   9 queue ZSET user -> arrival     10 requests HASH user -> "count|together"
--  11 passed HASH user -> times passed over    12 reserved SET seats kept for the waitlist
--  13 wl_version STRING              14 wl_seq STRING
-- ARGV[1] = the show's inventory as JSON, or "" (see load_inventory); ARGV[2] = now, integer ms.
-- Times are integer milliseconds throughout. A hold whose expires_ms <= now is dead, swept or not.

local K_META, K_SEATS, K_SOLD, K_GEN = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local K_HOLDS, K_SEAT_HOLDS, K_USER_HOLDS, K_EXPIRY = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local K_QUEUE, K_REQUESTS, K_PASSED, K_RESERVED = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local K_VERSION, K_SEQ = KEYS[13], KEYS[14]
local NOW = tonumber(ARGV[2])
local SENTINEL = '-'
-- An overdue entry older than this means the sweeper's index may have lost the show: ask to re-register.
local OVERDUE_MS = 2000
-- A hold's holder is reminded this long before it lapses ("less than a minute left"); a hold shorter
-- than this gets no reminder.
local REMIND_LEAD_MS = 60000
-- sold_gen outlives any show's sold set; refreshed on every change.
local GEN_TTL_MS = 30 * 86400000

local function ms(value)
  return string.format('%d', value)
end

local function sadd_all(key, members)
  -- unpack() is bounded by the Lua C stack: add in slices.
  for i = 1, #members, 500 do
    redis.call('SADD', key, unpack(members, i, math.min(i + 499, #members)))
  end
end

-- Load the inventory sent by Python: the hall and start time if absent, the sold set only if absent
-- and no sold-set change happened since Python read sold_gen (else its SQL read may be stale).
local function load_inventory(payload)
  local inv = cjson.decode(payload)
  local expire_at = inv.expire_at
  if redis.call('EXISTS', K_META, K_SEATS) < 2 then
    redis.call('DEL', K_META, K_SEATS)
    redis.call('HSET', K_META, 'starts_ms', inv.starts_ms, 'on_sale', inv.on_sale,
      'on_sale_ms', inv.on_sale_ms or '0', 'queued', inv.queued or '0')
    redis.call('SADD', K_SEATS, SENTINEL)
    sadd_all(K_SEATS, inv.seats)
    redis.call('PEXPIREAT', K_META, expire_at)
    redis.call('PEXPIREAT', K_SEATS, expire_at)
  end
  if redis.call('EXISTS', K_SOLD) == 0 and (redis.call('GET', K_GEN) or '0') == inv.gen then
    redis.call('SADD', K_SOLD, SENTINEL)
    sadd_all(K_SOLD, inv.sold)
    redis.call('PEXPIREAT', K_SOLD, expire_at)
  end
end

-- True when the show's hall, start and sold seats are in Redis (loading ARGV[1] if given).
local function ensure_loaded()
  if redis.call('EXISTS', K_META, K_SEATS, K_SOLD) == 3 then return true end
  if ARGV[1] ~= '' then load_inventory(ARGV[1]) end
  return redis.call('EXISTS', K_META, K_SEATS, K_SOLD) == 3
end

-- The reply that makes Python read the inventory from SQL and call again with it.
local function need_inventory()
  return cjson.encode({need = redis.call('GET', K_GEN) or '0'})
end

local function show_closed()
  local meta = redis.call('HMGET', K_META, 'starts_ms', 'on_sale')
  return meta[2] ~= '1' or NOW >= tonumber(meta[1])
end

-- The on-sale gate (README: "On-sale queue"): nobody holds seats before the show's on_sale_ms; from then,
-- while its queue runs (phase neither "done" nor "sold_out"), only a user whose turn window is open.
-- Returns the refusal, or nil. k_state, k_turns: the queue's sq_state HASH and sq_turns ZSET.
local function sale_gate(user, k_state, k_turns)
  local meta = redis.call('HMGET', K_META, 'on_sale_ms', 'queued')
  if NOW < tonumber(meta[1] or '0') then return 'not_on_sale_yet' end
  if meta[2] ~= '1' then return nil end
  local phase = redis.call('HGET', k_state, 'phase')
  if phase == 'done' or phase == 'sold_out' then return nil end
  if tonumber(redis.call('ZSCORE', k_turns, user) or '0') > NOW then return nil end
  return 'not_your_turn'
end

local function split(csv)
  local list = {}
  for item in string.gmatch(csv, '[^,]+') do list[#list + 1] = item end
  return list
end

local function read_hold(token)
  local rec = redis.call('HGET', K_HOLDS, token)
  if not rec then return nil end
  local user, exp, offered, seats = string.match(rec, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return {token = token, user = user, exp = tonumber(exp), offered = tonumber(offered), seats = split(seats)}
end

-- Store a hold: its record, its seats, its user's pointer and its expiry entry.
local function write_hold(token, user, exp, offered, seats)
  redis.call('HSET', K_HOLDS, token, user .. '|' .. ms(exp) .. '|' .. offered .. '|' .. table.concat(seats, ','))
  local pairs_ = {}
  for _, s in ipairs(seats) do
    pairs_[#pairs_ + 1] = s
    pairs_[#pairs_ + 1] = token
  end
  redis.call('HSET', K_SEAT_HOLDS, unpack(pairs_))
  redis.call('HSET', K_USER_HOLDS, user, token)
  redis.call('ZADD', K_EXPIRY, exp, token)
end

-- Forget a hold entirely; returns the seats it still occupied (now neither held nor handed on).
local function drop_hold(h)
  redis.call('HDEL', K_HOLDS, h.token)
  redis.call('ZREM', K_EXPIRY, h.token)
  if redis.call('HGET', K_USER_HOLDS, h.user) == h.token then redis.call('HDEL', K_USER_HOLDS, h.user) end
  local freed = {}
  for _, s in ipairs(h.seats) do
    if redis.call('HGET', K_SEAT_HOLDS, s) == h.token then
      redis.call('HDEL', K_SEAT_HOLDS, s)
      freed[#freed + 1] = s
    end
  end
  return freed
end

-- Seats nobody holds any more: while anyone waits they are reserved for the waitlist, else public.
-- Returns true when the reserved pool changed (Python must then run the waitlist's offer step).
local function free_seats(seats)
  if #seats == 0 or redis.call('ZCARD', K_QUEUE) == 0 then return false end
  local kept = {}
  for _, s in ipairs(seats) do
    if redis.call('SISMEMBER', K_SOLD, s) == 0 then kept[#kept + 1] = s end
  end
  if #kept == 0 then return false end
  sadd_all(K_RESERVED, kept)
  -- The pool lives as long as the queue does (join_waitlist gives the queue its expiry).
  local ttl = redis.call('PTTL', K_QUEUE)
  if ttl > 0 then redis.call('PEXPIRE', K_RESERVED, ttl) end
  redis.call('INCR', K_VERSION)
  return true
end

-- After waiters left the queue: with nobody waiting, reserved seats go back to the public.
local function queue_changed()
  if redis.call('ZCARD', K_QUEUE) == 0 then redis.call('DEL', K_RESERVED, K_PASSED) end
  redis.call('INCR', K_VERSION)
end

-- Remove a waiter from the queue; true if they were in it.
local function leave_queue(user)
  if redis.call('ZREM', K_QUEUE, user) == 0 then return false end
  redis.call('HDEL', K_REQUESTS, user)
  redis.call('HDEL', K_PASSED, user)
  queue_changed()
  return true
end

-- Retire an expired hold as the sweeper would; appends {user, offered, seats} to `expired`.
-- Returns true when its seats went to the waitlist's pool.
local function retire(h, expired)
  local freed = drop_hold(h)
  expired[#expired + 1] = {h.user, h.offered, h.seats}
  return free_seats(freed)
end

-- The ms the sweeper's global index must hold for this show before adding an entry expiring at
-- `exp`, or false when the index already covers it. Call before ZADD-ing the new entry.
local function due_hint(exp)
  local first = redis.call('ZRANGE', K_EXPIRY, 0, 0, 'WITHSCORES')
  if #first == 0 then return exp end
  local earliest = tonumber(first[2])
  if exp < earliest then return exp end
  if earliest <= NOW - OVERDUE_MS then return earliest end
  return false
end

-- A user's hold attempts in the current rate-limit window live in their counter `key` (per show, in the
-- show's slot). Whether they have used up `limit` of them:
local function out_of_attempts(key, limit)
  return tonumber(redis.call('GET', key) or '0') >= tonumber(limit)
end

-- One more attempt counted; the first of a window starts it, lasting window_ms.
local function count_attempt(key, window_ms)
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, window_ms) end
end

-- Set a field of the show's meta, only while the meta exists (with the inventory loaded): a meta made
-- by this alone would pass for a loaded one.
local function note_meta(field, value)
  if redis.call('EXISTS', K_META) == 1 then redis.call('HSET', K_META, field, value) end
end

-- The ms the reminders' global index must hold for this show before adding an entry expiring at `exp`,
-- or false when it already covers its reminder (or the hold is too short for one). The show's meta
-- keeps the time it is registered at (`remind_at`, cleared by remind_take.lua when none is left).
local function remind_hint(exp)
  local at = exp - REMIND_LEAD_MS
  if at <= NOW then return false end
  local registered = tonumber(redis.call('HGET', K_META, 'remind_at') or '')
  if registered and registered <= at and registered > NOW - OVERDUE_MS then return false end
  note_meta('remind_at', ms(at))
  return at
end

-- The seats of the live hold holding `seat`, as the hold, or nil (free, dangling or expired).
local function live_holder(seat)
  local token = redis.call('HGET', K_SEAT_HOLDS, seat)
  if not token then return nil end
  local h = read_hold(token)
  if h and h.exp > NOW then return h end
  return nil
end

-- A set's members without its SENTINEL (K_SEATS, K_SOLD).
local function members(key)
  local found = {}
  for _, s in ipairs(redis.call('SMEMBERS', key)) do
    if s ~= SENTINEL then found[#found + 1] = s end
  end
  return found
end

-- Every seat of a live hold, as {seat, hold}: each hold is read once however many seats it has.
local function live_held_seats()
  local held, holds = {}, {}
  local mapping = redis.call('HGETALL', K_SEAT_HOLDS)
  for i = 1, #mapping, 2 do
    local token = mapping[i + 1]
    if holds[token] == nil then
      local h = read_hold(token)
      holds[token] = (h and h.exp > NOW) and h or false
    end
    if holds[token] then held[#held + 1] = {mapping[i], holds[token]} end
  end
  return held
end

-- ---- end of prelude ----
