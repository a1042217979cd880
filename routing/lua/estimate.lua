-- Reads what the wait estimates are made of: the recent handling times,
-- and per queue the capacity of the on-duty advisors who serve it, their
-- free places (capacity not held or offered) and the number waiting.
-- Changes nothing.
-- KEYS[1] the handling times list. ARGV: P, now, queue names...
-- Returns {sum of handling times (ms), how many, capacity of queue 1,
-- waiting in queue 1, free in queue 1, languages spoken in queue 1, capacity
-- of queue 2, ...}; the languages are those of the on-duty advisors who
-- serve the queue, comma separated, or '*' if one of them has no languages
-- recorded (speaks every language).
local sum, n = 0, 0
for _, v in ipairs(redis.call('LRANGE', HANDLED, 0, -1)) do
  sum = sum + tonumber(v)
  n = n + 1
end
local caps, free, langs = {}, {}, {}
for _, name in ipairs(redis.call('SMEMBERS', P .. 'onduty')) do
  local h = redis.call('HMGET', adv_key(name), 'duty', 'cap', 'aud', 'lang')
  -- One without a live console takes nobody new (connected in lib.lua).
  if h[1] == '1' and connected(name) then
    local cap = tonumber(h[2]) or 0
    local room = math.max(0, cap - load_of(name))
    for aud in pairs(split_set(h[3] or '')) do
      caps[aud] = (caps[aud] or 0) + cap
      free[aud] = (free[aud] or 0) + room
      langs[aud] = langs[aud] or {}
      if h[4] then
        for l in pairs(split_set(h[4])) do langs[aud][l] = true end
      else
        langs[aud]['*'] = true
      end
    end
  end
end
local out = {tostring(sum), n}
for i = 3, #ARGV do
  out[#out + 1] = caps[ARGV[i]] or 0
  out[#out + 1] = redis.call('ZCARD', queue_key(ARGV[i]))
  out[#out + 1] = free[ARGV[i]] or 0
  local spoken = {}
  for l in pairs(langs[ARGV[i]] or {}) do spoken[#spoken + 1] = l end
  out[#out + 1] = table.concat(spoken, ',')
end
return out
