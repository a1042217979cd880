-- Claims expired deadlines and due timers. Advisors not seen for the
-- advisor grace go off duty and their conversations back to the queue;
-- visitors not seen for the visitor grace have their conversation ended as
-- abandoned; due timers fire (offers expire, the maximum wait is
-- reported). Each deadline and timer is removed in the same atomic step
-- that acts on it, so however many instances sweep, each fires once, and
-- it fires even if the instance that set it is gone.
-- KEYS[1] the advisor heartbeat set. ARGV: P, now, advisor grace (ms),
-- visitor grace (ms), retention (s), longest gap between sweeps that is
-- not an outage (ms), missed offers that take an advisor off duty (0
-- never), most timers fired in one sweep.
-- Returns {
--   {id, advisor, cause, ...} requeued (were active),
--   {id, state before, advisor, ...} abandoned,
--   {id, advisor, '1' if that made the advisor not responding else '0', ...} offers expired,
--   {id, ...} waited the maximum wait,
--   {id, advisor, cause, ...} offers withdrawn (the advisor was lost or stopped responding)
-- }.
local requeued, abandoned, expired, maxwaited, withdrawn = {}, {}, {}, {}, {}
local max_missed = tonumber(ARGV[7])

-- Takes an advisor off duty and everything they had back to the queue;
-- they are told "unassigned" with the reason for each.
local function lose(name, cause, reason)
  off_duty(name)
  local rq, wd = requeue_all(name, reason)
  for _, id in ipairs(rq) do
    requeued[#requeued + 1] = id
    requeued[#requeued + 1] = name
    requeued[#requeued + 1] = cause
  end
  for _, id in ipairs(wd) do
    withdrawn[#withdrawn + 1] = id
    withdrawn[#withdrawn + 1] = name
    withdrawn[#withdrawn + 1] = cause
  end
end

-- Time nobody swept (Redis unreachable, every instance down) was time in
-- which nobody could heartbeat or accept an offer either: it must not count
-- against anyone. The gap is measured on both Redis's clock and the
-- sweeping instance's, and the smaller counts: skew between instances
-- cannot fake a gap on Redis's clock, and a step of one clock alone is not
-- an outage.
local t = redis.call('TIME')
local rnow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('GET', P .. 'swept')
redis.call('SET', P .. 'swept', rnow .. ' ' .. NOW)
local lastR, lastN
if prev then
  local sp = string.find(prev, ' ', 1, true)
  if sp then
    lastR, lastN = tonumber(string.sub(prev, 1, sp - 1)), tonumber(string.sub(prev, sp + 1))
  end
end
local gap = 0
if lastR and lastN then
  gap = math.min(rnow - lastR, NOW - lastN)
end
if gap > tonumber(ARGV[6]) then
  for _, set in ipairs({P .. 'seen', P .. 'vseen', TIMERS}) do
    local members = redis.call('ZRANGE', set, 0, -1, 'WITHSCORES')
    for i = 1, #members, 2 do
      redis.call('ZADD', set, tonumber(members[i + 1]) + gap, members[i])
    end
  end
end

local lost = redis.call('ZRANGEBYSCORE', P .. 'seen', '-inf', NOW - tonumber(ARGV[3]))
for _, name in ipairs(lost) do
  lose(name, 'advisor_lost', 'requeued')
end

local gone = redis.call('ZRANGEBYSCORE', P .. 'vseen', '-inf', NOW - tonumber(ARGV[4]))
for _, id in ipairs(gone) do
  local c = end_conversation(id, tonumber(ARGV[5]), 'abandoned')
  if c then
    abandoned[#abandoned + 1] = id
    abandoned[#abandoned + 1] = c[1]
    abandoned[#abandoned + 1] = c[2]
  else
    -- Its data expired: nothing to end, but drop the deadline, or every
    -- sweep would find it again.
    redis.call('ZREM', P .. 'vseen', id)
  end
end

local due = redis.call('ZRANGEBYSCORE', TIMERS, '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[8]))
for _, m in ipairs(due) do
  redis.call('ZREM', TIMERS, m)
  local id, name = string.match(m, '^offer:([^:]+):(.+)$')
  if id then
    local c = redis.call('HMGET', conv_key(id), 'st', 'adv', 'mo')
    -- A timer left behind by an offer that was answered in another way is
    -- dropped without effect.
    if c[1] == 'offered' and c[2] == name then
      withdraw_offer(id, name, 'offer_expired')
      -- Not offered to this advisor again while another can take it.
      local mo = c[3] or ''
      if mo == '' then
        redis.call('HSET', conv_key(id), 'mo', name)
      elseif not split_set(mo)[name] then
        redis.call('HSET', conv_key(id), 'mo', mo .. ',' .. name)
      end
      -- Counted only in a hash that is there (see set_advisor).
      local missed = 0
      if redis.call('EXISTS', adv_key(name)) == 1 then
        missed = redis.call('HINCRBY', adv_key(name), 'missed', 1)
      end
      local stopped = '0'
      if max_missed > 0 and missed >= max_missed and redis.call('SISMEMBER', P .. 'onduty', name) == 1 then
        lose(name, 'not_responding', 'not_responding')
        redis.call('PUBLISH', adv_channel(name), cjson.encode({type = 'off_duty', reason = 'not_responding'}))
        stopped = '1'
      end
      expired[#expired + 1] = id
      expired[#expired + 1] = name
      expired[#expired + 1] = stopped
    else
      -- Nor may the advisor's offers keep it: it is there still only if
      -- the conversation's data expired while it was offered.
      redis.call('SREM', offers_key(name), id)
    end
  else
    id = string.match(m, '^maxwait:(.+)$')
    if id then
      local st = redis.call('HGET', conv_key(id), 'st')
      if st == 'waiting' or st == 'offered' then
        maxwaited[#maxwaited + 1] = id
      end
    end
  end
end

if #lost > 0 or #abandoned > 0 or #expired > 0 then
  redis.call('PUBLISH', CHANGED, 'sweep')
end
return {requeued, abandoned, expired, maxwaited, withdrawn}
