package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Login throttling: login attempts are counted per account and per client
// in fixed windows. Each attempt is reserved, atomically, before its
// password is checked; at the limit, further attempts are refused without
// checking the password until the window ends. A success gives its
// reservation back.
const (
	throttleWindow     = 15 * time.Minute
	maxAccountFailures = 5
	maxClientFailures  = 20
)

var (
	//go:embed reserve.lua
	reserveLua    string
	reserveScript = redis.NewScript(reserveLua)
	//go:embed release.lua
	releaseLua    string
	releaseScript = redis.NewScript(releaseLua)
)

// loginThrottle counts login attempts in Redis, so every instance sees
// every attempt on an account. Client counters are keyed by a Keyer, whose
// secret is per instance: a client is limited per instance it reaches.
type loginThrottle struct {
	rdb        redis.UniversalClient
	prefix     string // ends with "{throttle}:": one hash slot for one script
	secret     []byte // keys the account counters' names
	keys       *Keyer
	window     time.Duration
	maxAccount int64
	maxClient  int64

	mu   sync.Mutex
	cost time.Duration // what a password check takes here, smoothed
}

// newLoginThrottle counts under prefix. secret keys the account names in
// the counters' names; instances must share it for an account's attempts
// to count together on all of them (ADVICECHAT_BLOCK_SECRET). Empty:
// random, per process.
func newLoginThrottle(rdb redis.UniversalClient, prefix string, secret []byte) *loginThrottle {
	if len(secret) == 0 {
		secret = NewSecret()
	}
	return &loginThrottle{
		rdb:        rdb,
		prefix:     prefix + "{throttle}:",
		secret:     secret,
		keys:       NewKeyer(),
		window:     throttleWindow,
		maxAccount: maxAccountFailures,
		maxClient:  maxClientFailures,
		cost:       30 * time.Millisecond, // argon2id at the accounts file's parameters, until measured
	}
}

// accountKey names the account's counter by an HMAC of what was typed as
// the username under the shared secret: no login name, and not a password
// typed into the username field either, can be read or guessed back from
// Redis.
func (t *loginThrottle) accountKey(username string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte("login-throttle " + username))
	return t.prefix + "acct:" + hex.EncodeToString(m.Sum(nil)[:16])
}

func (t *loginThrottle) clientKey(key string) string { return t.prefix + "client:" + key }

// keysOf returns the account's counter and, for a named client, the
// client's current and previous counters.
func (t *loginThrottle) keysOf(username, addr string) []string {
	keys := []string{t.accountKey(username)}
	if addr != "" { // "" is a client a trusted proxy did not name
		keys = append(keys, t.clientKey(t.keys.Key(addr)))
		if prev := t.keys.Previous(addr); prev != "" {
			keys = append(keys, t.clientKey(prev))
		}
	}
	return keys
}

// reserve counts an attempt of username from addr before its password is
// checked, or says which limit it has reached ("account", "client"),
// counting nothing. One script: concurrent attempts cannot all pass.
func (t *loginThrottle) reserve(ctx context.Context, username, addr string) (string, error) {
	limit, err := reserveScript.Run(ctx, t.rdb, t.keysOf(username, addr),
		t.window.Milliseconds(), t.maxAccount, t.maxClient).Text()
	if err != nil {
		return "", fmt.Errorf("reserve a login attempt: %w", err)
	}
	return limit, nil
}

// succeeded clears the account's failures and gives the client's
// reservation back.
func (t *loginThrottle) succeeded(ctx context.Context, username, addr string) error {
	keys := t.keysOf(username, addr)
	if err := releaseScript.Run(ctx, t.rdb, keys[:min(2, len(keys))]).Err(); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// checked records how long a password check took, so that a throttled
// attempt can take as long.
func (t *loginThrottle) checked(d time.Duration) {
	t.mu.Lock()
	t.cost += (d - t.cost) / 8
	t.mu.Unlock()
}

// hashCost is what a password check takes here, smoothed over the last
// few.
func (t *loginThrottle) hashCost() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cost
}

// count returns the attempts counted against the account and the client;
// for tests and the documentation's figures.
func (t *loginThrottle) count(ctx context.Context, username, addr string) (account, client int64, err error) {
	keys := t.keysOf(username, addr)
	for i, k := range keys {
		v, err := t.rdb.Get(ctx, k).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, 0, err
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 0 {
			account = n
		} else {
			client += n
		}
	}
	return account, client, nil
}
