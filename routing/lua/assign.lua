-- Assigns, or offers, waiting conversations to on-duty advisors with free
-- capacity. Prepended: lib.lua, then the policy's script, which defines
-- better(a, b): whether advisor a goes before advisor b (see policy.go).
--
-- Which conversation: of those some free advisor is eligible for, the one
-- of highest priority and, within it, waiting longest: the lowest queue
-- score (see score in lib.lua), across the queues. Each queue is scanned
-- in that order, as deep as the scan depth (scanDepth in queue.go), so a
-- conversation nobody free can take does not hold up those behind it; it
-- keeps its place. Which advisor: of the eligible ones, the one the policy
-- puts first, except that an advisor who let an offer of this conversation
-- expire gets it again only if no other eligible advisor has room, and
-- that a returning visitor's conversation waits for the advisor who had
-- it before while they are on duty, for as long as its preference lasts
-- (Need.Prefer).
-- Eligible means on duty, load (held and offered) below capacity, the
-- conversation's audience among their skills, and its language among
-- theirs or, once it has waited the fallback time since it was first
-- enqueued and the visitor allowed it, one of the fallback languages among
-- theirs.
--
-- With an offer timeout the conversation is offered: it takes a place in
-- the advisor's load until they accept it (accept.lua) or the offer's
-- timer fires (sweep.lua). Without one it is theirs at once.
--
-- Never over capacity; a conversation leaves its queue in the same atomic
-- step that gives it to one advisor, so it cannot be given twice.
-- KEYS[1] the on-duty set. ARGV: P, now, max assignments, scan depth,
-- fallback after (ms, 0 never), fallback languages (comma separated),
-- offer timeout (ms, 0 assigns directly), queue names...
-- Returns a flat list, 8 per assignment: id, advisor, alias, enqueued-at
-- (ms), priority, queue, offered ('1' or '0'), offer deadline (ms, 0 if
-- none).
local maxn = tonumber(ARGV[3])
local scan = tonumber(ARGV[4])
local fallback_after = tonumber(ARGV[5])
local fallback_langs = split_set(ARGV[6])
local offer_timeout = tonumber(ARGV[7])
local queues = {}
for i = 8, #ARGV do queues[#queues + 1] = ARGV[i] end

local advisors = {}
local free = 0 -- advisors with room
for _, name in ipairs(redis.call('SMEMBERS', P .. 'onduty')) do
  local h = redis.call('HMGET', adv_key(name), 'duty', 'cap', 'aud', 'last', 'alias', 'lang', 'seq')
  -- Without a live console (connected in lib.lua) nobody would read it.
  if h[1] == '1' and connected(name) then
    local a = {
      name = name,
      cap = tonumber(h[2]) or 0,
      aud = split_set(h[3] or ''),
      last = tonumber(h[4]) or 0,
      alias = (h[5] ~= false and h[5] ~= '' and h[5]) or name,
      -- An advisor who went on duty before languages were recorded speaks
      -- every language, as all did then.
      lang = h[6] and split_set(h[6]) or nil,
      seq = tonumber(h[7]) or 0,
      load = load_of(name),
    }
    a.fallback = false
    if a.lang then
      for l in pairs(a.lang) do
        if fallback_langs[l] then a.fallback = true end
      end
    end
    if a.load < a.cap then free = free + 1 end
    advisors[#advisors + 1] = a
  end
end

local function speaks(a, c)
  if a.lang == nil or a.lang[c.lang] then return true end
  return c.fallback and a.fallback
end

local function eligible(a, c)
  return a.load < a.cap and a.aud[c.aud] and speaks(a, c)
end

local function pick(c)
  -- A returning visitor's conversation waits for the advisor who had it
  -- before while they are on duty (with a live console), until its
  -- preference runs out; then, or if they are not on duty, anyone.
  if c.pref ~= '' and NOW < c.pru then
    for _, a in ipairs(advisors) do
      if a.name == c.pref then
        if eligible(a, c) then return a end
        return nil
      end
    end
  end
  local best, missed = nil, nil
  for _, a in ipairs(advisors) do
    if eligible(a, c) then
      if c.missed[a.name] then
        if missed == nil or better(a, missed) then missed = a end
      elseif best == nil or better(a, best) then
        best = a
      end
    end
  end
  return best or missed
end

-- What a conversation needs, read once per script run.
local needs = {}
local function need(id)
  local c = needs[id]
  if c == nil then
    local h = redis.call('HMGET', conv_key(id), 'st', 'aud', 'lang', 'fb', 'enq', 'pri', 'mo', 'pref', 'pru')
    if h[1] ~= 'waiting' then
      c = false
    else
      local enq = tonumber(h[5]) or NOW
      c = {aud = h[2] or '', lang = h[3] or '', enq = enq, pri = tonumber(h[6]) or 0,
        fallback = fallback_after > 0 and h[4] ~= '0' and NOW - enq >= fallback_after,
        missed = split_set(h[7] or ''), pref = h[8] or '', pru = tonumber(h[9]) or 0}
    end
    needs[id] = c
  end
  return c
end

local out = {}
for _ = 1, maxn do
  if free == 0 then break end
  local chosen = nil
  for _, q in ipairs(queues) do
    local waiting = redis.call('ZRANGE', queue_key(q), 0, scan - 1, 'WITHSCORES')
    for i = 1, #waiting, 2 do
      local id, s = waiting[i], tonumber(waiting[i + 1])
      if chosen and s >= chosen.score then break end
      local c = need(id)
      if c == false then
        -- A conversation whose data expired cannot be served; drop it so it
        -- does not take a place in the queue.
        redis.call('ZREM', queue_key(q), id)
      else
        local a = pick(c)
        if a then
          chosen = {id = id, q = q, score = s, adv = a, c = c}
          break
        end
      end
    end
  end
  if chosen == nil then break end
  local a, id = chosen.adv, chosen.id
  local seq = redis.call('INCR', P .. 'asgseq')
  redis.call('ZREM', queue_key(chosen.q), id)
  local deadline = 0
  if offer_timeout > 0 then
    deadline = NOW + offer_timeout
    redis.call('HSET', conv_key(id), 'st', 'offered', 'adv', a.name, 'odl', deadline)
    redis.call('SADD', offers_key(a.name), id)
    redis.call('ZADD', TIMERS, deadline, offer_timer(id, a.name))
    redis.call('PUBLISH', adv_channel(a.name),
      cjson.encode({type = 'offered', conversation = id, deadline = deadline}))
  else
    redis.call('HSET', conv_key(id), 'st', 'active', 'adv', a.name, 'asg', NOW, 'hst', NOW)
    redis.call('HDEL', conv_key(id), 'mo')
    redis.call('SADD', convs_key(a.name), id)
    tell_advisor(a.name, 'assigned', id, '')
  end
  redis.call('HSET', adv_key(a.name), 'last', NOW, 'seq', seq)
  keep_with_advisor(a.name)
  needs[id] = false
  a.load = a.load + 1
  a.last = NOW
  a.seq = seq
  if a.load == a.cap then free = free - 1 end
  out[#out + 1] = id
  out[#out + 1] = a.name
  out[#out + 1] = a.alias
  out[#out + 1] = tostring(chosen.c.enq)
  out[#out + 1] = tostring(chosen.c.pri)
  out[#out + 1] = chosen.q
  out[#out + 1] = deadline > 0 and '1' or '0'
  out[#out + 1] = tostring(deadline)
end
if #out > 0 then
  redis.call('PUBLISH', CHANGED, 'assign')
end
return out
