-- sale_queue_join(KEYS = show keys 1..14 + [15 sq_state, 16 sq_turns, 17 sq_line, 18 sq_party, 19 sq_admitted,
--                        20 sq_told], ARGV = [inventory, now_ms, user, party, max_seats, refresh_ms])
-- Puts the user in the show's on-sale queue wanting `party` seats. One place per user: joining again
-- keeps the place (only the party size is updated). Before the queue opens, the place is an arrival
-- number: every pre-opening place is drawn at random when it opens (sale_queue_open.lua); after that,
-- a new arrival goes to the back. Arrivals after on_sale_ms but before the opening pass are marked late
-- (score LATE + arrival), so they follow the drawn ones in arrival order. Refused: the show has no queue,
-- is closed, the party is over max_seats, or the queue is over ("done": normal selling; "sold_out").
-- Reply (JSON): {need=gen} | {refused=reason} | {turn_ends=ms} (admitted already)
--             | {joined=true|false, opened=bool, position=n (after opening) | false, queued=n}
if not ensure_loaded() then return need_inventory() end
local K_STATE, K_TURNS, K_LINE, K_PARTY, K_ADMITTED = KEYS[15], KEYS[16], KEYS[17], KEYS[18], KEYS[19]
local LATE = 1e12
local user, party, max_seats = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local K_TOLD = KEYS[20]
local meta = redis.call('HMGET', K_META, 'queued', 'on_sale_ms')
if meta[1] ~= '1' then return cjson.encode({refused = 'no_queue'}) end
if show_closed() then return cjson.encode({refused = 'show_started'}) end
if party < 1 or party > max_seats then return cjson.encode({refused = 'too_many_seats'}) end
if redis.call('SISMEMBER', K_ADMITTED, user) == 1 then
  return cjson.encode({turn_ends = redis.call('ZSCORE', K_TURNS, user) or '0'})
end
local phase = redis.call('HGET', K_STATE, 'phase')
if phase == 'done' or phase == 'sold_out' then return cjson.encode({refused = phase}) end

local joined = false
if not redis.call('ZSCORE', K_LINE, user) then
  joined = true
  local seq = redis.call('HINCRBY', K_STATE, 'seq', 1)
  local score
  if phase == 'open' then
    score = redis.call('HINCRBY', K_STATE, 'last', 1)
  elseif NOW >= tonumber(meta[2]) then
    score = LATE + seq
  else
    score = seq
  end
  redis.call('ZADD', K_LINE, score, user)
  -- Their place on screen is next refreshed refresh_ms from now (sale_queue_due.lua).
  redis.call('ZADD', K_TOLD, NOW + tonumber(ARGV[6]), user)
  -- The queue outlives the show's cached inventory by a day, like the waitlist.
  local ttl = redis.call('PTTL', K_META)
  if ttl > 0 then
    for _, key in ipairs({K_STATE, K_TURNS, K_LINE, K_PARTY, K_ADMITTED, K_TOLD}) do
      redis.call('PEXPIRE', key, ttl + 86400000)
    end
  end
end
redis.call('HSET', K_PARTY, user, party)
local position = false
if phase == 'open' then position = redis.call('ZRANK', K_LINE, user) + 1 end
return cjson.encode({joined = joined, opened = phase == 'open', position = position,
  queued = redis.call('ZCARD', K_LINE)})
