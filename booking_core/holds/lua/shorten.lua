-- shorten(KEYS = show keys 1..14, ARGV = [inventory, now_ms, token, end_ms])
-- The live hold `token` ends by end_ms at the latest (its connected theatre granted a shorter lock);
-- a hold already ending sooner, or gone, is left as it is.
-- Reply (JSON): {exp=ms|false, due=ms|false, remind=ms|false}: the hold's end, and the global indexes'
-- hints (_lib.lua).
local token, end_ms = ARGV[3], tonumber(ARGV[4])
local h = read_hold(token)
if not h or h.exp <= NOW then return cjson.encode({exp = false, due = false}) end
if end_ms >= h.exp then return cjson.encode({exp = h.exp, due = false}) end
local due, remind = due_hint(end_ms), remind_hint(end_ms)
redis.call('HSET', K_HOLDS, token, h.user .. '|' .. ms(end_ms) .. '|' .. h.offered .. '|' .. table.concat(h.seats, ','))
redis.call('ZADD', K_EXPIRY, end_ms, token)
return cjson.encode({exp = end_ms, due = due, remind = remind and ms(remind) or false})
