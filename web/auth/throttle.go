package auth

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Login throttling: failed logins are counted per account and per client in
// fixed windows; at the limit, further attempts are refused without
// checking the password until the window ends.
const (
	throttleWindow     = 15 * time.Minute
	maxAccountFailures = 5
	maxClientFailures  = 20
)

//go:embed throttle.lua
var throttleLua string

var incrScript = redis.NewScript(throttleLua)

// loginThrottle counts failed logins in Redis, so every instance sees
// every failure of an account. Client counters are keyed by a Keyer,
// whose secret is per instance: a client is limited per instance it
// reaches.
type loginThrottle struct {
	rdb        redis.UniversalClient
	prefix     string // ends with "throttle:"
	keys       *Keyer
	window     time.Duration
	maxAccount int64
	maxClient  int64
}

func newLoginThrottle(rdb redis.UniversalClient, prefix string) *loginThrottle {
	return &loginThrottle{
		rdb:        rdb,
		prefix:     prefix + "throttle:",
		keys:       NewKeyer(),
		window:     throttleWindow,
		maxAccount: maxAccountFailures,
		maxClient:  maxClientFailures,
	}
}

// accountKey hashes the username so that no login name, not even a
// mistyped password in the username field, is kept in Redis.
func (t *loginThrottle) accountKey(username string) string {
	h := sha256.Sum256([]byte(username))
	return t.prefix + "acct:" + hex.EncodeToString(h[:])
}

func (t *loginThrottle) clientKey(key string) string { return t.prefix + "client:" + key }

// throttled says which limit, if any, username or addr has reached:
// "account", "client" or "".
func (t *loginThrottle) throttled(ctx context.Context, username, addr string) (string, error) {
	keys := []string{t.accountKey(username)}
	if addr != "" { // "" is a client a trusted proxy did not name
		keys = append(keys, t.clientKey(t.keys.Key(addr)))
		if prev := t.keys.Previous(addr); prev != "" {
			keys = append(keys, t.clientKey(prev))
		}
	}
	cmds := make([]*redis.StringCmd, len(keys))
	// A pipeline, not MGET: on a cluster the keys are in different slots.
	_, err := t.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read login failures: %w", err)
	}
	n := make([]int64, len(keys))
	for i, c := range cmds {
		n[i], _ = strconv.ParseInt(c.Val(), 10, 64)
	}
	var client int64
	for _, v := range n[1:] {
		client += v
	}
	switch {
	case n[0] >= t.maxAccount:
		return "account", nil
	case client >= t.maxClient:
		return "client", nil
	}
	return "", nil
}

// failed counts a failed login against the account and the client.
func (t *loginThrottle) failed(ctx context.Context, username, addr string) error {
	ms := strconv.FormatInt(t.window.Milliseconds(), 10)
	keys := []string{t.accountKey(username)}
	if addr != "" {
		keys = append(keys, t.clientKey(t.keys.Key(addr)))
	}
	for _, k := range keys {
		if err := incrScript.Run(ctx, t.rdb, []string{k}, ms).Err(); err != nil {
			return fmt.Errorf("count login failure: %w", err)
		}
	}
	return nil
}

// succeeded clears the account's failures; the client's stay.
func (t *loginThrottle) succeeded(ctx context.Context, username string) error {
	if err := t.rdb.Del(ctx, t.accountKey(username)).Err(); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
