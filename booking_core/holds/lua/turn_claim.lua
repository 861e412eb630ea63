-- turn_claim(KEYS = [the user's sale_turns ZSET, tag {user:<id>}], ARGV = [now_ms, show, ends_ms, cap, token])
-- Claims an on-sale turn for one user in one show before the show's admit script runs: at most `cap`
-- shows where the user holds a live claim at once (claims whose window ended are dropped first). Each
-- claim is its own member "<show>:<token>" (one token per admission step), scored past the end of any
-- turn the admit script then gives on it (the script admits nobody on a claim that would end first; the
-- step then cuts it to the turn's end), so a step gives back only its own claim (ZREM of that member) and
-- every open turn keeps the claim of the step that admitted it until the turn ends: the cap is exact.
-- A live claim for this show already counts this show, so a second step's claim is granted.
-- Reply: 1 granted, 0 refused (the user keeps their place).
local key = KEYS[1]
local now, show, ends, cap = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local shows, count = {}, 0
for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
  local claimed = string.match(member, '^[^:]+')
  if not shows[claimed] then shows[claimed], count = true, count + 1 end
end
if not shows[show] and count >= cap then return 0 end
redis.call('ZADD', key, ends, show .. ':' .. ARGV[5])
redis.call('PEXPIREAT', key, redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')[2])
return 1
