-- held_shows(KEYS = [shows ZSET show id -> ms until which the user may hold seats in it],
--            ARGV = [now_ms, show, until_ms, max_shows])
-- Global per user (tag {user:<id>}, booking_core/redis_keys.py), no show keys: run after a user's first
-- hold in a show. Entries past their time are dropped; the show is added (or its time moved on) unless
-- the user already holds seats in max_shows other shows. Times are integer milliseconds.
-- Reply: 1 added, 0 refused (too many shows).
local key, now, show = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local until_ms, max_shows = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if not redis.call('ZSCORE', key, show) and redis.call('ZCARD', key) >= max_shows then return 0 end
redis.call('ZADD', key, until_ms, show)
redis.call('PEXPIREAT', key, redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
return 1
