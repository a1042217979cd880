-- Sets the name visitors see for an advisor, also one off duty (it is
-- kept for their next duty). Their hash lives the idle TTL from now, as
-- after a duty change: an advisor who never goes on duty leaves no hash
-- behind for good.
-- KEYS[1] the advisor hash. ARGV: P, now, name, alias, ttl (s).
local name = ARGV[3]
redis.call('HSET', adv_key(name), 'alias', ARGV[4])
redis.call('EXPIRE', adv_key(name), tonumber(ARGV[5]))
return 0
