-- sale_queue_admit(KEYS = show keys 1..14 + [15 sq_state, 16 sq_turns, 17 sq_line, 18 sq_party, 19 sq_admitted],
--                  ARGV = [inventory, now_ms, turns_cap, window_ms, claim_end_ms, per_second,
--                          claimed user...])
-- One admission step of an open on-sale queue (the workers' periodic pass calls it):
-- 1. turns whose window has ended are over (their seats, if held, keep their own hold deadline);
-- 2. a sold-out hall (every seat sold) ends the queue: everyone still in line is taken out and
--    returned with their party size, to be told and offered the waitlist; phase "sold_out";
-- 3. while fewer than turns_cap turns are open, and no faster than per_second admissions a second
--    (0: no such limit; a token bucket in sq_state, `tokens` and `tokens_ms`, holding at most one
--    second's worth and at least one admission), the people at the front are admitted in queue order,
--    each with a window of window_ms to hold seats, but only if it ends by claim_end_ms (when this step's
--    turn claims end: a step slower than that admits nobody, so no claim lapses before its turn), and
--    only those in `claimed` (whose turn count across shows is under its cap:
--    booking_core/holds/lua/turn_claim.lua); an unclaimed one keeps their place;
-- 4. with nobody left in line the queue is over: phase "done", the show sells normally.
-- Nobody is admitted twice (sq_admitted). Not open yet, or over: nothing happens.
-- Reply (JSON): {need=gen} | {phase=p|false, admitted=[[user, place, window_end_ms]...], lapsed=[user...],
--                sold_out=[[user, party]...], open_turns=n, queued=n}
-- (The caller cuts the claims of those admitted to their window's end and gives back all other claims.)
if not ensure_loaded() then return need_inventory() end
local K_STATE, K_TURNS, K_LINE, K_PARTY, K_ADMITTED = KEYS[15], KEYS[16], KEYS[17], KEYS[18], KEYS[19]
local cap, ends = tonumber(ARGV[3]), NOW + tonumber(ARGV[4])
local claimed = {}
local per_second = tonumber(ARGV[6])
local n_claimed = #ARGV - 6
for i = 7, #ARGV do claimed[ARGV[i]] = true end

local admitted, sold_out, lapsed = {}, {}, {}
local phase = redis.call('HGET', K_STATE, 'phase')
local function answer()
  return cjson.encode({phase = phase or false, admitted = admitted, sold_out = sold_out,
    lapsed = lapsed, open_turns = redis.call('ZCARD', K_TURNS), queued = redis.call('ZCARD', K_LINE)})
end
if phase ~= 'open' then return answer() end

lapsed = redis.call('ZRANGEBYSCORE', K_TURNS, '-inf', ARGV[2])
if #lapsed > 0 then redis.call('ZREMRANGEBYSCORE', K_TURNS, '-inf', ARGV[2]) end

if redis.call('SCARD', K_SOLD) >= redis.call('SCARD', K_SEATS) then
  local line = redis.call('ZRANGE', K_LINE, 0, -1)
  for _, user in ipairs(line) do
    sold_out[#sold_out + 1] = {user, tonumber(redis.call('HGET', K_PARTY, user) or '1')}
  end
  redis.call('DEL', K_LINE, K_PARTY)
  phase = 'sold_out'
  redis.call('HSET', K_STATE, 'phase', phase)
  return answer()
end

local room = ends <= tonumber(ARGV[5]) and cap - redis.call('ZCARD', K_TURNS) or 0
local tokens
if per_second > 0 then
  -- The bucket refills at per_second from when it was last drawn on (a clock that went back refills none).
  local most = math.max(1, per_second)
  local bucket = redis.call('HMGET', K_STATE, 'tokens', 'tokens_ms')
  tokens = most
  if bucket[1] then
    local since = math.max(0, NOW - tonumber(bucket[2]))
    tokens = math.min(most, tonumber(bucket[1]) + per_second * since / 1000)
  end
  room = math.min(room, math.floor(tokens))
end
local admitted_here = 0
if room > 0 then
  -- Only claimed users can be admitted, so looking past `room` + the number claimed is never needed.
  local front = redis.call('ZRANGE', K_LINE, 0, room + n_claimed - 1, 'WITHSCORES')
  for i = 1, #front, 2 do
    if room == 0 then break end
    local user = front[i]
    if claimed[user] and redis.call('SADD', K_ADMITTED, user) == 1 then
      redis.call('ZREM', K_LINE, user)
      redis.call('HDEL', K_PARTY, user)
      redis.call('ZADD', K_TURNS, ends, user)
      redis.call('HINCRBY', K_STATE, 'served', 1)
      admitted[#admitted + 1] = {user, tonumber(front[i + 1]), ends}
      room = room - 1
      admitted_here = admitted_here + 1
    end
  end
end
if tokens then
  local last = tonumber(redis.call('HGET', K_STATE, 'tokens_ms') or '0')
  redis.call('HSET', K_STATE, 'tokens', tokens - admitted_here, 'tokens_ms', math.max(last, NOW))
end
if redis.call('ZCARD', K_LINE) == 0 then
  phase = 'done'
  redis.call('HSET', K_STATE, 'phase', phase)
end
local ttl = redis.call('PTTL', K_STATE)
if ttl > 0 then redis.call('PEXPIRE', K_TURNS, ttl); redis.call('PEXPIRE', K_ADMITTED, ttl) end
return answer()
