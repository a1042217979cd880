-- Records that visitors or advisors are connected: their "last seen" moves
-- to now and their keys keep living (a conversation's hash; an advisor's
-- hash and the sets of what they hold and are offered). A member whose
-- deadline was already claimed (no longer in the set) stays claimed.
-- KEYS[1] the heartbeat set ({rt}:vseen or {rt}:seen). ARGV: P, now,
-- kind ('visitor' or 'advisor'), ttl (s), members...
local ttl = tonumber(ARGV[4])
for i = 5, #ARGV do
  local m = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], m) then
    redis.call('ZADD', KEYS[1], NOW, m)
    if ARGV[3] == 'visitor' then
      redis.call('EXPIRE', conv_key(m), ttl)
    else
      redis.call('EXPIRE', adv_key(m), ttl)
      redis.call('EXPIRE', convs_key(m), ttl)
      redis.call('EXPIRE', offers_key(m), ttl)
    end
  end
end
return 0
