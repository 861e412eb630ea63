-- sale_queue_open(KEYS = show keys 1..14 + [15 sq_state, 16 sq_turns, 17 sq_line, 18 sq_party, 19 sq_admitted],
--                 ARGV = [inventory, now_ms, seed])
-- Opens the show's on-sale queue once, at or after its on_sale_ms: everyone who joined before it is put
-- in one random order (a Fisher-Yates shuffle of them in arrival order, driven by the Park-Miller
-- generator x <- x * 48271 mod 2^31-1 from `seed`, 1 <= seed < 2^31-1; booking_core/holds/sale_queue.py
-- has the same shuffle in Python, so the order can be audited from the seed); late arrivals
-- (score >= LATE) follow in arrival order. Places become 1..n. Idempotent: an open queue stays as is.
-- The seed and the drawn order stay in sq_state, so a pass can write a lost opening audit row later.
-- Reply (JSON): {need=gen} | {not_yet=true} | {no_queue=true} | {already=phase}
--             | {seed=n, drawn=[user...] (the pre-opening joiners, in their drawn order), late=n}
if not ensure_loaded() then return need_inventory() end
local K_STATE, K_LINE = KEYS[15], KEYS[17]
local LATE = 1e12
local meta = redis.call('HMGET', K_META, 'queued', 'on_sale_ms')
if meta[1] ~= '1' then return cjson.encode({no_queue = true}) end
if NOW < tonumber(meta[2]) then return cjson.encode({not_yet = true}) end
local phase = redis.call('HGET', K_STATE, 'phase')
if phase then return cjson.encode({already = phase}) end

local seed = tonumber(ARGV[3])
local drawn = redis.call('ZRANGEBYSCORE', K_LINE, '-inf', '(' .. string.format('%d', LATE))
local late = redis.call('ZRANGEBYSCORE', K_LINE, string.format('%d', LATE), '+inf')
local x = seed
for i = #drawn, 2, -1 do
  x = (x * 48271) % 2147483647
  local j = (x % i) + 1
  drawn[i], drawn[j] = drawn[j], drawn[i]
end
local place = 0
for _, list in ipairs({drawn, late}) do
  for _, user in ipairs(list) do
    place = place + 1
    redis.call('ZADD', K_LINE, place, user)
  end
end
redis.call('HSET', K_STATE, 'phase', 'open', 'seed', ARGV[3], 'opened_ms', ARGV[2], 'last', place, 'served', 0,
  'drawn', table.concat(drawn, ','))
local ttl = redis.call('PTTL', K_META)
if ttl > 0 then redis.call('PEXPIRE', K_STATE, ttl + 86400000) end
return cjson.encode({seed = ARGV[3], drawn = drawn, late = #late})
