-- Gives back a login attempt that succeeded: the account's failures are
-- cleared, the client's reservation is returned.
-- KEYS[1]: the account's counter; KEYS[2] (optional): the client's
-- current counter.
redis.call('DEL', KEYS[1])
if #KEYS >= 2 and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
  redis.call('DECR', KEYS[2])
end
return 1
