package routing

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func mustExpectedWait(tb testing.TB, q *Queue, queue string) (time.Duration, bool) {
	tb.Helper()
	d, ok, err := q.ExpectedWait(context.Background(), queue)
	if err != nil {
		tb.Fatalf("ExpectedWait(%s) = %v", queue, err)
	}
	return d, ok
}

func TestEstimatedWait(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{DefaultHandling: 10 * time.Minute})
	mustEnqueue(t, q, "c1", "public", 1)
	clk.Set(at(time.Second))
	mustEnqueue(t, q, "c2", "public", 2)
	mustEnqueue(t, q, "f1", "professional", 1)

	// Nobody on duty: nobody can say.
	if st := mustState(t, q, "c1"); st.EstimatedWait != UnknownWait {
		t.Errorf("State(c1) with nobody on duty: EstimatedWait = %v, want UnknownWait", st.EstimatedWait)
	}
	if d, ok := mustExpectedWait(t, q, "public"); ok || d != 0 {
		t.Errorf("ExpectedWait(public) with nobody on duty = %v, %v, want 0, false", d, ok)
	}
	if _, _, err := q.ExpectedWait(ctx, "police"); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("ExpectedWait(police) = %v, want %v", err, ErrUnknownQueue)
	}

	// Capacity 3 for public, 1 for professional; no history yet, so the
	// default handling time of 10 minutes.
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public", "professional"}})
	mustOnDuty(t, q, Advisor{Name: "cem", Capacity: 5, Audiences: []string{"public"}})
	mustOffDuty(t, q, "cem")
	// With room, the first ones would go at once: fill every place, as
	// assignment would have.
	for i, name := range []string{"ann", "ann", "bob"} {
		id := fmt.Sprint("busy", i)
		mustEnqueue(t, q, id, "public", 0)
		mustPick(t, q, id, name)
	}
	checkEstimates := func(when string, want map[string]time.Duration) {
		t.Helper()
		for id, w := range want {
			if st := mustState(t, q, id); st.EstimatedWait != w {
				t.Errorf("%s: State(%s).EstimatedWait = %v (position %d), want %v", when, id, st.EstimatedWait, st.Position, w)
			}
		}
	}
	checkEstimates("default handling", map[string]time.Duration{"c1": 200 * time.Second, "c2": 400 * time.Second, "f1": 10 * time.Minute})
	if d, ok := mustExpectedWait(t, q, "public"); !ok || d != 10*time.Minute {
		t.Errorf("ExpectedWait(public) = %v, %v, want 10m (third of three places), true", d, ok)
	}
	if d, ok := mustExpectedWait(t, q, "professional"); !ok || d != 20*time.Minute {
		t.Errorf("ExpectedWait(professional) = %v, %v, want 20m, true", d, ok)
	}

	// Handling times: 4 and 8 minutes, and one handed from ann to bob
	// that took 6 minutes in all. A conversation that ends while waiting
	// has none.
	mustRelease(t, q, "c2", StatusWaiting, "", true)
	// dan and eve serve only while they handle these, so the capacity
	// the estimates use stays ann's and bob's.
	mustOnDuty(t, q, Advisor{Name: "dan", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "eve", Capacity: 1, Audiences: []string{"public"}})
	for i, minutes := range []time.Duration{4, 8, 6} {
		id := fmt.Sprint("h", i)
		start := at(time.Hour * time.Duration(i+1))
		clk.Set(start)
		if _, err := q.Enqueue(ctx, id, Need{Audience: "public", Lang: testLang, Priority: PriorityUrgent}); err != nil {
			t.Fatal(err)
		}
		mustPick(t, q, id, "dan")
		if i == 2 {
			clk.Set(start.Add(time.Minute))
			if _, err := q.Transfer(ctx, id, "dan", Target{Advisor: "eve"}); err != nil {
				t.Fatal(err)
			}
		}
		clk.Set(start.Add(minutes * time.Minute))
		mustRelease(t, q, id, StatusActive, map[bool]string{true: "eve", false: "dan"}[i == 2], true)
	}
	mustOffDuty(t, q, "dan")
	mustOffDuty(t, q, "eve")
	checkEstimates("6 minutes handling", map[string]time.Duration{"c1": 2 * time.Minute, "f1": 6 * time.Minute})

	// An urgent newcomer goes first: its estimate is the front's.
	if _, err := q.Enqueue(ctx, "u1", Need{Audience: "public", Lang: testLang, Priority: PriorityUrgent}); err != nil {
		t.Fatal(err)
	}
	checkEstimates("urgent first", map[string]time.Duration{"u1": 2 * time.Minute, "c1": 4 * time.Minute})
	// The ones not waiting have none.
	mustOnDuty(t, q, Advisor{Name: "dan", Capacity: 1, Audiences: []string{"public"}})
	mustPick(t, q, "u1", "dan")
	if st := mustState(t, q, "u1"); st.EstimatedWait != 0 {
		t.Errorf("State(u1) active: EstimatedWait = %v, want 0", st.EstimatedWait)
	}
	mustRelease(t, q, "u1", StatusActive, "dan", true) // its time drops out below
	mustOffDuty(t, q, "dan")

	// Only the latest 50 count.
	mustOnDuty(t, q, Advisor{Name: "fay", Capacity: 1, Audiences: []string{"professional"}})
	for i := range 60 {
		id := fmt.Sprint("x", i)
		clk.Set(at(10*time.Hour + time.Duration(i)*time.Hour))
		mustEnqueue(t, q, id, "professional", 0)
		mustPick(t, q, id, "fay")
		d := time.Minute
		if i >= 10 {
			d = 3 * time.Minute
		}
		clk.Set(clk.Now().Add(d))
		mustRelease(t, q, id, StatusActive, "fay", true)
	}
	mustOffDuty(t, q, "fay")
	if n := r.Client.LLen(ctx, q.handledKey()).Val(); n != 50 {
		t.Errorf("handling times kept = %d, want 50", n)
	}
	checkEstimates("the latest 50, all 3 minutes", map[string]time.Duration{"c1": time.Minute, "f1": 3 * time.Minute})
}

// TestEstimatedWaitFreePlaces: advisors with room take the first ones at
// once, so a newcomer who would get a free place waits about nothing (a
// busy cap must never turn them away), and only those beyond the free
// places wait for conversations to end.
func TestEstimatedWaitFreePlaces(t *testing.T) {
	q, _, _ := mustQueue(t, Config{DefaultHandling: 12 * time.Minute})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 3, Audiences: []string{"public"}})
	if d, ok := mustExpectedWait(t, q, "public"); !ok || d != 0 {
		t.Errorf("ExpectedWait(public) with three free places = %v, %v, want 0, true", d, ok)
	}
	// Two waiting that ann could take (nobody ran Assign): the third
	// place is still free for a newcomer.
	mustEnqueue(t, q, "c1", "public", 1)
	mustEnqueue(t, q, "c2", "public", 2)
	if d, ok := mustExpectedWait(t, q, "public"); !ok || d != 0 {
		t.Errorf("ExpectedWait(public) with a third free place = %v, %v, want 0, true", d, ok)
	}
	mustPick(t, q, "c1", "ann")
	mustPick(t, q, "c2", "ann")
	mustEnqueue(t, q, "c3", "public", 1)
	// One place left: c3 takes it; a newcomer is one beyond.
	if st := mustState(t, q, "c3"); st.EstimatedWait != 0 {
		t.Errorf("State(c3) with a free place: EstimatedWait = %v, want 0", st.EstimatedWait)
	}
	if d, ok := mustExpectedWait(t, q, "public"); !ok || d != 4*time.Minute {
		t.Errorf("ExpectedWait(public) one beyond the free places = %v, %v, want 4m (12m / 3 places), true", d, ok)
	}
}

func mustPick(tb testing.TB, q *Queue, id, advisor string) {
	tb.Helper()
	if a, err := q.Pick(context.Background(), id, advisor); err != nil {
		tb.Fatalf("Pick(%s, %s) = %+v, %v", id, advisor, a, err)
	}
}

// TestEstimatedWaitLanguage: a conversation whose language nobody on duty
// speaks waits at least until it may fall back, and nobody can say how
// long when it may not fall back or nobody speaks a fallback language.
func TestEstimatedWaitLanguage(t *testing.T) {
	ctx := context.Background()
	q, _, clk := mustQueue(t, Config{DefaultHandling: time.Minute, FallbackAfter: 5 * time.Minute, FallbackLanguages: []string{"en"}})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}, Languages: []string{"en"}})
	if _, err := q.Enqueue(ctx, "busy", Need{Audience: "public", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	mustPick(t, q, "busy", "ann")
	for _, n := range []struct {
		id   string
		need Need
	}{
		{"tr", Need{Audience: "public", Lang: "tr"}},
		{"tr-only", Need{Audience: "public", Lang: "tr", NoFallback: true}},
		{"en", Need{Audience: "public", Lang: "en"}},
	} {
		clk.Set(clk.Now().Add(time.Millisecond)) // in this order
		if _, err := q.Enqueue(ctx, n.id, n.need); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(at(time.Minute))
	for id, want := range map[string]time.Duration{
		"tr":      4*time.Minute + time.Millisecond, // falls back 5 minutes after it came, 1 has gone; the queue alone says 1
		"tr-only": UnknownWait,
		"en":      3 * time.Minute, // third in line, one place, 1 minute each
	} {
		if st := mustState(t, q, id); st.EstimatedWait != want {
			t.Errorf("State(%s).EstimatedWait = %v (position %d), want %v", id, st.EstimatedWait, st.Position, want)
		}
	}
	for _, tt := range []struct {
		need Need
		want time.Duration
		ok   bool
	}{
		{Need{Audience: "public", Lang: "en"}, 4 * time.Minute, true},
		{Need{Audience: "public", Lang: "tr"}, 5 * time.Minute, true},
		{Need{Audience: "public", Lang: "tr", NoFallback: true}, 0, false},
		{Need{Audience: "public"}, 4 * time.Minute, true},
	} {
		d, ok, err := q.ExpectedWaitFor(ctx, tt.need)
		if err != nil || d != tt.want || ok != tt.ok {
			t.Errorf("ExpectedWaitFor(%+v) = %v, %v, %v; want %v, %v", tt.need, d, ok, err, tt.want, tt.ok)
		}
	}
}
