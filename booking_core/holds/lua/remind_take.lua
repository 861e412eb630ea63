-- remind_take(KEYS = show keys 1..14, ARGV = [inventory (unused), now_ms])
-- The show's holds whose reminder is due: live holds lapsing within REMIND_LEAD_MS that no earlier call
-- handed out (the show's meta keeps how far reminders went: `reminded_to`), each handed out once
-- however many bot processes ask. A hold made again later (a new token, a later end) is reminded anew.
-- Also the next time a reminder falls due (the earliest hold lapsing after that), kept as the show's
-- `remind_at` for remind_hint.
-- Reply (JSON): {holds=[[token, record]...], next=ms|false} (record: the hold's, as _lib.lua writes it)
local upto = NOW + REMIND_LEAD_MS
local from = tonumber(redis.call('HGET', K_META, 'reminded_to') or '') or NOW
if from < NOW then from = NOW end
local holds = {}
for _, token in ipairs(redis.call('ZRANGEBYSCORE', K_EXPIRY, '(' .. ms(from), ms(upto))) do
  local record = redis.call('HGET', K_HOLDS, token)
  if record then holds[#holds + 1] = {token, record} end
end
if upto > from then note_meta('reminded_to', ms(upto)) end
local later = redis.call('ZRANGEBYSCORE', K_EXPIRY, '(' .. ms(upto), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local next_at = later[2] and tonumber(later[2]) - REMIND_LEAD_MS or false
if next_at then note_meta('remind_at', ms(next_at)) else redis.call('HDEL', K_META, 'remind_at') end
return cjson.encode({holds = holds, next = next_at and ms(next_at) or false})
