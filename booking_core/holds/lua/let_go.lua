-- let_go(KEYS = show keys 1..14, ARGV = [inventory, now_ms, user])
-- The user lets all their seats of the show go (their live hold or offer, as release.lua gives up a
-- hold: freed seats go to the waitlist first), and sees the map as it is afterwards, in one step.
-- Reply (JSON): {need=gen} | {released = <release.lua's reply> | false (they held none),
--                             map = <seat_map.lua's reply>}
if not ensure_loaded() then return need_inventory() end
local user = ARGV[3]
local token = redis.call('HGET', K_USER_HOLDS, user)
local h = token and read_hold(token)
local released = false
if h and h.exp > NOW then
  released = cjson.decode(run_release({ARGV[1], ARGV[2], 'token', token}))
end
return cjson.encode({released = released, map = cjson.decode(run_seat_map({ARGV[1], ARGV[2], user}))})
