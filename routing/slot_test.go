package routing

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// TestRoutingKeysShareOneSlot: every key a routing script is given or
// touches lives in the {rt} hash slot, so the scripts run on Redis Cluster.
func TestRoutingKeysShareOneSlot(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{AdvisorGrace: time.Minute, VisitorGrace: time.Minute})
	want := redistest.KeySlot(q.p)

	// The keys the Go side hands to scripts (KEYS) or reads itself.
	for _, k := range []string{
		q.convKey("c1"), q.queueKey("public"), q.advKey("ann"), q.convsKey("ann"),
		q.p + "onduty", q.p + "seen", q.p + "vseen",
	} {
		if got := redistest.KeySlot(k); got != want {
			t.Errorf("redistest.KeySlot(%s) = %d, want %d", k, got, want)
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
		if got := redistest.KeySlot(k); got != want {
			t.Errorf("redistest.KeySlot(%s) = %d, want %d", k, got, want)
		}
	}
}
