-- due_register(KEYS = [due ZSET show -> ms, remind ZSET show -> ms], ARGV = [show, due_ms or "", remind_ms or ""])
-- Global (tag {sweep}), no show keys. A show got a hold expiring at due_ms, or to be reminded of at
-- remind_ms, that the sweeper's (due) or the reminders' (remind) index does not yet cover: each keeps
-- the earlier of its two times (ZADD LT adds the show when absent). Reply: 1.
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1]) end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[1]) end
return 1
