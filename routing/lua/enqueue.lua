-- Puts a new conversation at the back of its queue.
-- KEYS[1] conversation hash. ARGV: P, now, id, queue, audience, language,
-- fallback allowed ('1' or '0'), ttl (s). Returns the position in the
-- queue (1 is next).
local id, q = ARGV[3], ARGV[4]
if redis.call('EXISTS', conv_key(id)) == 1 then
  return redis.error_reply('conversation exists')
end
redis.call('HSET', conv_key(id), 'st', 'waiting', 'q', q, 'enq', NOW,
  'aud', ARGV[5], 'lang', ARGV[6], 'fb', ARGV[7], 'adv', '')
redis.call('EXPIRE', conv_key(id), tonumber(ARGV[8]))
redis.call('ZADD', queue_key(q), NOW, id)
redis.call('ZADD', P .. 'vseen', NOW, id)
redis.call('PUBLISH', CHANGED, 'enqueue')
return redis.call('ZRANK', queue_key(q), id) + 1
