-- leave_waitlist(KEYS = show keys 1..14, ARGV = [inventory, now_ms, user])
-- Takes the user off the show's waitlist; with nobody left waiting, reserved seats go public.
-- Reply (JSON): {left=bool, waiting=bool}
local left = leave_queue(ARGV[3])
return cjson.encode({left = left, waiting = redis.call('ZCARD', K_QUEUE) > 0})
