-- Reads what the wait estimates are made of: the recent handling times,
-- and per queue the capacity of the on-duty advisors who serve it, their
-- free places (capacity not held or offered) and the number waiting.
-- Changes nothing.
-- KEYS[1] the handling times list. ARGV: P, now, queue names...
-- Returns {sum of handling times (ms), how many, capacity of queue 1,
-- waiting in queue 1, free in queue 1, capacity of queue 2, ...}.
local sum, n = 0, 0
for _, v in ipairs(redis.call('LRANGE', HANDLED, 0, -1)) do
  sum = sum + tonumber(v)
  n = n + 1
end
local caps, free = {}, {}
for _, name in ipairs(redis.call('SMEMBERS', P .. 'onduty')) do
  local h = redis.call('HMGET', adv_key(name), 'duty', 'cap', 'aud')
  if h[1] == '1' then
    local cap = tonumber(h[2]) or 0
    local room = math.max(0, cap - load_of(name))
    for aud in pairs(split_set(h[3] or '')) do
      caps[aud] = (caps[aud] or 0) + cap
      free[aud] = (free[aud] or 0) + room
    end
  end
end
local out = {tostring(sum), n}
for i = 3, #ARGV do
  out[#out + 1] = caps[ARGV[i]] or 0
  out[#out + 1] = redis.call('ZCARD', queue_key(ARGV[i]))
  out[#out + 1] = free[ARGV[i]] or 0
end
return out
