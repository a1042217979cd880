package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// queueOrder returns the ids waiting in a queue, front first.
func queueOrder(tb testing.TB, q *Queue, name string) []string {
	tb.Helper()
	ids, err := q.rdb.ZRange(context.Background(), q.queueKey(name), 0, -1).Result()
	if err != nil {
		tb.Fatalf("ZRANGE %s = %v", name, err)
	}
	return ids
}

func TestSetPriority(t *testing.T) {
	ctx := context.Background()
	q, _, clk := mustQueue(t, Config{})
	for i := range 4 {
		clk.Set(at(time.Duration(i) * time.Second))
		mustEnqueue(t, q, fmt.Sprint("c", i+1), "public", i+1)
	}
	clk.Set(at(10 * time.Second))
	if pos, err := q.Enqueue(ctx, "h1", Need{Audience: "public", Lang: testLang, Priority: PriorityHigh}); err != nil || pos != 1 {
		t.Fatalf("Enqueue(h1, high) = %d, %v, want 1: before every normal one", pos, err)
	}
	steps := []struct {
		id   string
		p    int
		want []string
	}{
		{"c3", PriorityHigh, []string{"c3", "h1", "c1", "c2", "c4"}}, // c3 has waited longer than h1
		{"c4", PriorityUrgent, []string{"c4", "c3", "h1", "c1", "c2"}},
		{"c3", PriorityNormal, []string{"c4", "h1", "c1", "c2", "c3"}},
		{"h1", PriorityNormal, []string{"c4", "c1", "c2", "c3", "h1"}},
		{"c4", PriorityNormal, []string{"c1", "c2", "c3", "c4", "h1"}},
	}
	for _, s := range steps {
		if err := q.SetPriority(ctx, s.id, s.p); err != nil {
			t.Fatalf("SetPriority(%s, %d) = %v", s.id, s.p, err)
		}
		if got := queueOrder(t, q, "public"); !slices.Equal(got, s.want) {
			t.Errorf("after SetPriority(%s, %d): queue %q, want %q", s.id, s.p, got, s.want)
		}
		if st := mustState(t, q, s.id); st.Priority != s.p || st.Position != slices.Index(s.want, s.id)+1 {
			t.Errorf("State(%s) = %+v, want priority %d at %d", s.id, st, s.p, slices.Index(s.want, s.id)+1)
		}
	}
	// The real waiting time stays what it was, whatever the priority.
	if err := q.SetPriority(ctx, "c2", PriorityUrgent); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, q, []QueueStat{{Name: "public", Waiting: 5, Oldest: t0}, {Name: "professional"}})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	if as := mustAssign(t, q, 1); len(as) != 1 || as[0].Conversation != "c2" || !as[0].Enqueued.Equal(at(time.Second)) || as[0].Priority != PriorityUrgent {
		t.Errorf("Assign = %+v, want c2, urgent, enqueued at 1s", as)
	}

	// An active one keeps its new priority for when it waits again.
	if err := q.SetPriority(ctx, "c2", PriorityHigh); err != nil {
		t.Fatalf("SetPriority(active c2) = %v", err)
	}
	if got := mustOffDuty(t, q, "ann"); !slices.Equal(got, []string{"c2"}) {
		t.Fatalf("OffDuty(ann) = %q, want c2", got)
	}
	if got, want := queueOrder(t, q, "public"), []string{"c2", "c1", "c3", "c4", "h1"}; !slices.Equal(got, want) {
		t.Errorf("queue after the requeue = %q, want %q", got, want)
	}

	for _, p := range []int{-1, PriorityUrgent + 1} {
		if err := q.SetPriority(ctx, "c1", p); !errors.Is(err, ErrBadPriority) {
			t.Errorf("SetPriority(c1, %d) = %v, want %v", p, err, ErrBadPriority)
		}
		if _, err := q.Enqueue(ctx, "x", Need{Audience: "public", Lang: testLang, Priority: p}); !errors.Is(err, ErrBadPriority) {
			t.Errorf("Enqueue(priority %d) = %v, want %v", p, err, ErrBadPriority)
		}
	}
	mustRelease(t, q, "c1", StatusWaiting, "", true)
	for _, id := range []string{"c1", "nope"} {
		if err := q.SetPriority(ctx, id, PriorityHigh); !errors.Is(err, ErrEnded) {
			t.Errorf("SetPriority(%s) = %v, want %v", id, err, ErrEnded)
		}
	}
}
