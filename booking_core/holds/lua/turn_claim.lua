-- turn_claim(KEYS = [the user's sale_turns ZSET, tag {user:<id>}], ARGV = [now_ms, show, ends_ms, cap])
-- Claims an on-sale turn for one user in one show before the show's admit script runs: at most `cap`
-- shows where the user's turn window is open at once (ended windows are dropped first). A claim already
-- held for this show counts as granted. Reply: 1 granted, 0 refused (the user keeps their place).
local key = KEYS[1]
local now, show, ends, cap = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if not redis.call('ZSCORE', key, show) and redis.call('ZCARD', key) >= cap then return 0 end
redis.call('ZADD', key, ends, show)
redis.call('PEXPIREAT', key, redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
return 1
