-- Accepts a TOTP time step once per account: a step at or below the last
-- accepted one is a replayed (or older) code.
-- KEYS[1]: the account's last accepted step. ARGV[1]: the step.
-- ARGV[2]: how long to remember it, in milliseconds.
-- Returns 1 if the step is accepted, 0 if it is refused.
local last = tonumber(redis.call('GET', KEYS[1]))
local step = tonumber(ARGV[1])
if last ~= nil and step <= last then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
