-- seat_map(KEYS = show keys 1..14, ARGV = [inventory, now_ms, user or ""]) -- read only
-- Everything a seat map needs in one round trip: the hall's seats, sold seats, seats of live holds
-- (with holder and whether it is a waitlist offer), seats reserved for the waitlist, how many wait,
-- and the user's own live hold.
-- Reply (JSON): {need=gen} | {closed, seats=[...], sold=[...], held=[[seat, user, offered]...],
--   reserved=[...], waiting=n, mine=false|{token, record}}
if not ensure_loaded() then return need_inventory() end
local function hall_seats()
  local seats = {}
  for _, s in ipairs(redis.call('SMEMBERS', K_SEATS)) do
    if s ~= SENTINEL then seats[#seats + 1] = s end
  end
  return seats
end
local sold = {}
for _, s in ipairs(redis.call('SMEMBERS', K_SOLD)) do
  if s ~= SENTINEL then sold[#sold + 1] = s end
end
local held, holds = {}, {}
local mapping = redis.call('HGETALL', K_SEAT_HOLDS)
for i = 1, #mapping, 2 do
  local token = mapping[i + 1]
  if holds[token] == nil then
    local h = read_hold(token)
    holds[token] = (h and h.exp > NOW) and h or false
  end
  local h = holds[token]
  if h then held[#held + 1] = {mapping[i], h.user, h.offered} end
end
local mine = false
if ARGV[3] ~= '' then
  local token = redis.call('HGET', K_USER_HOLDS, ARGV[3])
  local h = token and read_hold(token)
  if h and h.exp > NOW then mine = {token = token, record = redis.call('HGET', K_HOLDS, token)} end
end
return cjson.encode({closed = show_closed(), sold = sold, held = held, mine = mine, seats = hall_seats(),
  reserved = redis.call('SMEMBERS', K_RESERVED), waiting = redis.call('ZCARD', K_QUEUE)})
