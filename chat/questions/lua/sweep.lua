-- Find questions that expired unanswered: members of an index whose hash
-- is gone. KEYS are the indexes; ARGV[1] the questions' key prefix,
-- ARGV[2] how many of the oldest of each index to look at. Each one found
-- is removed here, so it is counted once whichever instance sweeps.
local n = 0
local depth = tonumber(ARGV[2])
for _, idx in ipairs(KEYS) do
  for _, id in ipairs(redis.call('ZRANGE', idx, 0, depth - 1)) do
    if redis.call('EXISTS', ARGV[1] .. id) == 0 then
      n = n + redis.call('ZREM', idx, id)
    end
  end
end
return n
