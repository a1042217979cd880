-- Reserves one login attempt before any password is checked, so that
-- concurrent attempts cannot all pass a limit read before any of them was
-- counted.
-- KEYS[1]: the account's counter. KEYS[2], KEYS[3] (optional): the
-- client's counters under the current and the previous client key; only
-- the current one is counted into.
-- ARGV[1]: the window in ms; ARGV[2]: the account limit; ARGV[3]: the
-- client limit.
-- Returns "" and counts the attempt, or the limit reached ("account" or
-- "client") and counts nothing: a throttled attempt does not lengthen
-- the lockout.
-- A window starts with its first attempt; later ones do not extend it.
local acct = tonumber(redis.call('GET', KEYS[1]) or '0')
if acct >= tonumber(ARGV[2]) then
  return 'account'
end
local client = 0
for i = 2, #KEYS do
  client = client + tonumber(redis.call('GET', KEYS[i]) or '0')
end
if #KEYS >= 2 and client >= tonumber(ARGV[3]) then
  return 'client'
end
local function count(key)
  redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
count(KEYS[1])
if #KEYS >= 2 then
  count(KEYS[2])
end
return ''
