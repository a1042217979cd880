package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// fakeClock is a time that moves only when told to.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock           { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }
func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }

// keyer returns a Keyer on this clock.
func (c *fakeClock) keyer() *Keyer {
	k := NewKeyer()
	k.now = c.now
	return k
}

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestClientKeyer(t *testing.T) {
	clock := newFakeClock()
	k := clock.keyer()
	const addr = "203.0.113.7"
	first := k.Key(addr)
	if !hex32.MatchString(first) || strings.Contains(first, addr) {
		t.Errorf("Key(%s) = %q, want 32 hex digits", addr, first)
	}
	if got := k.Key(addr); got != first {
		t.Errorf("Key(%s) twice = %q, %q, want the same", addr, first, got)
	}
	if got := k.Key("203.0.113.8"); got == first {
		t.Errorf("Key of two addresses = %q both", got)
	}
	if got := k.Previous(addr); got != "" {
		t.Errorf("Previous(%s) in the first period = %q, want none", addr, got)
	}
	if other := clock.keyer().Key(addr); other == first {
		t.Errorf("two keyers give %s the same key: the secret is not random", addr)
	}

	clock.add(clientKeyRotation - time.Second)
	if got := k.Key(addr); got != first {
		t.Errorf("Key(%s) just before the rotation = %q, want %q", addr, got, first)
	}
	clock.add(time.Second)
	second := k.Key(addr)
	if second == first {
		t.Errorf("Key(%s) after the rotation = the old key", addr)
	}
	if got := k.Previous(addr); got != first {
		t.Errorf("Previous(%s) after the rotation = %q, want the old key %q", addr, got, first)
	}

	clock.add(clientKeyRotation)
	if got := k.Previous(addr); got != second {
		t.Errorf("Previous(%s) after two rotations = %q, want the second key %q", addr, got, second)
	}
	if got := k.Key(addr); got == first || got == second {
		t.Errorf("Key(%s) after two rotations = an old key", addr)
	}

	// After a long quiet time no old key is kept.
	clock.add(3 * clientKeyRotation)
	if got := k.Previous(addr); got != "" {
		t.Errorf("Previous(%s) after a long idle time = %q, want none", addr, got)
	}
}

func TestClientAddr(t *testing.T) {
	for _, tt := range []struct{ remote, want string }{
		{"203.0.113.7:51234", "203.0.113.7"},
		{"[::ffff:203.0.113.7]:443", "203.0.113.7"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:443", "fe80::/64"},
		{"203.0.113.7", "203.0.113.7"},
		{"@", "@"}, // a unix socket
		{"", ""},
	} {
		r := &http.Request{RemoteAddr: tt.remote}
		if got := ClientAddr(r, nil); got != tt.want {
			t.Errorf("ClientAddr(RemoteAddr %q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

// mustReserve reserves n attempts of username from addr, each expected
// to get want ("" = let through and counted).
func mustReserve(t *testing.T, th *loginThrottle, username, addr string, n int, want string) {
	t.Helper()
	for range n {
		got, err := th.reserve(context.Background(), username, addr)
		if err != nil || got != want {
			t.Fatalf("reserve(%s, %s) = %q, %v, want %q", username, addr, got, err, want)
		}
	}
}

func TestLoginThrottleLimits(t *testing.T) {
	r := redistest.New(t)
	th := newLoginThrottle(r.Client, r.Prefix, nil)
	const addr, other = "203.0.113.7", "198.51.100.1"

	mustReserve(t, th, "anna", addr, maxAccountFailures, "")
	mustReserve(t, th, "anna", addr, 1, "account")
	// From anywhere: the account is what is counted.
	mustReserve(t, th, "anna", other, 1, "account")
	// A refused attempt is not counted: the window ends on time.
	if a, c, _ := th.count(context.Background(), "anna", addr); a != maxAccountFailures || c != maxAccountFailures {
		t.Errorf("counted %d for the account, %d for the client, want %d each", a, c, maxAccountFailures)
	}
	// Another account from the same client is let through until the
	// client reaches its own limit.
	for i := range maxClientFailures - maxAccountFailures {
		mustReserve(t, th, fmt.Sprintf("bob%d", i), addr, 1, "")
	}
	mustReserve(t, th, "carol", addr, 1, "client")
	mustReserve(t, th, "carol", other, 1, "")

	// A success clears the account's failures and gives the client its
	// reservation back.
	if err := th.succeeded(context.Background(), "anna", other); err != nil {
		t.Fatal(err)
	}
	mustReserve(t, th, "anna", other, 1, "")
	mustReserve(t, th, "anna", addr, 1, "client")
	if err := th.succeeded(context.Background(), "bob0", addr); err != nil {
		t.Fatal(err)
	}
	mustReserve(t, th, "dave", addr, 1, "")

	// Neither a username nor the address is in a key or a value.
	for _, k := range r.Keys(t) {
		v, _ := r.Client.Get(context.Background(), k).Result()
		for _, secret := range []string{"anna", "bob", "carol", "dave", addr, other} {
			if strings.Contains(k, secret) || strings.Contains(v, secret) {
				t.Errorf("key %s = %q contains %q", k, v, secret)
			}
		}
	}
}

// TestLoginThrottleAccountKey: the account counter's name is an HMAC
// under the instances' shared secret, not a bare hash of what was typed:
// instances with the same secret count together, and without the secret
// the name says nothing (a password typed as the username cannot be
// tried against it).
func TestLoginThrottleAccountKey(t *testing.T) {
	r := redistest.New(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, b := newLoginThrottle(r.Client, r.Prefix, secret), newLoginThrottle(r.Client, r.Prefix, secret)
	other := newLoginThrottle(r.Client, r.Prefix, []byte("another secret of thirty-two chars"))
	const typed = "Winter2026!"
	if a.accountKey(typed) != b.accountKey(typed) {
		t.Error("two instances with one secret name an account's counter differently")
	}
	if a.accountKey(typed) == other.accountKey(typed) {
		t.Error("the counter's name does not depend on the secret")
	}
	h := sha256.Sum256([]byte(typed))
	if strings.Contains(a.accountKey(typed), hex.EncodeToString(h[:])[:16]) {
		t.Error("the counter is named by an unkeyed hash of what was typed")
	}
	mustReserve(t, a, typed, "", maxAccountFailures, "")
	mustReserve(t, b, typed, "", 1, "account")
}

// TestLoginThrottleConcurrent: attempts at once on one account are each
// reserved in the same step as the check, so no more than the limit get
// through, however many race.
func TestLoginThrottleConcurrent(t *testing.T) {
	r := redistest.New(t)
	th := newLoginThrottle(r.Client, r.Prefix, nil)
	var wg sync.WaitGroup
	var through atomic.Int64
	for i := range 60 {
		wg.Go(func() {
			got, err := th.reserve(context.Background(), "anna", fmt.Sprintf("203.0.113.%d", i))
			if err != nil {
				t.Error(err)
			}
			if got == "" {
				through.Add(1)
			}
		})
	}
	wg.Wait()
	if n := through.Load(); n != maxAccountFailures {
		t.Errorf("%d of 60 concurrent attempts got through, want %d", n, maxAccountFailures)
	}
}

func TestLoginThrottleWindow(t *testing.T) {
	r := redistest.New(t)
	th := newLoginThrottle(r.Client, r.Prefix, nil)
	ctx := context.Background()
	mustReserve(t, th, "anna", "203.0.113.7", 1, "")
	keys := []string{th.accountKey("anna"), th.clientKey(th.keys.Key("203.0.113.7"))}
	ttls := func() []time.Duration {
		out := make([]time.Duration, len(keys))
		for i, k := range keys {
			out[i] = r.Client.PTTL(ctx, k).Val()
			if out[i] <= throttleWindow-time.Minute || out[i] > throttleWindow {
				t.Fatalf("PTTL(%s) = %v, want about %v", k, out[i], throttleWindow)
			}
		}
		return out
	}
	before := ttls()
	if r.Mini != nil {
		r.Mini.FastForward(time.Second)
	} else {
		// A real server's clock: let a millisecond pass on it.
		deadline := time.Now().Add(5 * time.Millisecond)
		for time.Now().Before(deadline) {
		}
	}
	mustReserve(t, th, "anna", "203.0.113.7", 1, "")
	// A later attempt does not move the end of the window.
	for i, ttl := range ttls() {
		if ttl >= before[i] {
			t.Errorf("PTTL(%s) after a second attempt = %v, want below %v", keys[i], ttl, before[i])
		}
	}

	// The counts are gone when the window ends.
	short := newLoginThrottle(r.Client, r.Prefix+"short:", nil)
	short.window = 500 * time.Millisecond
	mustReserve(t, short, "anna", "203.0.113.7", maxAccountFailures, "")
	mustReserve(t, short, "anna", "203.0.113.7", 1, "account")
	if r.Mini != nil {
		r.Mini.FastForward(time.Second)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := short.reserve(ctx, "anna", "203.0.113.7")
		if err != nil {
			t.Fatal(err)
		}
		if got == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reserve after the window ended = %q, want it let through", got)
		}
		time.Sleep(100 * time.Millisecond) // polling a real server's expiry
	}
}

// TestLoginThrottleSpansRotation: the client key changes every
// clientKeyRotation; attempts counted under the previous key still count.
func TestLoginThrottleSpansRotation(t *testing.T) {
	r := redistest.New(t)
	th := newLoginThrottle(r.Client, r.Prefix, nil)
	clock := newFakeClock()
	th.keys = clock.keyer()
	const addr = "203.0.113.7"
	for i := range maxClientFailures - 1 {
		mustReserve(t, th, "user"+string(rune('a'+i)), addr, 1, "")
	}
	clock.add(clientKeyRotation)
	mustReserve(t, th, "bob", addr, 1, "")
	mustReserve(t, th, "carol", addr, 1, "client")
	// Two rotations later the old attempts no longer count (their keys
	// also expire with the window).
	clock.add(clientKeyRotation)
	mustReserve(t, th, "carol", addr, 1, "")
}
