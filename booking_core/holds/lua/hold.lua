-- hold(KEYS = show keys 1..14 + [15 attempts counter of this user],
--      ARGV = [inventory, now_ms, user, token, hold_ms, max_seats, attempts_limit, window_ms, seat...])
-- All or nothing: the user's selection for the show becomes exactly `seat...` under a new token,
-- replacing their previous hold atomically (seats dropped from it are freed). Checks, in order:
-- rate limit (attempts counted per window_ms), show open, seat count (an offer holder may re-pick at
-- most the number of seats offered), every seat in the hall, not sold, not held by someone else, not
-- reserved for the waitlist (unless the user holds an offer). Expired holds met on the way are retired.
-- Reply (JSON): {need=gen} | {refused=reason, seats=[...], expired, settle}
--             | {exp=ms, offered=n, due=ms|false, settle=bool, expired=[[user, offered, seats]...]}
if not ensure_loaded() then return need_inventory() end
local user, token = ARGV[3], ARGV[4]
local hold_ms, max_seats = tonumber(ARGV[5]), tonumber(ARGV[6])
local limit, window_ms = tonumber(ARGV[7]), tonumber(ARGV[8])
local seats = {}
for i = 9, #ARGV do seats[#seats + 1] = ARGV[i] end

local expired, settle = {}, false
local function refuse(reason, which)
  return cjson.encode({refused = reason, seats = which or {}, expired = expired, settle = settle})
end

local attempts = KEYS[15]
if tonumber(redis.call('GET', attempts) or '0') >= limit then return refuse('rate_limited') end
if redis.call('INCR', attempts) == 1 then redis.call('PEXPIRE', attempts, window_ms) end
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
if #seats > (offered > 0 and offered or max_seats) then return refuse('too_many_seats') end

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
-- An offer keeps its own deadline when re-picked; a plain hold starts afresh.
local exp = (offered > 0) and current.exp or (NOW + hold_ms)
local due = due_hint(exp)
write_hold(token, user, exp, offered, seats)
-- An offer holder may have re-picked seats from the waitlist's pool: they are no longer in it.
if offered > 0 and redis.call('SREM', K_RESERVED, unpack(seats)) > 0 then redis.call('INCR', K_VERSION) end
settle = free_seats(freed) or settle
-- Holding seats yourself means you are no longer waiting for them.
settle = leave_queue(user) or settle
return cjson.encode({exp = ms(exp), offered = offered, due = due and ms(due) or false, settle = settle,
  expired = expired})
