-- forget_sold(KEYS = show keys 1..14, ARGV = [inventory, now_ms])
-- Drops the sold-seat cache so the next reader rebuilds it from SQL, refusing rebuilds already under way.
-- Reply (JSON): {}
redis.call('DEL', K_SOLD)
redis.call('INCR', K_GEN)
redis.call('PEXPIRE', K_GEN, GEN_TTL_MS)
return cjson.encode({})
