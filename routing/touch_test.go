package routing

import (
	"context"
	"fmt"
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
// connected advisors off duty. Without the gap, the same deadline fires;
// and a jump of one clock alone (Redis's or the instance's) is not an
// outage either.
func TestSweepAfterOutage(t *testing.T) {
	tests := []struct {
		name            string
		redisGap, myGap time.Duration // how long ago the last sweep was, on each clock
		wantOnDuty      bool
	}{
		{"no gap", 0, 0, false},
		{"an outage", time.Minute, time.Minute, true},
		{"Redis's clock jumped", time.Hour, 0, false},
		{"the instance's clock jumped", 0, time.Hour, false},
	}
	for _, tt := range tests {
		ctx := context.Background()
		q, r, clk := mustQueue(t, Config{AdvisorGrace: 10 * time.Second})
		mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
		mustSweep(t, q) // records when the last sweep ran
		clk.Set(at(11 * time.Second))
		if tt.redisGap > 0 || tt.myGap > 0 {
			tm := r.Client.Time(ctx).Val()
			last := fmt.Sprintf("%d %d", tm.Add(-tt.redisGap).UnixMilli(), clk.Now().Add(-tt.myGap).UnixMilli())
			r.Client.Set(ctx, q.p+"swept", last, 0)
		}
		res := mustSweep(t, q)
		st, err := q.AdvisorStatus(ctx, "ann")
		if err != nil {
			t.Fatal(err)
		}
		if st.Duty != tt.wantOnDuty {
			t.Errorf("%s: advisor past the grace on duty = %v, want %v (%+v)", tt.name, st.Duty, tt.wantOnDuty, res)
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
	if ok, err := q.ReleaseBy(ctx, "c1", other, "advisor"); ok || err != nil {
		t.Fatalf("ReleaseBy(c1, %s) = %v, %v; want refused: %s holds it", other, ok, err, holder)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusActive || st.Advisor != holder {
		t.Fatalf("after a refused release: %+v, want still active with %s", st, holder)
	}
	if ok, err := q.ReleaseBy(ctx, "c1", holder, "blocked"); !ok || err != nil {
		t.Fatalf("ReleaseBy(c1, %s) = %v, %v; want ok", holder, ok, err)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusEnded || st.Reason != "blocked" {
		t.Errorf("after ReleaseBy: %+v, want ended with reason blocked", st)
	}
	if ok, _ := q.ReleaseBy(ctx, "c1", holder, "advisor"); ok {
		t.Fatal("ReleaseBy of an ended conversation succeeded")
	}
}
