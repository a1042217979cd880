-- Shared by the routing scripts (prepended to each). All keys start with P,
-- which ends in the hash tag {rt}: every routing key lives in one hash slot,
-- so the scripts run unchanged on Redis Cluster.
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local CHANGED = P .. 'changed'

local function conv_key(id) return P .. 'conv:' .. id end
local function queue_key(q) return P .. 'q:' .. q end
local function adv_key(name) return P .. 'adv:' .. name end
local function convs_key(name) return P .. 'adv:' .. name .. ':convs' end
local function adv_channel(name) return P .. 'a:' .. name end

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

-- Puts every conversation of an advisor back in its queue with its original
-- waiting time, so it goes to the front of those who came after it.
-- Returns the ids requeued.
local function requeue_all(name, reason)
  local ids = redis.call('SMEMBERS', convs_key(name))
  for _, id in ipairs(ids) do
    local c = redis.call('HMGET', conv_key(id), 'st', 'q', 'enq')
    if c[1] == 'active' then
      redis.call('HSET', conv_key(id), 'st', 'waiting', 'adv', '', 'requeued', NOW)
      redis.call('ZADD', queue_key(c[2]), tonumber(c[3]), id)
      tell_advisor(name, 'unassigned', id, reason)
    end
  end
  redis.call('DEL', convs_key(name))
  return ids
end

local function off_duty(name)
  redis.call('HSET', adv_key(name), 'duty', '0')
  redis.call('SREM', P .. 'onduty', name)
  redis.call('ZREM', P .. 'seen', name)
end

-- Ends a conversation for routing: it leaves its queue or its advisor.
-- Returns its state before ('waiting' or 'active') and its advisor, or nil
-- if it was unknown or had ended already.
local function end_conversation(id, retention, reason)
  local c = redis.call('HMGET', conv_key(id), 'st', 'q', 'adv')
  if not c[1] or c[1] == 'ended' then
    return nil
  end
  if c[1] == 'waiting' then
    redis.call('ZREM', queue_key(c[2]), id)
  end
  if c[3] and c[3] ~= '' then
    redis.call('SREM', convs_key(c[3]), id)
    tell_advisor(c[3], 'unassigned', id, 'ended')
  end
  redis.call('HSET', conv_key(id), 'st', 'ended', 'ended', NOW, 'why', reason or '')
  redis.call('EXPIRE', conv_key(id), retention)
  redis.call('ZREM', P .. 'vseen', id)
  return {c[1], c[3] or ''}
end
