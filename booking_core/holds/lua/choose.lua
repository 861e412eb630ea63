-- choose(KEYS = show keys 1..14 + [15 attempts counter of this user, 16 hold_since of this user],
--        ARGV = [inventory, now_ms, user, token, hold_ms, max_seats, attempts_limit, window_ms,
--                life_ms, pause_ms, seat...])  -- exactly hold.lua's
-- A Mini App tap, in one step: the user's whole selection held by the hold script (`run_hold`, so every
-- rule of a hold applies and a refusal keeps the old selection). An empty selection lets the user's
-- seats go (`run_release`): a plain hold is released, a waitlist offer declined (its seats pass to the
-- next waiter); nothing happens when they hold none. The seat map is not read: the page paints its own
-- seats from the answer and learns everyone else's from its polls (a 300-seat map costs Redis more than
-- the hold itself).
-- Reply (JSON): {need=gen} | {hold = <hold.lua's reply>} | {released = <release.lua's reply>}
if not ensure_loaded() then return need_inventory() end
local user = ARGV[3]
if #ARGV > 10 then
  return cjson.encode({hold = cjson.decode(run_hold(ARGV))})
end
local token = redis.call('HGET', K_USER_HOLDS, user)
local current = token and read_hold(token)
local release_argv = {ARGV[1], ARGV[2], 'token', token or ''}
if current and current.offered > 0 then release_argv = {ARGV[1], ARGV[2], 'decline', user} end
return cjson.encode({released = cjson.decode(run_release(release_argv))})
