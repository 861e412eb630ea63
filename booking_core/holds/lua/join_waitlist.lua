-- join_waitlist(KEYS = show keys 1..14 + [15 the on-sale queue's sq_state, 16 its sq_turns],
--               ARGV = [inventory, now_ms, user, count, together, max_seats])
-- Puts the user at the back of the show's waitlist asking for `count` seats (`together` = "1":
-- side by side). Joining again with the same request keeps the place; with another request it
-- moves the user to the back. Refused while the show is closed, over max_seats, or while the user
-- holds seats of this show (a plain hold: "holding"; an offer: "offered"), and by the on-sale gate
-- (sale_gate in _lib.lua: before on_sale_at, or while the show's queue runs to someone without a turn),
-- so that the waitlist is no way around the queue.
-- Reply (JSON): {need=gen} | {refused=reason} | {position=n, ahead=n}
if not ensure_loaded() then return need_inventory() end
local user, count, together, max_seats = ARGV[3], tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
if show_closed() then return cjson.encode({refused = 'show_started'}) end
if count > max_seats or count < 1 then return cjson.encode({refused = 'too_many_seats'}) end
local gate = sale_gate(user, KEYS[15], KEYS[16])
if gate then return cjson.encode({refused = gate}) end
local token = redis.call('HGET', K_USER_HOLDS, user)
local h = token and read_hold(token)
if h and h.exp > NOW then
  return cjson.encode({refused = (h.offered > 0) and 'offered' or 'holding'})
end
local request = count .. '|' .. together
if redis.call('HGET', K_REQUESTS, user) ~= request then
  redis.call('ZADD', K_QUEUE, redis.call('INCR', K_SEQ), user)
  redis.call('HSET', K_REQUESTS, user, request)
  redis.call('HDEL', K_PASSED, user)
  redis.call('INCR', K_VERSION)
  -- Waitlist keys outlive no show by long: they go a day after the hall's inventory would.
  local ttl = redis.call('PTTL', K_META)
  for _, key in ipairs({K_QUEUE, K_REQUESTS, K_PASSED, K_RESERVED, K_SEQ, K_VERSION}) do
    if ttl > 0 then redis.call('PEXPIRE', key, ttl + 86400000) end
  end
end
local rank = redis.call('ZRANK', K_QUEUE, user)
return cjson.encode({position = rank + 1, ahead = rank})
