package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// clientKeyRotation is how long one HMAC key of a Keyer is used.
const clientKeyRotation = 10 * time.Minute

// Keyer turns a client address into a key for rate limits without
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
// address with ClientAddr. It is safe for concurrent use.
type Keyer struct {
	now   func() time.Time
	every time.Duration

	mu        sync.Mutex
	cur, prev []byte // prev is nil until the first rotation
	rotated   time.Time
}

// NewKeyer returns a keyer with a fresh secret that rotates every
// clientKeyRotation.
func NewKeyer() *Keyer {
	return &Keyer{now: time.Now, every: clientKeyRotation}
}

// Key returns the key of addr in the current period: 32 hex digits.
func (k *Keyer) Key(addr string) string {
	cur, _ := k.secrets()
	return KeyOf(cur, addr)
}

// Previous returns the key addr had in the period before the current one,
// or "" if there was none (the first period, or a long idle time).
func (k *Keyer) Previous(addr string) string {
	_, prev := k.secrets()
	if prev == nil {
		return ""
	}
	return KeyOf(prev, addr)
}

// secrets rotates if the period is over and returns the current and the
// previous secret. Rotation is lazy, so the keyer needs no goroutine.
func (k *Keyer) secrets() (cur, prev []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	switch {
	case k.cur == nil:
		k.cur, k.rotated = NewSecret(), now
	case now.Sub(k.rotated) >= 2*k.every:
		// Idle for more than a whole period: both are stale.
		k.cur, k.prev, k.rotated = NewSecret(), nil, now
	case now.Sub(k.rotated) >= k.every:
		k.cur, k.prev, k.rotated = NewSecret(), k.cur, now
	}
	return k.cur, k.prev
}

// NewSecret returns 32 random bytes for an HMAC key.
func NewSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return b
}

// KeyOf is the HMAC-SHA256 of addr under secret, as 32 hex digits.
func KeyOf(secret []byte, addr string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(addr))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ClientAddr is the address a request comes from, for rate limits and
// blocks: the host of RemoteAddr, and for IPv6 its /64 network, which one
// subscriber usually has whole. When RemoteAddr is one of the trusted
// proxies (ADVICECHAT_TRUSTED_PROXIES), X-Forwarded-For is read from the
// right, skipping trusted hops: the first untrusted address is the client.
// Without trusted proxies forwarding headers are ignored, since any client
// could write them. The result is for keying only: never log or store it.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
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
