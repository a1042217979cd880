-- Puts an advisor on or off duty. Going on duty records skills, capacity
-- and display name, and starts the count of missed offers afresh; going
-- off duty puts their conversations back at the front of the queue and
-- takes back the offers they have not accepted.
-- KEYS[1] the advisor hash. ARGV: P, now, name, on (1/0), capacity,
-- audiences (comma separated), languages (comma separated), alias, ttl (s);
-- capacity, audiences, languages and alias matter only when going on duty.
-- Returns {ids requeued, ids withdrawn}.
local name = ARGV[3]
local requeued, withdrawn = {}, {}
if ARGV[4] == '1' then
  if redis.call('HGET', adv_key(name), 'duty') ~= '1' then
    redis.call('HSET', adv_key(name), 'missed', 0)
  end
  redis.call('HSET', adv_key(name), 'duty', '1', 'cap', ARGV[5], 'aud', ARGV[6], 'lang', ARGV[7], 'alias', ARGV[8])
  redis.call('SADD', P .. 'onduty', name)
  redis.call('SADD', KNOWN, name)
  redis.call('ZADD', P .. 'seen', NOW, name)
else
  off_duty(name)
  requeued, withdrawn = requeue_all(name, 'requeued')
end
redis.call('EXPIRE', adv_key(name), tonumber(ARGV[9]))
keep_with_advisor(name)
redis.call('PUBLISH', CHANGED, 'duty')
return {requeued, withdrawn}
