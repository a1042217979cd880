-- Reads the supervisor's overview in one consistent step: every queue with
-- its count by priority and its longest real wait, every advisor with
-- routing data, and the head of every queue. Advisors whose data expired
-- leave the list of known advisors. Changes nothing else.
-- KEYS[1] the on-duty set. ARGV: P, now, depth (waiting conversations
-- listed per queue), highest priority, queue names...
-- Returns {
--   {name, waiting, oldest enqueued-at (ms, 0 if none), count of priority 0, 1, ..., highest}, ... per queue,
--   {name, duty, alias, capacity, audiences, languages, missed, last seen (ms, 0 if not), {held...}, {offered...}, connected (1 or 0)}, ... per advisor,
--   {id, queue, language, priority, enqueued-at (ms)}, ... in queue order, per queue in turn
-- }.
local depth, top = tonumber(ARGV[3]), tonumber(ARGV[4])
local queues, advisors, waiting = {}, {}, {}
for i = 5, #ARGV do
  local key = queue_key(ARGV[i])
  local row = {ARGV[i], redis.call('ZCARD', key), '0'}
  local oldest = nil
  for pri = 0, top do
    -- Priority pri holds the scores [-pri * 2^42, (1 - pri) * 2^42).
    local lo = -pri * PRI_SHIFT
    local hi = '(' .. tostring(lo + PRI_SHIFT)
    row[#row + 1] = redis.call('ZCOUNT', key, lo, hi)
    local head = redis.call('ZRANGEBYSCORE', key, lo, hi, 'WITHSCORES', 'LIMIT', 0, 1)
    if #head > 0 then
      local enq = tonumber(head[2]) - lo
      if oldest == nil or enq < oldest then oldest = enq end
    end
  end
  if oldest then row[3] = tostring(oldest) end
  queues[#queues + 1] = row
  local ids = redis.call('ZRANGE', key, 0, depth - 1)
  for _, id in ipairs(ids) do
    local c = redis.call('HMGET', conv_key(id), 'lang', 'pri', 'enq')
    waiting[#waiting + 1] = {id, ARGV[i], c[1] or '', c[2] or '0', c[3] or '0'}
  end
end

local names = redis.call('SUNION', KEYS[1], KNOWN)
table.sort(names)
for _, name in ipairs(names) do
  local h = redis.call('HMGET', adv_key(name), 'duty', 'alias', 'cap', 'aud', 'lang', 'missed')
  if not h[1] then
    redis.call('SREM', KNOWN, name)
  else
    local seen = redis.call('ZSCORE', P .. 'seen', name)
    advisors[#advisors + 1] = {name, h[1], h[2] or '', h[3] or '0', h[4] or '', h[5] or '', h[6] or '0',
      seen or '0', redis.call('SMEMBERS', convs_key(name)), redis.call('SMEMBERS', offers_key(name)),
      connected(name) and 1 or 0}
  end
end
return {queues, advisors, waiting}
