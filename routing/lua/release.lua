-- Ends a conversation for routing (the visitor or the advisor ended it).
-- KEYS[1] the conversation hash. ARGV: P, now, id, retention (s), the
-- advisor who must hold it ('' for anyone: the visitor ends their own),
-- the reason it ends (kept, so whoever writes the conversation's end
-- writes this reason).
-- Returns {state before, advisor} or {} if it was unknown, already ended,
-- or held by another advisor than the one named.
local expected = ARGV[5]
if expected ~= '' then
  local c = redis.call('HMGET', conv_key(ARGV[3]), 'st', 'adv')
  if c[1] ~= 'active' or c[2] ~= expected then
    return {}
  end
end
local c = end_conversation(ARGV[3], tonumber(ARGV[4]), ARGV[6])
if not c then
  return {}
end
redis.call('PUBLISH', CHANGED, 'release')
return c
