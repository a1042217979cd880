-- Records where an advisor's console is connected: each instance holding
-- one of their console sockets is a member of the advisor's live set,
-- scored by when its report runs out (now + the presence time). The member
-- '-' (score 0) marks that presence is known for this advisor: an advisor
-- without a live set at all went on duty through an instance that does
-- not report presence (a rolling upgrade) and counts as connected (see
-- connected in lib.lua). An advisor with a live set and no member that
-- has not run out has no live console: they keep what they hold, but get
-- no new conversations (assign.lua, move.lua), and their visitors are told
-- (ConversationState.AdvisorAway).
-- KEYS[1] unused. ARGV: P, now, instance, up ('1' a report that the
-- instance holds a socket, '0' its last socket closed), presence time
-- (ms), ttl (s), names...
-- Announces a change on the routing channel when an advisor's presence
-- went from none to some or back, so their visitors' sockets read it.
local instance, up, lasts, ttl = ARGV[3], ARGV[4] == '1', tonumber(ARGV[5]), tonumber(ARGV[6])
local changed = false
for i = 7, #ARGV do
  local name = ARGV[i]
  local key = live_key(name)
  local before = connected(name)
  if up then
    redis.call('ZADD', key, NOW + lasts, instance)
  else
    redis.call('ZREM', key, instance)
  end
  redis.call('ZADD', key, 0, '-')
  -- Reports of instances that stopped renewing them (gone without a word).
  redis.call('ZREMRANGEBYSCORE', key, '(0', NOW)
  local ttl_adv = redis.call('PTTL', adv_key(name))
  if ttl_adv > 0 then
    redis.call('PEXPIRE', key, ttl_adv)
  else
    redis.call('EXPIRE', key, ttl)
  end
  if before ~= connected(name) then changed = true end
end
if changed then
  redis.call('PUBLISH', CHANGED, 'presence')
end
return 0
