-- choose(KEYS = show keys 1..14 + [15 attempts counter of this user, 16 hold_since of this user],
--        ARGV = [inventory, now_ms, user, token, hold_ms, max_seats, attempts_limit, window_ms,
--                life_ms, pause_ms, seat...])  -- exactly hold.lua's
-- A Mini App tap, in one step: the user's whole selection held by the hold script (`run_hold`, so every
-- rule of a hold applies and a refusal keeps the old selection), answered with the seat map as the
-- user sees it afterwards (`run_seat_map`), so the page is redrawn without another round trip.
-- Reply (JSON): {need=gen} | {hold = <hold.lua's reply>, map = <seat_map.lua's reply>}
if not ensure_loaded() then return need_inventory() end
local hold_reply = cjson.decode(run_hold(ARGV))
local seat_map = cjson.decode(run_seat_map({ARGV[1], ARGV[2], ARGV[3]}))
return cjson.encode({hold = hold_reply, map = seat_map})
