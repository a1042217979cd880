-- Moves a conversation to an advisor, who holds it at once (no offer), or
-- to a queue, where it waits with its original waiting time and priority:
-- a transfer by the advisor holding it, a reassignment by a supervisor, or
-- a pick from the queue by an advisor.
-- KEYS[1] the conversation hash. ARGV: P, now, id, mode, from, to advisor,
-- to queue; exactly one of the two targets is set.
--   mode 'transfer': from must hold it, active.
--   mode 'reassign': waiting, offered or active, whoever has it.
--   mode 'pick': it must be waiting, and the target advisor (from) must
--   have its audience among their skills.
-- The target advisor must be on duty with a live console and room, not
-- counting this conversation if it is theirs already.
-- Returns {'ok', advisor, alias, enqueued-at (ms), priority, queue, from,
-- state before} or {error}: 'not_held', 'not_waiting', 'ended',
-- 'off_duty', 'full', 'not_skilled', 'same'.
local id, mode, from, to_adv, to_q = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local c = redis.call('HMGET', conv_key(id), 'st', 'adv', 'q', 'enq', 'pri', 'aud', 'hst')
local st, holder = c[1], c[2] or ''
if mode == 'transfer' then
  if st ~= 'active' or holder ~= from then return {'not_held'} end
elseif mode == 'pick' then
  if st ~= 'waiting' then return {'not_waiting'} end
elseif st ~= 'waiting' and st ~= 'offered' and st ~= 'active' then
  return {'ended'}
end
if st == 'active' and holder == to_adv then return {'same'} end

local reason = mode == 'transfer' and 'transferred' or 'reassigned'
if to_adv ~= '' then
  local a = redis.call('HMGET', adv_key(to_adv), 'duty', 'cap', 'aud')
  -- On duty, and with a live console (connected in lib.lua): otherwise
  -- nobody would be there to read it.
  if a[1] ~= '1' or redis.call('SISMEMBER', P .. 'onduty', to_adv) == 0 or not connected(to_adv) then
    return {'off_duty'}
  end
  if mode == 'pick' and not split_set(a[3] or '')[c[6] or ''] then
    return {'not_skilled'}
  end
  local load = load_of(to_adv)
  if st == 'offered' and holder == to_adv then load = load - 1 end
  if load >= (tonumber(a[2]) or 0) then return {'full'} end
end

-- Out of where it is.
if st == 'waiting' then
  redis.call('ZREM', queue_key(c[3]), id)
elseif st == 'offered' then
  redis.call('SREM', offers_key(holder), id)
  redis.call('ZREM', TIMERS, offer_timer(id, holder))
  if holder ~= to_adv then tell_advisor(holder, 'unassigned', id, reason) end
else
  redis.call('SREM', convs_key(holder), id)
  tell_advisor(holder, 'unassigned', id, reason)
end

local q = c[3] or ''
if to_adv ~= '' then
  -- The handling time runs from when it left the queue; a move from one
  -- advisor to another does not restart it.
  local hst = (st == 'active' and c[7]) or NOW
  redis.call('HSET', conv_key(id), 'st', 'active', 'adv', to_adv, 'asg', NOW, 'hst', hst, 'odl', '')
  redis.call('HDEL', conv_key(id), 'mo')
  redis.call('SADD', convs_key(to_adv), id)
  local seq = redis.call('INCR', P .. 'asgseq')
  redis.call('HSET', adv_key(to_adv), 'last', NOW, 'seq', seq)
  keep_with_advisor(to_adv)
  tell_advisor(to_adv, 'assigned', id, '')
else
  q = to_q
  redis.call('HSET', conv_key(id), 'st', 'waiting', 'adv', '', 'q', to_q, 'aud', to_q, 'odl', '')
  redis.call('HDEL', conv_key(id), 'mo')
  if st ~= 'waiting' then
    redis.call('HSET', conv_key(id), 'requeued', NOW)
  end
  redis.call('ZADD', queue_key(to_q), score(c[4], c[5]), id)
end
redis.call('PUBLISH', CHANGED, 'move')
local alias = ''
if to_adv ~= '' then alias = alias_of(to_adv) end
return {'ok', to_adv, alias, c[4] or '0', c[5] or '0', q, holder, st}
