-- Shared by the routing scripts (prepended to each). All keys start with P,
-- which ends in the hash tag {rt}: every routing key lives in one hash slot,
-- so the scripts run unchanged on Redis Cluster.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local CHANGED = P .. 'changed'
-- Deadlines that fire once, whichever instance sweeps first: members
-- 'offer:<id>:<advisor>' and 'maxwait:<id>', scored by when they fire.
local TIMERS = P .. 'timers'
-- Recent handling times (ms) of conversations that ended while active,
-- newest first, for the wait estimates.
local HANDLED = P .. 'handled'
local HANDLED_KEEP = 50
-- Every advisor who went on duty, for the supervisor's overview; names
-- whose hash expired are dropped when it is read.
local KNOWN = P .. 'known'

local function conv_key(id) return P .. 'conv:' .. id end
local function queue_key(q) return P .. 'q:' .. q end
local function adv_key(name) return P .. 'adv:' .. name end
local function convs_key(name) return P .. 'adv:' .. name .. ':convs' end
local function offers_key(name) return P .. 'adv:' .. name .. ':offers' end
local function adv_channel(name) return P .. 'a:' .. name end
local function live_key(name) return P .. 'adv:' .. name .. ':live' end
local function offer_timer(id, name) return 'offer:' .. id .. ':' .. name end
local function maxwait_timer(id) return 'maxwait:' .. id end

-- A queue's score puts higher priorities first and, within one priority,
-- the longest waiting first: the enqueue time (ms) less the priority times
-- 2^42 ms (some 139 years, far more than any enqueue time since 1970 can
-- differ). The real enqueue time stays in the conversation's hash (enq);
-- read it from there, never from the score.
local PRI_SHIFT = 4398046511104
local function score(enq, pri)
  return (tonumber(enq) or 0) - (tonumber(pri) or 0) * PRI_SHIFT
end

-- The members of a comma-separated list, as a set.
local function split_set(s)
  local set = {}
  for item in string.gmatch(s, '[^,]+') do set[item] = true end
  return set
end

local function tell_advisor(name, kind, id, reason)
  redis.call('PUBLISH', adv_channel(name),
    cjson.encode({type = kind, conversation = id, reason = reason}))
end

-- An advisor's load: conversations held and offers not yet answered. An
-- offer takes a place as an active conversation does, so accepting it can
-- never take the advisor over capacity.
local function load_of(name)
  return redis.call('SCARD', convs_key(name)) + redis.call('SCARD', offers_key(name))
end

-- Changes fields of an advisor's hash only if it is there: made anew by
-- HSET it would have no TTL and outlive the advisor for good.
local function set_advisor(name, ...)
  if redis.call('EXISTS', adv_key(name)) == 1 then
    redis.call('HSET', adv_key(name), ...)
  end
end

-- The sets of an advisor's conversations (held and offered) live as long
-- as the advisor's hash, which every heartbeat and duty change renews
-- (touch.lua, duty.lua). Called after adding to them: a set made anew has
-- no TTL.
local function keep_with_advisor(name)
  local ttl = redis.call('PTTL', adv_key(name))
  if ttl > 0 then
    redis.call('PEXPIRE', convs_key(name), ttl)
    redis.call('PEXPIRE', offers_key(name), ttl)
    if redis.call('EXISTS', live_key(name)) == 1 then
      redis.call('PEXPIRE', live_key(name), ttl)
    end
  end
end

-- Whether an advisor has a live console somewhere (presence.lua): an
-- instance's report that has not run out. An advisor whose presence was
-- never reported (on duty through an instance that does not report it)
-- counts as connected, as before presence was known.
local function connected(name)
  if redis.call('EXISTS', live_key(name)) == 0 then return true end
  return redis.call('ZCOUNT', live_key(name), '(' .. NOW, '+inf') > 0
end

local function alias_of(name)
  local alias = redis.call('HGET', adv_key(name), 'alias')
  if alias and alias ~= '' then return alias end
  return name
end

-- Puts a conversation back in its queue at its place: its original waiting
-- time and its priority, so it goes before all who came after it.
local function back_in_queue(id, fields)
  local c = redis.call('HMGET', conv_key(id), 'q', 'enq', 'pri')
  redis.call('HSET', conv_key(id), 'st', 'waiting', 'adv', '', 'odl', '', unpack(fields or {}))
  redis.call('ZADD', queue_key(c[1]), score(c[2], c[3]), id)
end

-- Takes back an offer that advisor name has not accepted: the conversation
-- waits again at its place, the advisor is told why.
local function withdraw_offer(id, name, reason)
  redis.call('SREM', offers_key(name), id)
  redis.call('ZREM', TIMERS, offer_timer(id, name))
  back_in_queue(id)
  tell_advisor(name, 'unassigned', id, reason)
end

-- Puts every conversation of an advisor back in its queue with its original
-- waiting time and priority: those held ("requeued": the visitor had them
-- as their advisor) and those only offered ("withdrawn").
-- Returns the ids requeued and the ids withdrawn.
local function requeue_all(name, reason)
  local requeued, withdrawn = {}, {}
  for _, id in ipairs(redis.call('SMEMBERS', convs_key(name))) do
    local c = redis.call('HMGET', conv_key(id), 'st', 'adv')
    if c[1] == 'active' and c[2] == name then
      back_in_queue(id, {'requeued', NOW})
      tell_advisor(name, 'unassigned', id, reason)
      requeued[#requeued + 1] = id
    end
  end
  for _, id in ipairs(redis.call('SMEMBERS', offers_key(name))) do
    local c = redis.call('HMGET', conv_key(id), 'st', 'adv')
    if c[1] == 'offered' and c[2] == name then
      withdraw_offer(id, name, reason)
      withdrawn[#withdrawn + 1] = id
    else
      redis.call('ZREM', TIMERS, offer_timer(id, name))
    end
  end
  redis.call('DEL', convs_key(name), offers_key(name))
  return requeued, withdrawn
end

local function off_duty(name)
  set_advisor(name, 'duty', '0')
  redis.call('SREM', P .. 'onduty', name)
  redis.call('ZREM', P .. 'seen', name)
end

-- Ends a conversation for routing: it leaves its queue, its offer or its
-- advisor, and its timers go. An active one's handling time (since it
-- went from the queue to an advisor) joins the recent handling times.
-- Returns its state before ('waiting', 'offered' or 'active') and its
-- advisor, or nil if it was unknown or had ended already.
local function end_conversation(id, retention, reason)
  local c = redis.call('HMGET', conv_key(id), 'st', 'q', 'adv', 'hst', 'asg')
  if not c[1] or c[1] == 'ended' then
    return nil
  end
  local adv = c[3] or ''
  if c[1] == 'waiting' then
    redis.call('ZREM', queue_key(c[2]), id)
  elseif c[1] == 'offered' and adv ~= '' then
    redis.call('SREM', offers_key(adv), id)
    redis.call('ZREM', TIMERS, offer_timer(id, adv))
    tell_advisor(adv, 'unassigned', id, 'ended')
  elseif c[1] == 'active' and adv ~= '' then
    redis.call('SREM', convs_key(adv), id)
    tell_advisor(adv, 'unassigned', id, 'ended')
    local since = tonumber(c[4]) or tonumber(c[5])
    if since and since > 0 and NOW >= since then
      redis.call('LPUSH', HANDLED, NOW - since)
      redis.call('LTRIM', HANDLED, 0, HANDLED_KEEP - 1)
    end
  end
  redis.call('HSET', conv_key(id), 'st', 'ended', 'ended', NOW, 'why', reason or '')
  redis.call('EXPIRE', conv_key(id), retention)
  redis.call('ZREM', P .. 'vseen', id)
  redis.call('ZREM', TIMERS, maxwait_timer(id))
  return {c[1], adv}
end
