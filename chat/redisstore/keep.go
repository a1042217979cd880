package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The keep field of a conversation's meta hash: see chat.Conversation.Keep.

// setKeepScript sets it only on a conversation that exists and was never
// kept: the mark "kept" stays when the keys are taken out, so a
// conversation gets one code at most.
var setKeepScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'kept') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'keep', ARGV[1], 'kept', '1')
return 1
`)

// takeKeepScript reads and removes it in one step.
var takeKeepScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'keep')
if not v then return false end
redis.call('HDEL', KEYS[1], 'keep')
return v
`)

// SetKeep sets the keep field; see chat.Store.
func (s *Store) SetKeep(ctx context.Context, id, keep string) (bool, error) {
	n, err := setKeepScript.Run(ctx, s.rdb, []string{s.key(id, "meta")}, keep).Int()
	if err != nil {
		return false, fmt.Errorf("keep conversation %s: %w", id, err)
	}
	return n == 1, nil
}

// TakeKeep reads and removes the keep field; see chat.Store.
func (s *Store) TakeKeep(ctx context.Context, id string) (string, error) {
	v, err := takeKeepScript.Run(ctx, s.rdb, []string{s.key(id, "meta")}).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("take keep of conversation %s: %w", id, err)
	}
	return v, nil
}

func boolField(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
