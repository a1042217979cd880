-- Counts events in a day's report hash: one for each field. With a
-- conversation, only the first time that conversation is counted this way
-- (a mark in its routing hash): a conversation that goes back to the
-- queue and gets another advisor has been answered once, and its first
-- wait is the one that counts. The hash holds counts only, never an id.
-- KEYS[1] the day's hash ({rt}:day:<date>), KEYS[2] the conversation's
-- hash or absent. ARGV: P, now, ttl (s), fields...
-- Returns 1 if counted, 0 if the conversation was counted before or is
-- unknown.
if KEYS[2] then
  if redis.call('EXISTS', KEYS[2]) == 0 or redis.call('HSETNX', KEYS[2], 'rep', '1') == 0 then
    return 0
  end
end
for i = 4, #ARGV do
  redis.call('HINCRBY', KEYS[1], ARGV[i], 1)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
