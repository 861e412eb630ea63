-- sale_queue_due(KEYS = show keys 1..14 + [15 sq_state, 16 sq_turns, 17 sq_line, 18 sq_party, 19 sq_admitted,
--                       20 sq_told], ARGV = [inventory, now_ms, refresh_ms, limit])
-- Up to `limit` queued users whose place on screen is due a refresh, each rescheduled refresh_ms later
-- in the same step, so that of any number of workers exactly one refreshes each (and at most once per
-- refresh_ms). Users no longer in line are dropped from sq_told. Only an open queue has places to tell.
-- Reply (JSON): {need=gen} | {due=[[user, position]...], served=n, opened_ms=ms|false, open_turns=n}
if not ensure_loaded() then return need_inventory() end
local K_STATE, K_TURNS, K_LINE, K_TOLD = KEYS[15], KEYS[16], KEYS[17], KEYS[20]
local refresh_ms, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', K_STATE, 'phase', 'served', 'opened_ms')
local due = {}
if state[1] == 'open' then
  for _, user in ipairs(redis.call('ZRANGEBYSCORE', K_TOLD, '-inf', ARGV[2], 'LIMIT', 0, limit)) do
    local rank = redis.call('ZRANK', K_LINE, user)
    if rank then
      redis.call('ZADD', K_TOLD, NOW + refresh_ms, user)
      due[#due + 1] = {user, rank + 1}
    else
      redis.call('ZREM', K_TOLD, user)
    end
  end
end
return cjson.encode({due = due, served = tonumber(state[2] or '0'), opened_ms = state[3] or false,
  open_turns = redis.call('ZCARD', K_TURNS)})
