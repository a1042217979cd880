-- Ends a conversation for routing (the visitor or the advisor ended it).
-- KEYS[1] the conversation hash. ARGV: P, now, id, retention (s).
-- Returns {state before, advisor} or {} if it was unknown or already ended.
local c = end_conversation(ARGV[3], tonumber(ARGV[4]))
if not c then
  return {}
end
redis.call('PUBLISH', CHANGED, 'release')
return c
