-- Stores one entry of a conversation and announces it, in one round trip.
-- KEYS[1] meta hash, KEYS[2] entry stream, KEYS[3] client-id hash
-- ARGV: channel, kind, from, client id, text, name, reason, now (ms),
--       ttl of an open conversation (s), retention after the end (s),
--       conversation id, publish ('1': announce it here; '0': the caller
--       announces it once replicas have it, and gets the entry as JSON),
--       the visitor's message burst and rate (per second; 0: no limit),
--       the most entries and the most text bytes of a conversation (0: no
--       limit)
-- Returns {1, seq[, json]} stored, {2, seq} duplicate of seq, {3, seq} client id
-- already used with other text, {0} no such conversation, {-1} ended,
-- {4, ms} the visitor's rate is used up (retry in ms), {5} the
-- conversation is full.
--
-- The rate and the size are kept in the meta hash, so they hold across
-- sockets and instances and cost no extra round trip. Only what a side
-- writes itself counts (messages and notes); what the service writes
-- (joined, ended ...) always goes in, so a full conversation can still be
-- ended.
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

local own = kind == 'message' or kind == 'note'
if own then
  local maxEntries, maxBytes = tonumber(ARGV[15]), tonumber(ARGV[16])
  local entries = tonumber(redis.call('HGET', meta, 'seq') or '0')
  local bytes = tonumber(redis.call('HGET', meta, 'bytes') or '0')
  if (maxEntries > 0 and entries >= maxEntries) or (maxBytes > 0 and bytes + #text > maxBytes) then
    return {5}
  end
end
if own and from == 'visitor' then
  local burst, rate = tonumber(ARGV[13]), tonumber(ARGV[14])
  if rate > 0 then
    -- A token bucket: tokens and when they were counted, per sender.
    local tokens = tonumber(redis.call('HGET', meta, 'rl:' .. from) or burst)
    local last = tonumber(redis.call('HGET', meta, 'rt:' .. from) or now)
    tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
    if tokens < 1 then
      redis.call('HSET', meta, 'rl:' .. from, tostring(tokens), 'rt:' .. from, now)
      return {4, math.ceil((1 - tokens) * 1000 / rate)}
    end
    redis.call('HSET', meta, 'rl:' .. from, tostring(tokens - 1), 'rt:' .. from, now)
  end
end
if own and text ~= '' then
  redis.call('HINCRBY', meta, 'bytes', #text)
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
