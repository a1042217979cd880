-- Give a taken question back. KEYS[1] the question's hash. ARGV[1] the
-- advisor who took it. Returns 1 if it was theirs.
if redis.call('HGET', KEYS[1], 'taken') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'taken', '', 'until', '0')
return 1
