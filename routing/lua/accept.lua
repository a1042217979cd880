-- An advisor accepts a conversation offered to them: it becomes theirs,
-- and their count of missed offers starts again. Refused once the offer's
-- deadline has passed, even if no sweep has claimed its timer yet, and
-- when the conversation is no longer offered to them (expired and
-- re-offered, taken back, ended).
-- KEYS[1] the conversation hash. ARGV: P, now, id, advisor.
-- Returns {'ok', alias, enqueued-at (ms), priority, queue} or {'expired'}.
local id, name = ARGV[3], ARGV[4]
local c = redis.call('HMGET', conv_key(id), 'st', 'adv', 'q', 'enq', 'pri')
local deadline = redis.call('ZSCORE', TIMERS, offer_timer(id, name))
if c[1] ~= 'offered' or c[2] ~= name or not deadline or tonumber(deadline) <= NOW then
  return {'expired'}
end
redis.call('ZREM', TIMERS, offer_timer(id, name))
redis.call('SMOVE', offers_key(name), convs_key(name), id)
keep_with_advisor(name)
redis.call('HSET', conv_key(id), 'st', 'active', 'asg', NOW, 'hst', NOW, 'odl', '')
redis.call('HDEL', conv_key(id), 'mo')
set_advisor(name, 'missed', 0)
tell_advisor(name, 'assigned', id, '')
redis.call('PUBLISH', CHANGED, 'accept')
return {'ok', alias_of(name), c[4] or '0', c[5] or '0', c[3] or ''}
