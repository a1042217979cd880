-- Claims expired deadlines. Advisors not seen for the advisor grace go off
-- duty and their conversations back to the queue; visitors not seen for the
-- visitor grace have their conversation ended as abandoned. Each deadline
-- is removed in the same atomic step that acts on it, so however many
-- instances sweep, each fires once.
-- KEYS[1] the advisor heartbeat set. ARGV: P, now, advisor grace (ms),
-- visitor grace (ms), retention (s), longest gap between sweeps that is
-- not an outage (ms).
-- Returns {{id, advisor, ...} requeued, {id, ...} abandoned}.
local requeued, abandoned = {}, {}

-- Time nobody swept (Redis unreachable, every instance down) was time in
-- which nobody could heartbeat either: it must not count against anyone.
-- The gap is measured on both Redis's clock and the sweeping instance's,
-- and the smaller counts: skew between instances cannot fake a gap on
-- Redis's clock, and a step of one clock alone is not an outage.
local t = redis.call('TIME')
local rnow = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local prev = redis.call('GET', P .. 'swept')
redis.call('SET', P .. 'swept', rnow .. ' ' .. NOW)
local lastR, lastN
if prev then
  local sp = string.find(prev, ' ', 1, true)
  if sp then
    lastR, lastN = tonumber(string.sub(prev, 1, sp - 1)), tonumber(string.sub(prev, sp + 1))
  end
end
local gap = 0
if lastR and lastN then
  gap = math.min(rnow - lastR, NOW - lastN)
end
if gap > tonumber(ARGV[6]) then
  for _, set in ipairs({P .. 'seen', P .. 'vseen'}) do
    local members = redis.call('ZRANGE', set, 0, -1, 'WITHSCORES')
    for i = 1, #members, 2 do
      redis.call('ZADD', set, tonumber(members[i + 1]) + gap, members[i])
    end
  end
end
local lost = redis.call('ZRANGEBYSCORE', P .. 'seen', '-inf', NOW - tonumber(ARGV[3]))
for _, name in ipairs(lost) do
  off_duty(name)
  for _, id in ipairs(requeue_all(name, 'requeued')) do
    requeued[#requeued + 1] = id
    requeued[#requeued + 1] = name
  end
end
local gone = redis.call('ZRANGEBYSCORE', P .. 'vseen', '-inf', NOW - tonumber(ARGV[4]))
for _, id in ipairs(gone) do
  if end_conversation(id, tonumber(ARGV[5]), 'abandoned') then
    abandoned[#abandoned + 1] = id
  else
    -- Its data expired: nothing to end, but drop the deadline, or every
    -- sweep would find it again.
    redis.call('ZREM', P .. 'vseen', id)
  end
end
if #lost > 0 or #abandoned > 0 then
  redis.call('PUBLISH', CHANGED, 'sweep')
end
return {requeued, abandoned}
