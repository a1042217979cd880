-- Puts an advisor on or off duty. Going on duty records skills, capacity
-- and display name; going off duty puts their conversations back at the
-- front of the queue.
-- KEYS[1] the advisor hash. ARGV: P, now, name, on (1/0), capacity,
-- audiences (comma separated), languages (comma separated), alias, ttl (s);
-- capacity, audiences, languages and alias matter only when going on duty.
-- Returns the ids of conversations put back in the queue.
local name = ARGV[3]
local requeued = {}
if ARGV[4] == '1' then
  redis.call('HSET', adv_key(name), 'duty', '1', 'cap', ARGV[5], 'aud', ARGV[6], 'lang', ARGV[7], 'alias', ARGV[8])
  redis.call('SADD', P .. 'onduty', name)
  redis.call('ZADD', P .. 'seen', NOW, name)
else
  off_duty(name)
  requeued = requeue_all(name, 'requeued')
end
redis.call('EXPIRE', adv_key(name), tonumber(ARGV[9]))
redis.call('PUBLISH', CHANGED, 'duty')
return requeued
