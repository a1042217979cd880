package web

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
	"github.com/advicechat/advicechat/web/auth"
)

func TestClientAddrTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		remote, xff, want string
	}{
		{"127.0.0.1:5000", "203.0.113.5", "203.0.113.5"},
		{"127.0.0.1:5000", "198.51.100.1, 203.0.113.5", "203.0.113.5"}, // the rightmost untrusted hop
		{"127.0.0.1:5000", "203.0.113.5, 10.1.2.3", "203.0.113.5"},     // trusted hops are skipped
		{"127.0.0.1:5000", "203.0.113.5:41234", "203.0.113.5"},         // a hop with a port
		{"127.0.0.1:5000", "[2001:db8::1]:443", "2001:db8::/64"},       // IPv6 with a port
		{"127.0.0.1:5000", "", ""},                                     // a proxy that names nobody
		{"127.0.0.1:5000", "unknown", ""},                              // or names nothing usable
		{"127.0.0.1:5000", "10.1.2.3", ""},                             // only trusted hops
		{"192.0.2.9:5000", "203.0.113.5", "192.0.2.9"},                 // not a trusted peer: header ignored
		{"127.0.0.1:5000", "garbage, 203.0.113.5", "203.0.113.5"},      // left of the client does not matter
		{"127.0.0.1:5000", "203.0.113.5, garbage", ""},                 // a malformed hop right of it does
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := auth.ClientAddr(r, trusted); got != tt.want {
			t.Errorf("auth.ClientAddr(%s, X-Forwarded-For %q) = %q, want %q", tt.remote, tt.xff, got, tt.want)
		}
	}
}

// TestBlockAcrossMidnight: a block holds for a sender whether the socket
// that stored it or the one that checks it was opened on the day before.
func TestBlockAcrossMidnight(t *testing.T) {
	r := redistest.New(t)
	ctx := context.Background()
	b := newBlocks(r.Client, r.Prefix, []byte("0123456789abcdef0123456789abcdef"))
	now := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)
	b.now = func() time.Time { return now }

	early := b.keys("203.0.113.5") // connected before midnight
	other := b.keys("203.0.113.6")
	now = now.Add(2 * time.Minute) // blocked after midnight
	if err := b.block(ctx, early); err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string]senderKeys{"the same socket": early, "a new socket": b.keys("203.0.113.5")} {
		if got, err := b.blocked(ctx, keys); err != nil || !got {
			t.Errorf("blocked(%s) = %v, %v; want true", name, got, err)
		}
	}
	if got, _ := b.blocked(ctx, other); got {
		t.Error("another sender is blocked")
	}
	// The next day the block still holds, under yesterday's key.
	now = now.Add(23 * time.Hour)
	if got, _ := b.blocked(ctx, b.keys("203.0.113.5")); !got {
		t.Error("block gone within its 24 hours")
	}
	// A sender nobody could name cannot be blocked or found blocked.
	if err := b.block(ctx, senderKeys{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.blocked(ctx, nil); got {
		t.Error("an unnamed sender counts as blocked")
	}
}
