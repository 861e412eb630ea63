-- due_pop(KEYS = [due ZSET show -> ms, running ZSET show -> lease end ms], ARGV = [now_ms, limit, lease_ms])
-- Global (tag {sweep}), no show keys. Hands out up to `limit` shows whose holds are due, moving them
-- from `due` to `running` for lease_ms so concurrent sweepers split the work; a show whose sweeper
-- died past its lease goes back to `due` first. Reply: array of show ids.
local now, limit, lease_ms = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for _, show in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], show)
  redis.call('ZADD', KEYS[1], 'LT', now, show)
end
local shows = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)
for _, show in ipairs(shows) do
  redis.call('ZREM', KEYS[1], show)
  redis.call('ZADD', KEYS[2], now + lease_ms, show)
end
return shows
