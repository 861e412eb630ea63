-- mark_sold(KEYS = show keys 1..14, ARGV = [inventory, now_ms, token or "", seat...])
-- Called after the SQL commit that sold `seat...`. The seats enter the sold set if it exists (when it
-- does not, the next reader rebuilds it from SQL, which already has them); sold_gen is bumped so a
-- rebuild that read SQL before the commit is refused. The hold `token` is deleted without freeing the
-- sold seats; any seat of it that was not sold is freed. Sold seats leave the waitlist's pool.
-- settle = true asks Python to run the waitlist's offer step (whenever anyone waits).
-- Reply (JSON): {settle=bool}
local token = ARGV[3]
local seats = {}
for i = 4, #ARGV do seats[#seats + 1] = ARGV[i] end
redis.call('INCR', K_GEN)
redis.call('PEXPIRE', K_GEN, GEN_TTL_MS)
if redis.call('EXISTS', K_SOLD) == 1 and #seats > 0 then sadd_all(K_SOLD, seats) end
local settle = false
if #seats > 0 and redis.call('SREM', K_RESERVED, unpack(seats)) > 0 then
  redis.call('INCR', K_VERSION)
  settle = true
end
local h = token ~= '' and read_hold(token)
if h then
  local freed = drop_hold(h)
  local sold_now = {}
  for _, s in ipairs(seats) do sold_now[s] = true end
  local rest = {}
  for _, s in ipairs(freed) do
    if not sold_now[s] then rest[#rest + 1] = s end
  end
  settle = free_seats(rest) or settle
end
-- A newly sold seat can make reserved seats useless to every waiter: let the offer step look again.
settle = settle or redis.call('ZCARD', K_QUEUE) > 0
return cjson.encode({settle = settle})
