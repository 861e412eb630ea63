-- due_register(KEYS = [due ZSET show -> ms], ARGV = [show, due_ms])
-- Global (tag {sweep}), no show keys. A show got a hold expiring at due_ms that the index does not yet
-- cover: keep the earlier of the two times (ZADD LT adds the show when absent). Reply: 1.
redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1])
return 1
