package routing

import (
	"context"
	"strings"
	"testing"
	"time"
)

// crc16 is CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as
// Redis Cluster uses it.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// keySlot is the Redis Cluster hash slot of key: only the part between the
// first { and the next } counts, if that part is not empty.
func keySlot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key) % 16384)
}

func TestKeySlot(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Errorf("crc16(%q) = %#x, want %#x", "123456789", got, 0x31C3)
	}
	// Values from the Redis Cluster specification and go-redis's tests.
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", 12739},
		{"{}foo", 9500},
		{"foo{}", 5542},
		{"foo{}{bar}", 8363},
		{"foo", 12182},
		{"bar", 5061},
		{"foo{bar}", keySlot("bar")},
		{"{foo}bar", keySlot("foo")},
		{"{user1000}.following", keySlot("{user1000}.followers")},
		{"foo{{bar}}zap", keySlot("{bar")},
		{"foo{bar}{zap}", keySlot("bar")},
	}
	for _, tt := range tests {
		if got := keySlot(tt.key); got != tt.want {
			t.Errorf("keySlot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}

func TestRoutingKeysShareOneSlot(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{AdvisorGrace: time.Minute, VisitorGrace: time.Minute})
	want := keySlot(q.p)

	// The keys the Go side hands to scripts (KEYS) or reads itself.
	for _, k := range []string{
		q.convKey("c1"), q.queueKey("public"), q.advKey("ann"), q.convsKey("ann"),
		q.p + "onduty", q.p + "seen", q.p + "vseen",
	} {
		if got := keySlot(k); got != want {
			t.Errorf("keySlot(%s) = %d, want %d", k, got, want)
		}
	}

	// Every script runs once, and what it left behind is in that slot:
	// the scripts touch keys beyond their KEYS, so Redis Cluster accepts
	// them only if all live in one slot.
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public", "professional"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 0)
	mustEnqueue(t, q, "c2", "professional", 0)
	mustEnqueue(t, q, "c3", "public", 0)
	mustEnqueue(t, q, "c4", "public", 0)
	if got := mustAssign(t, q, 10); len(got) != 3 {
		t.Fatalf("Assign = %q, want 3 assignments", pairs(got))
	}
	if err := q.TouchAdvisors(ctx, "ann"); err != nil {
		t.Fatalf("TouchAdvisors = %v", err)
	}
	if err := q.TouchVisitors(ctx, "c1", "c2", "c3"); err != nil {
		t.Fatalf("TouchVisitors = %v", err)
	}
	if _, _, ok, err := q.Release(ctx, "c3"); !ok || err != nil {
		t.Fatalf("Release(c3) = %v, %v", ok, err)
	}
	mustEnqueue(t, q, "c5", "public", 0)
	if err := q.SetAlias(ctx, "bob", "B."); err != nil {
		t.Fatalf("SetAlias = %v", err)
	}
	mustOffDuty(t, q, "ann")
	clk.Set(at(30 * time.Second))
	if err := q.TouchVisitors(ctx, "c1", "c2"); err != nil {
		t.Fatalf("TouchVisitors = %v", err)
	}
	clk.Set(at(61 * time.Second))
	if res := mustSweep(t, q); len(res.Abandoned) == 0 && len(res.Requeued) == 0 {
		t.Fatalf("Sweep() = %+v, want some work", res)
	}

	keys := r.Keys(t)
	if len(keys) < 8 {
		t.Errorf("keys = %q, want at least 8 routing keys", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, q.p) {
			t.Errorf("key %q does not start with %q", k, q.p)
		}
		if got := keySlot(k); got != want {
			t.Errorf("keySlot(%s) = %d, want %d", k, got, want)
		}
	}
}
