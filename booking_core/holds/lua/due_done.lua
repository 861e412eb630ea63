-- due_done(KEYS = [due, running] as in due_pop, ARGV = [show, next_ms or ""])
-- A sweeper finished a show: off `running`, and back into `due` at the show's next expiry, keeping
-- an earlier time a hold registered meanwhile (ZADD LT). Reply: 1.
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[1]) end
return 1
