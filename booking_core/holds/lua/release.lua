-- release(KEYS = show keys 1..14, ARGV = [inventory, now_ms, mode, id])
-- mode "token": give up the hold `id` (live or expired, not yet swept).
-- mode "decline": the user `id` turns down their waitlist offer (only an offer is declined).
-- The freed seats go to the waitlist's pool while anyone waits, else back to the public.
-- Reply (JSON): {seats=[...], user=id|false, settle=bool}
local mode, id = ARGV[3], ARGV[4]
local token = id
if mode == 'decline' then
  token = redis.call('HGET', K_USER_HOLDS, id)
end
local h = token and read_hold(token)
if not h or (mode == 'decline' and h.offered == 0) then
  return cjson.encode({seats = {}, user = false, settle = false})
end
local freed = drop_hold(h)
local settle = free_seats(freed)
return cjson.encode({seats = freed, user = h.user, settle = settle})
