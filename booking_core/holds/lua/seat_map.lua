-- seat_map(KEYS = show keys 1..14, ARGV = [inventory, now_ms, user or ""]) -- read only
-- Everything a seat map needs in one round trip: the hall's seats, sold seats, seats of live holds
-- (with holder and whether it is a waitlist offer), seats reserved for the waitlist, how many wait,
-- and the user's own live hold.
-- Reply (JSON): {need=gen} | {closed, seats=[...], sold=[...], held=[[seat, user, offered]...],
--   reserved=[...], waiting=n, mine=false|{token, record}}
if not ensure_loaded() then return need_inventory() end
local held = {}
for _, pair in ipairs(live_held_seats()) do
  held[#held + 1] = {pair[1], pair[2].user, pair[2].offered}
end
local mine = false
if ARGV[3] ~= '' then
  local token = redis.call('HGET', K_USER_HOLDS, ARGV[3])
  local h = token and read_hold(token)
  if h and h.exp > NOW then mine = {token = token, record = redis.call('HGET', K_HOLDS, token)} end
end
return cjson.encode({closed = show_closed(), sold = members(K_SOLD), held = held, mine = mine,
  seats = members(K_SEATS),
  reserved = redis.call('SMEMBERS', K_RESERVED), waiting = redis.call('ZCARD', K_QUEUE)})
