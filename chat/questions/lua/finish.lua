-- An answered question leaves Redis: its hash, its place in its index
-- and in its code's set. KEYS[1] the hash, KEYS[2] the index, KEYS[3] the
-- code's set; ARGV[1] the id. Returns 1 if it was still there.
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
return n
