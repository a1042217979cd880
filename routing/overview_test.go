package routing

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestOverview(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout, Queues: []string{"public", "professional", "empty"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Alias: "Bob", Capacity: 3, Audiences: []string{"public"}, Languages: []string{"nl", "en"}})
	mustOnDuty(t, q, Advisor{Name: "cem", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "gone", Capacity: 1, Audiences: []string{"public"}})
	mustOffDuty(t, q, "cem")
	mustOffDuty(t, q, "gone")
	// As if gone's data had expired.
	r.Client.Del(ctx, q.advKey("gone"))

	mustEnqueue(t, q, "b1", "public", 1)
	mustEnqueue(t, q, "b2", "public", 2)
	if got := pairs(mustAssign(t, q, 10)); !slices.Equal(got, []string{"b1>bob", "b2>bob"}) {
		t.Fatalf("Assign = %q, want b1, b2 to bob", got)
	}
	mustAccept(t, q, "b1", "bob")
	clk.Set(at(10 * time.Second))
	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "Ann", Capacity: 2, Audiences: []string{"professional"}})
	for _, w := range []struct {
		id    string
		queue string
		at    time.Duration
		p     int
	}{
		{"n1", "public", 20 * time.Second, PriorityNormal},
		{"h1", "public", 30 * time.Second, PriorityHigh},
		{"u1", "public", 40 * time.Second, PriorityUrgent},
		{"n2", "public", 50 * time.Second, PriorityNormal},
	} {
		clk.Set(at(w.at))
		if _, err := q.Enqueue(ctx, w.id, Need{Audience: w.queue, Lang: "en", Priority: w.p}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(at(time.Minute))
	for i := range overviewDepth + 5 {
		mustEnqueue(t, q, fmt.Sprintf("f%03d", i), "professional", i+1)
	}
	clk.Set(at(2 * time.Minute))
	if err := q.TouchAdvisors(ctx, "ann"); err != nil {
		t.Fatal(err)
	}

	o, err := q.Overview(ctx)
	if err != nil {
		t.Fatalf("Overview() = %v", err)
	}
	wantQueues := []QueueOverview{
		{Name: "public", Waiting: 4, Oldest: at(20 * time.Second), ByPriority: [3]int{2, 1, 1}},
		{Name: "professional", Waiting: overviewDepth + 5, Oldest: at(time.Minute), ByPriority: [3]int{overviewDepth + 5, 0, 0}},
		{Name: "empty"},
	}
	if len(o.Queues) != len(wantQueues) {
		t.Fatalf("Overview().Queues = %+v, want %+v", o.Queues, wantQueues)
	}
	for i, w := range wantQueues {
		if g := o.Queues[i]; g.Name != w.Name || g.Waiting != w.Waiting || !g.Oldest.Equal(w.Oldest) || g.ByPriority != w.ByPriority {
			t.Errorf("Overview().Queues[%d] = %+v, want %+v", i, g, w)
		}
	}

	wantAdvisors := []AdvisorOverview{
		{Name: "ann", Alias: "Ann", Duty: true, Capacity: 2, Audiences: []string{"professional"}, Languages: []string{testLang}, LastSeen: at(2 * time.Minute)},
		{Name: "bob", Alias: "Bob", Duty: true, Capacity: 3, Conversations: []string{"b1"}, Offers: []string{"b2"}, Audiences: []string{"public"}, Languages: []string{"nl", "en"}, LastSeen: t0},
		{Name: "cem", Duty: false, Capacity: 1, Audiences: []string{"public"}, Languages: []string{testLang}},
	}
	if len(o.Advisors) != len(wantAdvisors) {
		t.Fatalf("Overview().Advisors = %+v, want %+v", o.Advisors, wantAdvisors)
	}
	for i, w := range wantAdvisors {
		g := o.Advisors[i]
		if g.Name != w.Name || g.Alias != w.Alias || g.Duty != w.Duty || g.Capacity != w.Capacity || !slices.Equal(g.Conversations, w.Conversations) ||
			!slices.Equal(g.Offers, w.Offers) || !slices.Equal(g.Audiences, w.Audiences) || !slices.Equal(g.Languages, w.Languages) ||
			g.MissedOffers != w.MissedOffers || !g.LastSeen.Equal(w.LastSeen) {
			t.Errorf("Overview().Advisors[%d] = %+v, want %+v", i, g, w)
		}
	}
	if o.Advisors[1].Load() != 1 {
		t.Errorf("bob's Load() = %d, want 1", o.Advisors[1].Load())
	}

	if len(o.Waiting) != 4+overviewDepth {
		t.Fatalf("Overview().Waiting has %d, want %d: 4 public, the first %d professional", len(o.Waiting), 4+overviewDepth, overviewDepth)
	}
	wantFront := []WaitingConversation{
		{ID: "u1", Queue: "public", Lang: "en", Priority: PriorityUrgent, Enqueued: at(40 * time.Second), Position: 1},
		{ID: "h1", Queue: "public", Lang: "en", Priority: PriorityHigh, Enqueued: at(30 * time.Second), Position: 2},
		{ID: "n1", Queue: "public", Lang: "en", Priority: PriorityNormal, Enqueued: at(20 * time.Second), Position: 3},
		{ID: "n2", Queue: "public", Lang: "en", Priority: PriorityNormal, Enqueued: at(50 * time.Second), Position: 4},
		{ID: "f000", Queue: "professional", Lang: testLang, Priority: PriorityNormal, Enqueued: at(time.Minute), Position: 1},
	}
	for i, w := range wantFront {
		if g := o.Waiting[i]; g.ID != w.ID || g.Queue != w.Queue || g.Lang != w.Lang || g.Priority != w.Priority || !g.Enqueued.Equal(w.Enqueued) || g.Position != w.Position {
			t.Errorf("Overview().Waiting[%d] = %+v, want %+v", i, g, w)
		}
	}
	if last := o.Waiting[len(o.Waiting)-1]; last.ID != fmt.Sprintf("f%03d", overviewDepth-1) || last.Position != overviewDepth {
		t.Errorf("last of Overview().Waiting = %+v, want f%03d at %d", last, overviewDepth-1, overviewDepth)
	}
	// The advisor whose data expired is forgotten.
	if ok := r.Client.SIsMember(ctx, q.knownKey(), "gone").Val(); ok {
		t.Errorf("gone is still among the known advisors")
	}
	checkSnapshot(t, q, []QueueStat{
		{Name: "public", Waiting: 4, Oldest: at(20 * time.Second)},
		{Name: "professional", Waiting: overviewDepth + 5, Oldest: at(time.Minute)},
		{Name: "empty"},
	})
}
