-- Stores one entry of a conversation and announces it, in one round trip.
-- KEYS[1] meta hash, KEYS[2] entry stream, KEYS[3] the client-id hash of
-- builds before this one (below)
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
--
-- The meta hash is read with one HMGET and written with one HSET; it
-- holds the client ids too ('i:<from>:<id>' → seq), so a message is five
-- commands: this script's call, HMGET, XADD, HSET, PUBLISH. The keys'
-- TTL is set again when the last setting ('xp', ms) is older than 1/24 of
-- the open TTL, and always at the end: an open conversation lives between
-- 23/24 of the TTL and the TTL after its last entry, without an EXPIRE per
-- key per message.
--
-- Builds before this one kept the client ids in a hash of their own,
-- KEYS[3], and marked the meta hash 'hc' when they made it. While a
-- conversation has that mark, an id not in the meta hash is looked up
-- there too, and new ids go to both, so builds old and new running side
-- by side during an upgrade find each other's ids. (docs/ARCHITECTURE.md,
-- "Versions side by side", says what is left of that.)
local meta, log, cids = KEYS[1], KEYS[2], KEYS[3]
local channel, kind, from, cid, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local name, reason, now = ARGV[6], ARGV[7], tonumber(ARGV[8])
local ttl, retention = tonumber(ARGV[9]), tonumber(ARGV[10])

local dedupe = 'i:' .. from .. ':' .. cid
local m = redis.call('HMGET', meta, 'ended', 'seq', 'bytes', 'rl:' .. from, 'rt:' .. from, 'xp', 'hc', dedupe)
local ended = m[1]
if not ended then
  return {0}
end
local set = {}
local old = m[7]

if cid ~= '' then
  local prev = m[8]
  if not prev and old then
    prev = redis.call('HGET', cids, from .. ':' .. cid)
  end
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
local entries = tonumber(m[2] or '0')
local bytes = tonumber(m[3] or '0')
if own then
  local maxEntries, maxBytes = tonumber(ARGV[15]), tonumber(ARGV[16])
  if (maxEntries > 0 and entries >= maxEntries) or (maxBytes > 0 and bytes + #text > maxBytes) then
    return {5}
  end
end
if own and from == 'visitor' then
  local burst, rate = tonumber(ARGV[13]), tonumber(ARGV[14])
  if rate > 0 then
    -- A token bucket: tokens and when they were counted, per sender.
    local tokens = tonumber(m[4] or burst)
    local last = tonumber(m[5] or now)
    tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
    if tokens < 1 then
      redis.call('HSET', meta, 'rl:' .. from, tostring(tokens), 'rt:' .. from, now)
      return {4, math.ceil((1 - tokens) * 1000 / rate)}
    end
    set[#set + 1] = 'rl:' .. from; set[#set + 1] = tostring(tokens - 1)
    set[#set + 1] = 'rt:' .. from; set[#set + 1] = now
  end
end
if own and text ~= '' then
  set[#set + 1] = 'bytes'; set[#set + 1] = bytes + #text
end

local seq = entries + 1
set[#set + 1] = 'seq'; set[#set + 1] = seq
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
local refresh = not m[6] or now - tonumber(m[6]) >= ttl * 1000 / 24
if cid ~= '' then
  set[#set + 1] = dedupe; set[#set + 1] = seq
  if old then
    -- The earlier build's hash gets its TTL with each id, so it never
    -- lives on without one.
    redis.call('HSET', cids, from .. ':' .. cid, seq)
    refresh = true
  end
end

local expire = ttl
if kind == 'ended' then
  set[#set + 1] = 'ended'; set[#set + 1] = '1'
  expire = retention
  refresh = true
end
if refresh then
  set[#set + 1] = 'xp'; set[#set + 1] = now
end
redis.call('HSET', meta, unpack(set))
if refresh then
  redis.call('EXPIRE', meta, expire)
  redis.call('EXPIRE', log, expire)
  if old then
    redis.call('EXPIRE', cids, expire)
  end
end

local payload = cjson.encode(entry)
if ARGV[12] == '0' then
  return {1, seq, payload}
end
redis.call('PUBLISH', channel, payload)
return {1, seq}
