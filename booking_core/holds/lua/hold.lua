-- hold(KEYS = show keys 1..14 + [15 attempts counter of this user, 16 hold_since of this user, ...,
--       last but one: the on-sale queue's sq_state, last: its sq_turns (redis_keys.SALE_QUEUE_KEYS)],
--      ARGV = [inventory, now_ms, user, token, hold_ms, max_seats, attempts_limit, window_ms,
--              life_ms, pause_ms, seat...])
-- All or nothing: the user's selection for the show becomes exactly `seat...` under a new token,
-- replacing their previous hold atomically (seats dropped from it are freed). Checks, in order:
-- rate limit (attempts counted per window_ms), show open, seat count (an offer holder may re-pick at
-- most the number of seats offered), every seat in the hall, not sold, not held by someone else, not
-- reserved for the waitlist (unless the user holds an offer). Expired holds met on the way are retired.
-- Lifetime: the user's plain holds of the show end at most life_ms after their first seat (KEYS[16]
-- keeps that time, for life_ms + pause_ms); re-holding never stretches them past it, and from then
-- until the pause is over the user is refused `hold_limit`. life_ms 0: no limit (a paid booking).
-- On-sale gate (sale_gate in _lib.lua): before the show's on-sale time, and while its on-sale queue runs
-- to users without an open turn, a new selection is refused; a user already holding seats may re-pick
-- them, and a paid booking (life_ms 0) is never gated.
-- Reply (JSON): {need=gen} | {refused=reason, seats=[...], expired, settle}
--             | {exp=ms, offered=n, due=ms|false, remind=ms|false, settle=bool, first=bool,
--                expired=[[user, offered, seats]...]}
-- `first`: the user held no seats of the show before this call; `due`, `remind`: the global indexes'
-- hints (_lib.lua due_hint, remind_hint).
if not ensure_loaded() then return need_inventory() end
local user, token = ARGV[3], ARGV[4]
local hold_ms, max_seats = tonumber(ARGV[5]), tonumber(ARGV[6])
local limit, window_ms = tonumber(ARGV[7]), tonumber(ARGV[8])
local life_ms, pause_ms = tonumber(ARGV[9]), tonumber(ARGV[10])
local seats = {}
for i = 11, #ARGV do seats[#seats + 1] = ARGV[i] end

local expired, settle = {}, false
local function refuse(reason, which)
  return cjson.encode({refused = reason, seats = which or {}, expired = expired, settle = settle})
end

if out_of_attempts(KEYS[15], limit) then return refuse('rate_limited') end
count_attempt(KEYS[15], window_ms)
if show_closed() then return refuse('show_started') end

-- The user's current hold; their own expired one is retired silently (they are acting right now).
local current = nil
local cur_token = redis.call('HGET', K_USER_HOLDS, user)
if cur_token then
  current = read_hold(cur_token)
  if not current then
    redis.call('HDEL', K_USER_HOLDS, user)
  elseif current.exp <= NOW then
    settle = retire(current, {}) or settle
    current = nil
  end
end
local offered = current and current.offered or 0
if life_ms > 0 and not current then
  local gate = sale_gate(user, KEYS[#KEYS - 1], KEYS[#KEYS])
  if gate then return refuse(gate) end
end
if #seats > (offered > 0 and offered or max_seats) then return refuse('too_many_seats') end

-- The lifetime of the user's plain holds of this show (an offer keeps its own deadline).
local life_end, since_new = nil, false
if life_ms > 0 and offered == 0 then
  local since = tonumber(redis.call('GET', KEYS[16]) or '')
  if since and NOW >= since + life_ms + pause_ms then since = nil end  -- the pause is over
  if since and NOW >= since + life_ms then return refuse('hold_limit') end
  if not since then since, since_new = NOW, true end
  life_end = since + life_ms
end

local mine = {}
if current then for _, s in ipairs(current.seats) do mine[s] = true end end
local unknown, sold, taken, reserved = {}, {}, {}, {}
for _, s in ipairs(seats) do
  if redis.call('SISMEMBER', K_SEATS, s) == 0 or s == SENTINEL then
    unknown[#unknown + 1] = s
  elseif redis.call('SISMEMBER', K_SOLD, s) == 1 then
    sold[#sold + 1] = s
  elseif not mine[s] then
    local t = redis.call('HGET', K_SEAT_HOLDS, s)
    local h = t and read_hold(t)
    if t and not h then redis.call('HDEL', K_SEAT_HOLDS, s) end
    if h and h.exp <= NOW then
      settle = retire(h, expired) or settle
      h = nil
    end
    if h then
      taken[#taken + 1] = s
    elseif offered == 0 and redis.call('SISMEMBER', K_RESERVED, s) == 1 then
      reserved[#reserved + 1] = s
    end
  end
end
if #unknown > 0 then return refuse('unknown_seat', unknown) end
if #sold > 0 then return refuse('seat_sold', sold) end
if #taken > 0 then return refuse('seat_taken', taken) end
if #reserved > 0 then return refuse('waitlist_first', reserved) end

-- Every check passed: write.
local freed = {}
if current then
  local keep = {}
  for _, s in ipairs(seats) do keep[s] = true end
  redis.call('HDEL', K_HOLDS, current.token)
  redis.call('ZREM', K_EXPIRY, current.token)
  for _, s in ipairs(current.seats) do
    if not keep[s] and redis.call('HGET', K_SEAT_HOLDS, s) == current.token then
      redis.call('HDEL', K_SEAT_HOLDS, s)
      freed[#freed + 1] = s
    end
  end
end
-- An offer keeps its own deadline when re-picked; a plain hold starts afresh, within its lifetime.
local exp = (offered > 0) and current.exp or (NOW + hold_ms)
if life_end and exp > life_end then exp = life_end end
if since_new then redis.call('SET', KEYS[16], ms(NOW), 'PX', life_ms + pause_ms) end
local due, remind = due_hint(exp), remind_hint(exp)
write_hold(token, user, exp, offered, seats)
-- An offer holder may have re-picked seats from the waitlist's pool: they are no longer in it.
if offered > 0 and redis.call('SREM', K_RESERVED, unpack(seats)) > 0 then redis.call('INCR', K_VERSION) end
settle = free_seats(freed) or settle
-- Holding seats yourself means you are no longer waiting for them.
settle = leave_queue(user) or settle
return cjson.encode({exp = ms(exp), offered = offered, due = due and ms(due) or false,
  remind = remind and ms(remind) or false, settle = settle, first = current == nil, expired = expired})
