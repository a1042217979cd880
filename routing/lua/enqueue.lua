-- Puts a new conversation in its queue: behind all of its priority or
-- higher, before all of lower priority.
-- KEYS[1] conversation hash. ARGV: P, now, id, queue, audience, language,
-- fallback allowed ('1' or '0'), ttl (s), priority, maximum wait (ms, 0
-- none), preferred advisor ('' none), for how long (ms). Returns the
-- position in the queue (1 is next).
local id, q = ARGV[3], ARGV[4]
if redis.call('EXISTS', conv_key(id)) == 1 then
  return redis.error_reply('conversation exists')
end
local pri = tonumber(ARGV[9])
redis.call('HSET', conv_key(id), 'st', 'waiting', 'q', q, 'enq', NOW,
  'aud', ARGV[5], 'lang', ARGV[6], 'fb', ARGV[7], 'adv', '', 'pri', pri)
if ARGV[11] ~= '' then
  redis.call('HSET', conv_key(id), 'pref', ARGV[11], 'pru', NOW + tonumber(ARGV[12]))
end
redis.call('EXPIRE', conv_key(id), tonumber(ARGV[8]))
redis.call('ZADD', queue_key(q), score(NOW, pri), id)
redis.call('ZADD', P .. 'vseen', NOW, id)
local maxwait = tonumber(ARGV[10])
if maxwait > 0 then
  redis.call('ZADD', TIMERS, NOW + maxwait, maxwait_timer(id))
end
redis.call('PUBLISH', CHANGED, 'enqueue')
return redis.call('ZRANK', queue_key(q), id) + 1
