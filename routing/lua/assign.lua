-- Assigns waiting conversations to on-duty advisors with free capacity.
-- Policy: the longest-waiting conversation across the queues first; it goes
-- to the eligible advisor (audience skill, load below capacity) with the
-- lowest load ratio, ties to the one whose last assignment is oldest, then
-- by name. Never over capacity; a conversation leaves its queue in the same
-- atomic step that gives it to one advisor, so it cannot be given twice.
-- KEYS[1] the on-duty set. ARGV: P, now, max assignments, queue names...
-- Returns a flat list: id, advisor, alias, enqueued-at (ms), ...
local maxn = tonumber(ARGV[3])
local queues = {}
for i = 4, #ARGV do queues[#queues + 1] = ARGV[i] end

local advisors = {}
for _, name in ipairs(redis.call('SMEMBERS', P .. 'onduty')) do
  local h = redis.call('HMGET', adv_key(name), 'duty', 'cap', 'aud', 'last', 'alias')
  if h[1] == '1' then
    advisors[#advisors + 1] = {
      name = name,
      cap = tonumber(h[2]) or 0,
      aud = ',' .. (h[3] or '') .. ',',
      last = tonumber(h[4]) or 0,
      alias = (h[5] ~= false and h[5] ~= '' and h[5]) or name,
      load = redis.call('SCARD', convs_key(name)),
    }
  end
end

local function pick(audience)
  local best = nil
  for _, a in ipairs(advisors) do
    if a.load < a.cap and string.find(a.aud, ',' .. audience .. ',', 1, true) then
      if best == nil then
        best = a
      else
        local l, r = a.load * best.cap, best.load * a.cap -- compare ratios without division
        if l < r or (l == r and (a.last < best.last or (a.last == best.last and a.name < best.name))) then
          best = a
        end
      end
    end
  end
  return best
end

local out = {}
for _ = 1, maxn do
  local chosen = nil
  for _, q in ipairs(queues) do
    local head = redis.call('ZRANGE', queue_key(q), 0, 0, 'WITHSCORES')
    while head[1] and redis.call('HGET', conv_key(head[1]), 'st') ~= 'waiting' do
      -- A conversation whose data expired cannot be served; drop it so it
      -- does not block the queue.
      redis.call('ZREM', queue_key(q), head[1])
      head = redis.call('ZRANGE', queue_key(q), 0, 0, 'WITHSCORES')
    end
    if head[1] then
      local score = tonumber(head[2])
      if chosen == nil or score < chosen.score then
        local a = pick(redis.call('HGET', conv_key(head[1]), 'aud'))
        if a then
          chosen = {id = head[1], q = q, score = score, adv = a}
        end
      end
    end
  end
  if chosen == nil then break end
  local a = chosen.adv
  redis.call('ZREM', queue_key(chosen.q), chosen.id)
  redis.call('HSET', conv_key(chosen.id), 'st', 'active', 'adv', a.name, 'asg', NOW)
  redis.call('SADD', convs_key(a.name), chosen.id)
  redis.call('HSET', adv_key(a.name), 'last', NOW)
  a.load = a.load + 1
  a.last = NOW
  tell_advisor(a.name, 'assigned', chosen.id, '')
  out[#out + 1] = chosen.id
  out[#out + 1] = a.name
  out[#out + 1] = a.alias
  out[#out + 1] = tostring(chosen.score)
end
if #out > 0 then
  redis.call('PUBLISH', CHANGED, 'assign')
end
return out
