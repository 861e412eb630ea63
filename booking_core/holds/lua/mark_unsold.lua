-- mark_unsold(KEYS = show keys 1..14, ARGV = [inventory, now_ms, seat...])
-- Called after the SQL commit that cancelled the sale of `seat...`: out of the sold set (if it exists;
-- sold_gen is bumped either way, refusing any rebuild that read SQL before the commit), then freed:
-- to the waitlist's pool while anyone waits, else to the public. A seat somebody holds is left alone.
-- Reply (JSON): {settle=bool}
local seats = {}
for i = 3, #ARGV do seats[#seats + 1] = ARGV[i] end
redis.call('INCR', K_GEN)
redis.call('PEXPIRE', K_GEN, GEN_TTL_MS)
if #seats == 0 then return cjson.encode({settle = false}) end
if redis.call('EXISTS', K_SOLD) == 1 then redis.call('SREM', K_SOLD, unpack(seats)) end
local free = {}
for _, s in ipairs(seats) do
  if not redis.call('HGET', K_SEAT_HOLDS, s) then free[#free + 1] = s end
end
return cjson.encode({settle = free_seats(free)})
