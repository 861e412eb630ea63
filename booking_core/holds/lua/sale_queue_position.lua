-- sale_queue_position(KEYS = show keys 1..14 + [15 sq_state, 16 sq_turns, 17 sq_line, 18 sq_party, 19 sq_admitted],
--                     ARGV = [inventory, now_ms, user])
-- Where the user stands in the show's on-sale queue, with what an honest wait estimate needs.
-- Reply (JSON): {need=gen} | {phase=p|false, on_sale_ms, position=n|false (false before the draw or
--                when not queued), queued=bool, turn_ends=ms|false, admitted=bool, served=n, opened_ms,
--                open_turns=n, line=n}
if not ensure_loaded() then return need_inventory() end
local K_STATE, K_TURNS, K_LINE, K_ADMITTED = KEYS[15], KEYS[16], KEYS[17], KEYS[19]
local user = ARGV[3]
local state = redis.call('HMGET', K_STATE, 'phase', 'served', 'opened_ms')
local rank = redis.call('ZRANK', K_LINE, user)
return cjson.encode({
  phase = state[1] or false,
  on_sale_ms = redis.call('HGET', K_META, 'on_sale_ms') or '0',
  queued = rank ~= false,
  position = (state[1] == 'open' and rank) and rank + 1 or false,
  turn_ends = redis.call('ZSCORE', K_TURNS, user) or false,
  admitted = redis.call('SISMEMBER', K_ADMITTED, user) == 1,
  served = tonumber(state[2] or '0'),
  opened_ms = state[3] or false,
  open_turns = redis.call('ZCARD', K_TURNS),
  line = redis.call('ZCARD', K_LINE),
})
