package routing

import (
	"context"
	"testing"
	"time"
)

// TestReturningVisitorPrefersTheirAdvisor: a returning visitor's
// conversation goes to the advisor who had it before while they are on
// duty with a live console, even when the policy would pick another; it
// waits for them while they are full, without holding up those behind
// it, until the preference runs out; then anyone eligible takes it. When
// the advisor is not on duty, or has no live console, anyone takes it at
// once.
func TestReturningVisitorPrefersTheirAdvisor(t *testing.T) {
	ctx := context.Background()
	q, _, clk := mustQueue(t, Config{})
	enqueue := func(id, prefer string, until time.Duration) {
		t.Helper()
		n := Need{Audience: "public", Lang: testLang, Prefer: prefer, PreferFor: until}
		if _, err := q.Enqueue(ctx, id, n); err != nil {
			t.Fatalf("Enqueue(%s) = %v", id, err)
		}
	}
	// Ann has waited longest for a conversation, so the policy picks her
	// before Bob; each takes one.
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	clk.Set(at(time.Second))
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	want := func(what string, max int, wantPairs ...string) {
		t.Helper()
		got := pairs(mustAssign(t, q, max))
		if len(got) != len(wantPairs) || (len(got) > 0 && got[0] != wantPairs[0]) {
			t.Fatalf("%s: assigned %v, want %v", what, got, wantPairs)
		}
	}

	enqueue("r1", "bob", 2*time.Minute)
	want("bob's returning visitor", 5, "r1>bob")

	// Bob is full: his returning visitor waits for him, and one who came
	// after goes to Ann.
	enqueue("r2", "bob", 2*time.Minute)
	clk.Set(clk.Now().Add(time.Second))
	mustEnqueue(t, q, "n1", "public", 2)
	want("bob full", 5, "n1>ann")
	if st := mustState(t, q, "r2"); st.Status != StatusWaiting || st.Position != 1 {
		t.Fatalf("State(r2) = %+v, want waiting, first", st)
	}
	mustRelease(t, q, "r1", StatusActive, "bob", true)
	want("bob has room again", 5, "r2>bob")

	// Ann is free, Bob full: within its preference it waits; after, Ann
	// takes it.
	mustRelease(t, q, "n1", StatusActive, "ann", true)
	enqueue("r3", "bob", time.Minute)
	want("within the preference", 5)
	clk.Set(clk.Now().Add(time.Minute))
	want("past the preference", 5, "r3>ann")

	// Bob off duty: his returning visitor goes to anyone at once.
	mustRelease(t, q, "r3", StatusActive, "ann", true)
	mustRelease(t, q, "r2", StatusActive, "bob", true)
	mustOffDuty(t, q, "bob")
	enqueue("r4", "bob", 2*time.Minute)
	want("bob off duty", 5, "r4>ann")

	// Bob on duty but without a live console: the same.
	mustRelease(t, q, "r4", StatusActive, "ann", true)
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	mustPresent(t, q, "i1", "bob")
	mustAbsent(t, q, "i1", "bob")
	enqueue("r5", "bob", 2*time.Minute)
	want("bob without a console", 5, "r5>ann")
}
