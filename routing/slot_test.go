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
	// The same Redis with offers and a maximum wait.
	oq, err := New(r.Client, Config{Prefix: r.Prefix, Queues: q.cfg.Queues, Now: clk.Now, AdvisorGrace: time.Minute, VisitorGrace: time.Minute,
		OfferTimeout: 10 * time.Second, MaxWait: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := redistest.KeySlot(q.p)

	// The keys the Go side hands to scripts (KEYS) or reads itself.
	for _, k := range []string{
		q.convKey("c1"), q.queueKey("public"), q.advKey("ann"), q.convsKey("ann"),
		q.p + "onduty", q.p + "seen", q.p + "vseen",
		q.offersKey("ann"), q.timersKey(), q.handledKey(), q.knownKey(),
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

	// Priorities, offers, timers, moves, estimates, the overview.
	mustOnDuty(t, oq, Advisor{Name: "cem", Capacity: 3, Audiences: []string{"public", "professional"}})
	for _, id := range []string{"o1", "o2", "o3", "o4"} {
		if _, err := oq.Enqueue(ctx, id, Need{Audience: "public", Lang: testLang, Priority: PriorityHigh}); err != nil {
			t.Fatalf("Enqueue(%s) = %v", id, err)
		}
	}
	if err := oq.SetPriority(ctx, "o4", PriorityUrgent); err != nil {
		t.Fatalf("SetPriority = %v", err)
	}
	if got := mustAssign(t, oq, 2); len(got) != 2 || !got[0].Offer {
		t.Fatalf("Assign with offers = %+v, want 2 offers", got)
	}
	if _, err := oq.Accept(ctx, "o4", "cem"); err != nil {
		t.Fatalf("Accept(o4) = %v", err)
	}
	if _, err := oq.Transfer(ctx, "o4", "cem", Target{Queue: "professional"}); err != nil {
		t.Fatalf("Transfer(o4) = %v", err)
	}
	if _, err := oq.Pick(ctx, "o4", "cem"); err != nil {
		t.Fatalf("Pick(o4) = %v", err)
	}
	if _, err := oq.Reassign(ctx, "o3", Target{Advisor: "cem"}); err != nil {
		t.Fatalf("Reassign(o3) = %v", err)
	}
	if _, _, ok, err := oq.Release(ctx, "o3"); !ok || err != nil {
		t.Fatalf("Release(o3) = %v, %v", ok, err)
	}
	if _, _, err := oq.ExpectedWait(ctx, "public"); err != nil {
		t.Fatalf("ExpectedWait = %v", err)
	}
	if _, err := oq.States(ctx, []string{"o1", "o2", "o3", "o4"}); err != nil {
		t.Fatalf("States = %v", err)
	}
	if _, err := oq.Overview(ctx); err != nil {
		t.Fatalf("Overview = %v", err)
	}
	clk.Set(at(25 * time.Second))
	if err := oq.TouchAdvisors(ctx, "cem"); err != nil {
		t.Fatal(err)
	}
	if err := oq.TouchVisitors(ctx, "o1", "o2", "o4"); err != nil {
		t.Fatal(err)
	}
	if res := mustSweep(t, oq); len(res.OffersExpired) == 0 || len(res.MaxWaited) == 0 {
		t.Fatalf("Sweep() = %+v, want offers expired and a maximum wait", res)
	}
	mustAssign(t, oq, 1)
	if _, err := oq.TakeOffDuty(ctx, "cem"); err != nil {
		t.Fatalf("TakeOffDuty = %v", err)
	}

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
