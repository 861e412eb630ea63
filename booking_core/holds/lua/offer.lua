-- offer(KEYS = show keys 1..14,
--       ARGV = [inventory, now_ms, version, offer_ms, n, (user, token, "s1,s2") * n, "public seats csv"])
-- Applies one run of the waitlist's offer step, planned in Python from a sweep snapshot taken at
-- wl_version = version: each listed waiter leaves the queue with a hold in their name (an offer,
-- expiring at now_ms + offer_ms) on the listed seats; the listed reserved seats go back to the public.
-- Refused as a whole ({conflict=true}) when the queue or the reserved pool changed since the snapshot,
-- or when a seat is no longer available, so an offer never skips an earlier waiter the new state serves.
-- Waiters still queued ahead of a served waiter get their "passed over" count raised.
-- Reply (JSON): {need=gen} | {conflict=true} | {offers=[[user, token, exp_ms]...], due=ms|false,
--   remind=ms|false} (the global indexes' hints, _lib.lua)
if not ensure_loaded() then return need_inventory() end
if (redis.call('GET', K_VERSION) or '0') ~= ARGV[3] then return cjson.encode({conflict = true}) end
local offer_ms, n = tonumber(ARGV[4]), tonumber(ARGV[5])
local offers = {}
for i = 0, n - 1 do
  offers[#offers + 1] = {user = ARGV[6 + 3 * i], token = ARGV[7 + 3 * i], seats = split(ARGV[8 + 3 * i])}
end
local public = split(ARGV[6 + 3 * n])

for _, o in ipairs(offers) do
  if not redis.call('ZSCORE', K_QUEUE, o.user) then return cjson.encode({conflict = true}) end
  for _, s in ipairs(o.seats) do
    local ok = redis.call('SISMEMBER', K_SEATS, s) == 1 and redis.call('SISMEMBER', K_SOLD, s) == 0
      and not redis.call('HGET', K_SEAT_HOLDS, s)
    if not ok then return cjson.encode({conflict = true}) end
  end
end

local exp = NOW + offer_ms
local due, remind = false, false
local served = {}
for _, o in ipairs(offers) do served[o.user] = true end
for _, o in ipairs(offers) do
  local arrival = redis.call('ZSCORE', K_QUEUE, o.user)
  for _, earlier in ipairs(redis.call('ZRANGEBYSCORE', K_QUEUE, '-inf', '(' .. arrival)) do
    if not served[earlier] then redis.call('HINCRBY', K_PASSED, earlier, 1) end
  end
end
local ttl = redis.call('PTTL', K_QUEUE)
if ttl > 0 and redis.call('EXISTS', K_PASSED) == 1 then redis.call('PEXPIRE', K_PASSED, ttl) end
local made = {}
for _, o in ipairs(offers) do
  redis.call('ZREM', K_QUEUE, o.user)
  redis.call('HDEL', K_REQUESTS, o.user)
  redis.call('HDEL', K_PASSED, o.user)
  redis.call('SREM', K_RESERVED, unpack(o.seats))
  due = due or due_hint(exp)
  remind = remind or remind_hint(exp)
  write_hold(o.token, o.user, exp, #o.seats, o.seats)
  made[#made + 1] = {o.user, o.token, ms(exp)}
end
if #public > 0 then redis.call('SREM', K_RESERVED, unpack(public)) end
queue_changed()
return cjson.encode({offers = made, due = due and ms(due) or false, remind = remind and ms(remind) or false})
