package auth

import (
	"context"
	"net/http"
	"regexp"
	"strings"
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

func mustThrottled(t *testing.T, th *loginThrottle, username, addr, want string) {
	t.Helper()
	got, err := th.throttled(context.Background(), username, addr)
	if err != nil || got != want {
		t.Fatalf("throttled(%s, %s) = %q, %v, want %q", username, addr, got, err, want)
	}
}

func mustFail(t *testing.T, th *loginThrottle, username, addr string, n int) {
	t.Helper()
	for range n {
		if err := th.failed(context.Background(), username, addr); err != nil {
			t.Fatalf("failed(%s, %s) = %v", username, addr, err)
		}
	}
}

func TestLoginThrottleLimits(t *testing.T) {
	r := redistest.New(t)
	th := newLoginThrottle(r.Client, r.Prefix)
	const addr, other = "203.0.113.7", "198.51.100.1"

	mustFail(t, th, "anna", addr, maxAccountFailures-1)
	mustThrottled(t, th, "anna", addr, "")
	mustFail(t, th, "anna", addr, 1)
	mustThrottled(t, th, "anna", addr, "account")
	// From anywhere: the account is what is counted.
	mustThrottled(t, th, "anna", other, "account")
	// Another account from the same client is still let through...
	mustThrottled(t, th, "bob", addr, "")
	// ...until the client reaches its own limit.
	mustFail(t, th, "nobody", addr, maxClientFailures-maxAccountFailures-1)
	mustThrottled(t, th, "bob", addr, "")
	mustFail(t, th, "nobody2", addr, 1)
	mustThrottled(t, th, "bob", addr, "client")
	mustThrottled(t, th, "bob", other, "")

	// A success clears the account's failures, not the client's.
	if err := th.succeeded(context.Background(), "anna"); err != nil {
		t.Fatal(err)
	}
	mustThrottled(t, th, "anna", other, "")
	mustThrottled(t, th, "anna", addr, "client")

	// Neither a username nor the address is in a key or a value.
	for _, k := range r.Keys(t) {
		v, _ := r.Client.Get(context.Background(), k).Result()
		for _, secret := range []string{"anna", "bob", "nobody", addr, other} {
			if strings.Contains(k, secret) || strings.Contains(v, secret) {
				t.Errorf("key %s = %q contains %q", k, v, secret)
			}
		}
	}
}

func TestLoginThrottleWindow(t *testing.T) {
	r := redistest.New(t)
	th := newLoginThrottle(r.Client, r.Prefix)
	ctx := context.Background()
	mustFail(t, th, "anna", "203.0.113.7", 1)
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
	time.Sleep(50 * time.Millisecond)
	if r.Mini != nil {
		r.Mini.FastForward(time.Second)
	}
	mustFail(t, th, "anna", "203.0.113.7", 1)
	// A later failure does not move the end of the window.
	for i, ttl := range ttls() {
		if ttl >= before[i] {
			t.Errorf("PTTL(%s) after a second failure = %v, want below %v", keys[i], ttl, before[i])
		}
	}

	// The counts are gone when the window ends.
	short := newLoginThrottle(r.Client, r.Prefix+"short:")
	short.window = 500 * time.Millisecond
	mustFail(t, short, "anna", "203.0.113.7", maxAccountFailures)
	mustThrottled(t, short, "anna", "203.0.113.7", "account")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := short.throttled(ctx, "anna", "203.0.113.7")
		if err != nil {
			t.Fatal(err)
		}
		if got == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("throttled after the window ended = %q, want none", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLoginThrottleSpansRotation: the client key changes every
// clientKeyRotation; failures counted under the previous key still count.
func TestLoginThrottleSpansRotation(t *testing.T) {
	r := redistest.New(t)
	th := newLoginThrottle(r.Client, r.Prefix)
	clock := newFakeClock()
	th.keys = clock.keyer()
	const addr = "203.0.113.7"
	for i := range maxClientFailures - 1 {
		mustFail(t, th, "user"+string(rune('a'+i)), addr, 1)
	}
	clock.add(clientKeyRotation)
	mustThrottled(t, th, "bob", addr, "")
	mustFail(t, th, "bob", addr, 1)
	mustThrottled(t, th, "carol", addr, "client")
	// Two rotations later the old failures no longer count (their keys
	// also expire with the window).
	clock.add(clientKeyRotation)
	mustThrottled(t, th, "carol", addr, "")
}
