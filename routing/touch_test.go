package routing

import (
	"context"
	"testing"
	"time"
)

// TestTouchKeepsLongConversationsAlive: a heartbeat refreshes the routing
// data of a conversation that is still going, however long it lasts, and
// leaves an ended one to expire on schedule.
func TestTouchKeepsLongConversationsAlive(t *testing.T) {
	ctx := context.Background()
	q, r, _ := mustQueue(t, Config{IdleTTL: time.Hour, Retention: time.Minute})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public"}})
	mustEnqueue(t, q, "long", "public", 0)
	mustEnqueue(t, q, "done", "public", 0)
	mustAssign(t, q, 2)
	mustRelease(t, q, "done", StatusActive, "ann", true)

	// As if the conversation had been going for almost the whole hour.
	r.Client.Expire(ctx, q.convKey("long"), 5*time.Second)
	r.Client.Expire(ctx, q.advKey("ann"), 5*time.Second)
	if err := q.TouchVisitors(ctx, "long", "done"); err != nil {
		t.Fatal(err)
	}
	if err := q.TouchAdvisors(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]time.Duration{q.convKey("long"): time.Hour, q.advKey("ann"): time.Hour} {
		if ttl := r.Client.TTL(ctx, key).Val(); ttl < 59*time.Minute || ttl > want {
			t.Errorf("TTL(%s) after heartbeat = %s, want about %s", key, ttl, want)
		}
	}
	if ttl := r.Client.TTL(ctx, q.convKey("done")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL of an ended conversation after a heartbeat = %s, want at most the retention of 1m", ttl)
	}
	if n := r.Client.ZCard(ctx, q.p+"vseen").Val(); n != 1 {
		t.Errorf("visitor heartbeats = %d, want 1: the ended conversation came back", n)
	}
}

// TestAssignAliasFallsBackToName: an advisor on duty without a display
// name is introduced by their name, never by an empty string.
func TestAssignAliasFallsBackToName(t *testing.T) {
	q, _, _ := mustQueue(t, Config{})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	as := mustAssign(t, q, 1)
	if len(as) != 1 || as[0].Alias != "bob" {
		t.Fatalf("Assign = %+v, want one assignment introduced as bob", as)
	}
}

// TestSweepAfterOutage: when nobody swept for a while (Redis was away),
// nobody could heartbeat either; the first sweep after it must not take
// connected advisors off duty. Without the gap, the same deadline fires.
func TestSweepAfterOutage(t *testing.T) {
	for _, outage := range []bool{false, true} {
		ctx := context.Background()
		q, r, clk := mustQueue(t, Config{AdvisorGrace: 10 * time.Second})
		mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
		mustSweep(t, q) // records when the last sweep ran
		clk.Set(at(11 * time.Second))
		if outage {
			// The last sweep was a minute ago by Redis's clock.
			tm := r.Client.Time(ctx).Val()
			r.Client.Set(ctx, q.p+"swept", tm.Add(-time.Minute).UnixMilli(), 0)
		}
		res := mustSweep(t, q)
		st, err := q.AdvisorStatus(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		if outage && !st.Duty {
			t.Errorf("after an outage: advisor taken off duty by the first sweep (%+v)", res)
		}
		if !outage && st.Duty {
			t.Errorf("without an outage: advisor past the grace still on duty")
		}
	}
}

// TestReleaseBy: an advisor can end only a conversation they hold.
func TestReleaseBy(t *testing.T) {
	ctx := context.Background()
	q, _, _ := mustQueue(t, Config{})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	as := mustAssign(t, q, 1)
	holder, other := as[0].Advisor, "ann"
	if holder == "ann" {
		other = "bob"
	}
	if ok, err := q.ReleaseBy(ctx, "c1", other); ok || err != nil {
		t.Fatalf("ReleaseBy(c1, %s) = %v, %v; want refused: %s holds it", other, ok, err, holder)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusActive || st.Advisor != holder {
		t.Fatalf("after a refused release: %+v, want still active with %s", st, holder)
	}
	if ok, err := q.ReleaseBy(ctx, "c1", holder); !ok || err != nil {
		t.Fatalf("ReleaseBy(c1, %s) = %v, %v; want ok", holder, ok, err)
	}
	if ok, _ := q.ReleaseBy(ctx, "c1", holder); ok {
		t.Fatal("ReleaseBy of an ended conversation succeeded")
	}
}
