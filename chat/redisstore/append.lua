-- Stores one entry of a conversation and announces it, in one round trip.
-- KEYS[1] meta hash, KEYS[2] entry stream, KEYS[3] client-id hash
-- ARGV: channel, kind, from, client id, text, name, reason, now (ms),
--       ttl of an open conversation (s), retention after the end (s),
--       conversation id, publish ('1': announce it here; '0': the caller
--       announces it once replicas have it, and gets the entry as JSON)
-- Returns {1, seq[, json]} stored, {2, seq} duplicate of seq, {3, seq} client id
-- already used with other text, {0} no such conversation, {-1} ended.
local meta, log, cids = KEYS[1], KEYS[2], KEYS[3]
local channel, kind, from, cid, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local name, reason, now = ARGV[6], ARGV[7], tonumber(ARGV[8])
local ttl, retention = tonumber(ARGV[9]), tonumber(ARGV[10])

local ended = redis.call('HGET', meta, 'ended')
if not ended then
  return {0}
end

local dedupe = from .. ':' .. cid
if cid ~= '' then
  local prev = redis.call('HGET', cids, dedupe)
  if prev then
    local found = redis.call('XRANGE', log, '0-' .. prev, '0-' .. prev)
    local same = false
    if found[1] then
      local f = found[1][2]
      for i = 1, #f, 2 do
        if f[i] == 'x' and f[i + 1] == text then
          same = true
        end
      end
    end
    if same then
      return {2, tonumber(prev)}
    end
    return {3, tonumber(prev)}
  end
end

if ended == '1' then
  return {-1}
end

local seq = redis.call('HINCRBY', meta, 'seq', 1)
local fields = {'k', kind, 'f', from, 't', ARGV[8]}
local entry = {conversation = ARGV[11], seq = seq, kind = kind, from = from, at = now}
if cid ~= '' then
  fields[#fields + 1] = 'c'; fields[#fields + 1] = cid; entry.id = cid
end
if text ~= '' then
  fields[#fields + 1] = 'x'; fields[#fields + 1] = text; entry.text = text
end
if name ~= '' then
  fields[#fields + 1] = 'n'; fields[#fields + 1] = name; entry.name = name
end
if reason ~= '' then
  fields[#fields + 1] = 'r'; fields[#fields + 1] = reason; entry.reason = reason
end
redis.call('XADD', log, '0-' .. seq, unpack(fields))
if cid ~= '' then
  redis.call('HSET', cids, dedupe, seq)
end

local expire = ttl
if kind == 'ended' then
  redis.call('HSET', meta, 'ended', '1')
  expire = retention
end
redis.call('EXPIRE', meta, expire)
redis.call('EXPIRE', log, expire)
redis.call('EXPIRE', cids, expire)

local payload = cjson.encode(entry)
if ARGV[12] == '0' then
  return {1, seq, payload}
end
redis.call('PUBLISH', channel, payload)
return {1, seq}
