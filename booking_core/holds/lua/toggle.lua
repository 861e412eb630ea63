-- toggle(KEYS = show keys 1..14 + [15 attempts counter of this user, 16 hold_since of this user],
--        ARGV = [inventory, now_ms, seat, user, token, hold_ms, max_seats, attempts_limit, window_ms,
--                life_ms, pause_ms])
-- A tap on one seat of the map, in one step: the user's live selection with `seat` added, or taken out
-- if it was in it, is held by the hold script (`run_hold`: hold.lua called with ARGV[4..] and the new
-- selection, so every rule of a hold applies and a refusal keeps the old selection); taking out the
-- last seat releases the hold instead (`run_release`, release.lua). Either way the tap is one of the
-- user's hold attempts (KEYS[15]; over the limit: refused `rate_limited`, nothing changed).
-- Reply (JSON): {need=gen} | {hold = <hold.lua's reply>, seats=[the new selection]}
--             | {released = <release.lua's reply>, seats={}}; both with map = <seat_map.lua's reply>
if not ensure_loaded() then return need_inventory() end
local seat, user = ARGV[3], ARGV[4]
local token = redis.call('HGET', K_USER_HOLDS, user)
local current = token and read_hold(token)
local seats, had = {}, false
if current and current.exp > NOW then
  for _, s in ipairs(current.seats) do
    if s == seat then had = true else seats[#seats + 1] = s end
  end
end
if not had then seats[#seats + 1] = seat end

local reply
-- Letting the last seat go counts as an attempt too (hold.lua counts the rest): every tap does.
if #seats == 0 and out_of_attempts(KEYS[15], ARGV[8]) then
  reply = {hold = {refused = 'rate_limited', seats = {}, expired = {}, settle = false}}
  seats = current.seats
elseif #seats == 0 then
  count_attempt(KEYS[15], ARGV[9])
  reply = {released = cjson.decode(run_release({ARGV[1], ARGV[2], 'token', token}))}
else
  local hold_argv = {ARGV[1], ARGV[2]}
  for i = 4, #ARGV do hold_argv[#hold_argv + 1] = ARGV[i] end
  for _, s in ipairs(seats) do hold_argv[#hold_argv + 1] = s end
  reply = {hold = cjson.decode(run_hold(hold_argv))}
end
reply.seats = seats
reply.map = cjson.decode(run_seat_map({ARGV[1], ARGV[2], user}))
return cjson.encode(reply)
