-- lookup(KEYS = show keys 1..14, ARGV = [inventory, now_ms, mode, id]) -- read only
-- mode "token": the hold `id`; mode "user": the hold of user `id`. Dead (expired) holds are not returned.
-- Reply (JSON): {token=..., record="user|expires_ms|offered|s1,s2"} or {}
local token = ARGV[4]
if ARGV[3] == 'user' then token = redis.call('HGET', K_USER_HOLDS, ARGV[4]) end
if not token then return cjson.encode({}) end
local h = read_hold(token)
if not h or h.exp <= NOW then return cjson.encode({}) end
return cjson.encode({token = token, record = redis.call('HGET', K_HOLDS, token)})
