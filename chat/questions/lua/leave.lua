-- Leave a question. KEYS[1] the question's hash, KEYS[2] its index (one
-- per audience and language, scored by when it was left), KEYS[3] the set
-- of open questions under one return code's lookup id.
-- ARGV[1] keep (ms), ARGV[2] left (Unix ms), ARGV[3] id, ARGV[4] how much
-- longer than its newest question the index lives (ms), then the hash's
-- fields and values.
local keep = tonumber(ARGV[1])
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
-- The set lives as long as its newest member; the index a little longer,
-- so that a sweep still finds the members whose hash expired and counts
-- them. Neither is ever shortened (a shorter keep set since must not hide
-- older questions).
local function extend(k, ttl)
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
extend(KEYS[2], keep + tonumber(ARGV[4]))
extend(KEYS[3], keep)
return 1
