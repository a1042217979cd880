-- Sets a conversation's priority. A waiting one moves to its new place at
-- once (its waiting time unchanged); an offered or active one keeps it for
-- when it waits again.
-- KEYS[1] the conversation hash. ARGV: P, now, id, priority.
-- Returns 'ok', or 'gone' if it ended or is unknown.
local id, pri = ARGV[3], tonumber(ARGV[4])
local c = redis.call('HMGET', conv_key(id), 'st', 'q', 'enq')
if not c[1] or c[1] == 'ended' then
  return 'gone'
end
redis.call('HSET', conv_key(id), 'pri', pri)
if c[1] == 'waiting' then
  redis.call('ZADD', queue_key(c[2]), score(c[3], pri), id)
end
redis.call('PUBLISH', CHANGED, 'priority')
return 'ok'
