-- Counts one event in a fixed window.
-- KEYS[1]: the counter. ARGV[1]: the window in milliseconds.
-- The window starts with the first event: later ones do not extend it.
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
