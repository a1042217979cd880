package redistest

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat/redisstore"
)

// loseTail cuts a conversation back as a replica that missed its last
// entries would hold it once promoted: the stream and its seq end at keep,
// and the lost entries' client ids are forgotten, so the next entries
// take the lost seqs. It returns how many entries were dropped.
var loseTail = redis.NewScript(`
local meta, log, cids, keep = KEYS[1], KEYS[2], KEYS[3], tonumber(ARGV[1])
local all = redis.call('XRANGE', log, '-', '+')
redis.call('DEL', log)
local dropped = 0
for _, m in ipairs(all) do
  local seq = tonumber(string.sub(m[1], 3))
  if seq <= keep then
    redis.call('XADD', log, m[1], unpack(m[2]))
  else
    dropped = dropped + 1
    local f, from, cid = m[2], '', ''
    for i = 1, #f, 2 do
      if f[i] == 'f' then from = f[i + 1] end
      if f[i] == 'c' then cid = f[i + 1] end
    end
    if cid ~= '' then
      redis.call('HDEL', meta, 'i:' .. from .. ':' .. cid)
      redis.call('HDEL', cids, from .. ':' .. cid)
    end
  end
end
redis.call('HSET', meta, 'seq', keep)
return dropped
`)

// LoseTail makes Redis hold conversation conv of store as after a failover
// that lost every entry after seq keep (see docs/delivery.md): for the
// tests that prove such a loss is told to both sides. It returns how many
// entries were dropped.
func LoseTail(ctx context.Context, c redis.UniversalClient, store *redisstore.Store, conv string, keep int64) (int, error) {
	return loseTail.Run(ctx, c, store.Keys(conv), keep).Int()
}
