-- Take a question for answering: atomically, so that two advisors never
-- hold one question. KEYS[1] the question's hash. ARGV[1] the advisor,
-- ARGV[2] now (Unix ms), ARGV[3] how long the take holds (ms).
-- Returns {'gone'}, {'taken'} (another advisor holds it) or {'ok', the
-- hash's fields and values}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'gone'} end
local f = redis.call('HMGET', KEYS[1], 'taken', 'until')
local now = tonumber(ARGV[2])
if f[1] and f[1] ~= '' and f[1] ~= ARGV[1] and (tonumber(f[2]) or 0) > now then
  return {'taken'}
end
redis.call('HSET', KEYS[1], 'taken', ARGV[1], 'until', tostring(now + tonumber(ARGV[3])))
local out = {'ok'}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do out[#out + 1] = v end
return out
