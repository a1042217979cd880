package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// clientKeyRotation is how long one HMAC key of a clientKeyer is used.
const clientKeyRotation = 10 * time.Minute

// clientKeyer turns a client address into a key for rate limits without
// keeping the address: the key is an HMAC-SHA256 of the address under a
// random secret that lives only in this process's memory and is replaced
// every clientKeyRotation. Nobody can get from a stored key back to an
// address (there is no secret to try addresses with once it is gone), and
// keys from different periods or different instances cannot be linked.
//
// Use it like this: count events under Key(addr) and, to let a limit's
// window span a rotation, add what is counted under Previous(addr) (the
// key of the period before). Never log or store the address itself, and
// do not log the keys either: they are only good for counting. Get the
// address with clientAddr. It is safe for concurrent use.
type clientKeyer struct {
	now   func() time.Time
	every time.Duration

	mu        sync.Mutex
	cur, prev []byte // prev is nil until the first rotation
	rotated   time.Time
}

// newClientKeyer returns a keyer with a fresh secret that rotates every
// clientKeyRotation.
func newClientKeyer() *clientKeyer {
	return &clientKeyer{now: time.Now, every: clientKeyRotation}
}

// Key returns the key of addr in the current period: 32 hex digits.
func (k *clientKeyer) Key(addr string) string {
	cur, _ := k.secrets()
	return keyOf(cur, addr)
}

// Previous returns the key addr had in the period before the current one,
// or "" if there was none (the first period, or a long idle time).
func (k *clientKeyer) Previous(addr string) string {
	_, prev := k.secrets()
	if prev == nil {
		return ""
	}
	return keyOf(prev, addr)
}

// secrets rotates if the period is over and returns the current and the
// previous secret. Rotation is lazy, so the keyer needs no goroutine.
func (k *clientKeyer) secrets() (cur, prev []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	switch {
	case k.cur == nil:
		k.cur, k.rotated = newSecret(), now
	case now.Sub(k.rotated) >= 2*k.every:
		// Idle for more than a whole period: both are stale.
		k.cur, k.prev, k.rotated = newSecret(), nil, now
	case now.Sub(k.rotated) >= k.every:
		k.cur, k.prev, k.rotated = newSecret(), k.cur, now
	}
	return k.cur, k.prev
}

func newSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b
}

func keyOf(secret []byte, addr string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(addr))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// clientAddr is the address a request comes from, for rate limits and
// blocks: the host of RemoteAddr, and for IPv6 its /64 network, which one
// subscriber usually has whole. When RemoteAddr is one of the trusted
// proxies (ADVICECHAT_TRUSTED_PROXIES), X-Forwarded-For is read from the
// right, skipping trusted hops: the first untrusted address is the client.
// Without trusted proxies forwarding headers are ignored, since any client
// could write them. The result is for keying only: never log or store it.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if isTrusted(ip, trusted) {
		// Through a trusted proxy: the client is the first untrusted hop
		// from the right. A proxy that names no usable client gives ""
		// (no key) rather than its own address, which every visitor
		// behind it shares: one block would shut them all out.
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		client := netip.Addr{}
		for i := len(hops) - 1; i >= 0; i-- {
			hop, ok := parseHop(hops[i])
			if !ok {
				break // a malformed hop: trust nothing left of it
			}
			if !isTrusted(hop, trusted) {
				client = hop
				break
			}
		}
		if !client.IsValid() {
			return ""
		}
		ip = client
	}
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}

// parseHop reads one X-Forwarded-For entry: an address, or an address with
// a port as some proxies write it (203.0.113.5:41234, [2001:db8::1]:443).
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

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
// every failure of an account. Client counters are keyed by a clientKeyer,
// whose secret is per instance: a client is limited per instance it
// reaches.
type loginThrottle struct {
	rdb        redis.UniversalClient
	prefix     string // ends with "throttle:"
	keys       *clientKeyer
	window     time.Duration
	maxAccount int64
	maxClient  int64
}

func newLoginThrottle(rdb redis.UniversalClient, prefix string) *loginThrottle {
	return &loginThrottle{
		rdb:        rdb,
		prefix:     prefix + "throttle:",
		keys:       newClientKeyer(),
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
