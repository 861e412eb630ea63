-- best(KEYS = show keys 1..14 + [15 attempts counter of this user, 16 hold_since of this user,
--             17 ranking LIST of blocks of `count` seats],
--      ARGV = [inventory, now_ms, count, ranking or "", user, token, hold_ms, max_seats, attempts_limit, window_ms,
--              life_ms, pause_ms])
-- The best `count` seats side by side, chosen and held in one step: the first block of the show's
-- ranking (best first, computed from the layout once, booking_core/holds/best_hold.py) whose seats are all
-- free for this user (their own held seats count as free) and that strands no single seat beside it;
-- when every free block strands one, the first free block. The block is held by the hold script
-- (`run_hold`, hold.lua called with ARGV[5..] and the chosen seats), so every rule of a hold applies.
-- The ranking LIST holds one entry per block, "s1,s2|l1,l2|r1,r2": its seats, then up to two seats
-- beyond each end of the row's run (nearest first), for the stranding check. A missing LIST is loaded
-- from ARGV[4]; when that is "" the reply asks for it. The LIST expires with the show's meta.
-- Every press is one of the user's hold attempts (KEYS[15]): hold.lua counts those that get as far as
-- holding, this script the ones it refuses itself; over the limit it is refused `rate_limited`.
-- Reply (JSON): {need=gen} | {need_ranking=true}
--             | {hold = <hold.lua's reply> | {refused='no_seats_together' | 'show_started' | 'rate_limited'
--                                                        | 'too_many_seats' (count over max_seats)},
--                seats = [the block tried], map = <seat_map.lua's reply, as the user sees it afterwards>}
if not ensure_loaded() then return need_inventory() end
local count, ranking, user = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local K_RANKING = KEYS[17]

local function answer(hold_reply, seats)
  local seat_map = cjson.decode(run_seat_map({ARGV[1], ARGV[2], user}))
  return cjson.encode({hold = hold_reply, seats = seats or {}, map = seat_map})
end

if out_of_attempts(KEYS[15], ARGV[9]) then return answer({refused = 'rate_limited', seats = {}}) end
-- A refusal of this script's own, counted as an attempt.
local function refuse(reason)
  count_attempt(KEYS[15], ARGV[10])
  return answer({refused = reason, seats = {}})
end
if show_closed() then return refuse('show_started') end
if count > tonumber(ARGV[8]) then return refuse('too_many_seats') end

if redis.call('EXISTS', K_RANKING) == 0 then
  if ranking == '' then return cjson.encode({need_ranking = true}) end
  -- The sentinel keeps a ranking with no block at all (a hall too small for `count`) in existence.
  local entries = {}
  for entry in string.gmatch(ranking, '%S+') do entries[#entries + 1] = entry end
  redis.call('RPUSH', K_RANKING, SENTINEL)
  for i = 1, #entries, 500 do
    redis.call('RPUSH', K_RANKING, unpack(entries, i, math.min(i + 499, #entries)))
  end
  local ttl = redis.call('PTTL', K_META)
  if ttl > 0 then redis.call('PEXPIRE', K_RANKING, ttl) end
end

local mine = redis.call('HGET', K_USER_HOLDS, user)
local known = {}
local function free(seat)
  if seat == nil or seat == '' then return nil end
  local state = known[seat]
  if state ~= nil then return state end
  state = redis.call('SISMEMBER', K_SOLD, seat) == 0 and redis.call('SISMEMBER', K_RESERVED, seat) == 0
  if state then
    local token = redis.call('HGET', K_SEAT_HOLDS, seat)
    state = token == nil or token == false or token == mine or live_holder(seat) == nil
  end
  known[seat] = state
  return state
end

-- True when taking the block leaves the free seat beyond one end alone before a taken one.
local function strands(beyond)
  local near, far = beyond[1], beyond[2]
  return near ~= nil and far ~= nil and free(near) and not free(far)
end

local fallback = nil
local chosen = nil
local total = redis.call('LLEN', K_RANKING)
for first = 0, total - 1, 64 do
  for _, entry in ipairs(redis.call('LRANGE', K_RANKING, first, first + 63)) do
    if entry ~= SENTINEL then
      local seats_csv, left_csv, right_csv = string.match(entry, '^([^|]*)|([^|]*)|(.*)$')
      local seats = split(seats_csv)
      local all_free = true
      for _, s in ipairs(seats) do
        if not free(s) then
          all_free = false
          break
        end
      end
      if all_free then
        if not strands(split(left_csv)) and not strands(split(right_csv)) then
          chosen = seats
          break
        end
        fallback = fallback or seats
      end
    end
  end
  if chosen then break end
end
chosen = chosen or fallback
if not chosen then return refuse('no_seats_together') end

local hold_argv = {ARGV[1], ARGV[2]}
for i = 5, #ARGV do hold_argv[#hold_argv + 1] = ARGV[i] end
for _, s in ipairs(chosen) do hold_argv[#hold_argv + 1] = s end
return answer(cjson.decode(run_hold(hold_argv)), chosen)
