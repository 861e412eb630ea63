-- sweep(KEYS = show keys 1..14, ARGV = [inventory, now_ms, limit, pop])
-- With pop = "1": retire up to `limit` holds due at now_ms (expires_ms <= now_ms) atomically, so any
-- number of sweepers may run at once: each due hold is retired by exactly one of them. Their seats go
-- to the waitlist's pool while anyone waits, else back to the public.
-- Then, while anyone waits, a snapshot of what the waitlist's offer step needs (pop = "0": only that).
-- Reply (JSON): {need=gen} | {expired=[[user, offered, seats]...], next=ms|false, waitlist=false|
--   {version, closed, queue=[[user, count, together, passed]...], reserved, sold, held}}
local limit, pop = tonumber(ARGV[3]), ARGV[4] == '1'
local waiting = redis.call('ZCARD', K_QUEUE) > 0 or redis.call('EXISTS', K_RESERVED) == 1
-- Checked before any write, so that a reply asking for the inventory has changed nothing.
if waiting and not ensure_loaded() then return need_inventory() end

local expired = {}
if pop then
  local due = redis.call('ZRANGEBYSCORE', K_EXPIRY, '-inf', NOW, 'LIMIT', 0, limit)
  for _, token in ipairs(due) do
    local h = read_hold(token)
    if h then retire(h, expired) else redis.call('ZREM', K_EXPIRY, token) end
  end
end
local first = redis.call('ZRANGE', K_EXPIRY, 0, 0, 'WITHSCORES')
local reply = {expired = expired, next = first[2] or false, waitlist = false}
if not waiting then return cjson.encode(reply) end

local queue = {}
local waiters = redis.call('ZRANGE', K_QUEUE, 0, -1)
for _, user in ipairs(waiters) do
  local count, together = string.match(redis.call('HGET', K_REQUESTS, user) or '1|0', '^(%d+)|(%d)$')
  queue[#queue + 1] = {user, tonumber(count), together == '1', tonumber(redis.call('HGET', K_PASSED, user) or '0')}
end
local held = {}
for _, pair in ipairs(live_held_seats()) do held[#held + 1] = pair[1] end
reply.waitlist = {
  version = redis.call('GET', K_VERSION) or '0', closed = show_closed(), queue = queue,
  reserved = redis.call('SMEMBERS', K_RESERVED), sold = members(K_SOLD), held = held,
}
return cjson.encode(reply)
