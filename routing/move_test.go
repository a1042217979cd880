package routing

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestTransfer(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Alias: "Bob", Capacity: 1, Audiences: []string{"professional"}})
	mustOnDuty(t, q, Advisor{Name: "cem", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "dan", Capacity: 1, Audiences: []string{"public"}})
	mustOffDuty(t, q, "dan")
	mustEnqueue(t, q, "c1", "public", 1)
	clk.Set(at(time.Second))
	mustEnqueue(t, q, "c2", "public", 2)
	clk.Set(at(2 * time.Second))
	mustEnqueue(t, q, "c3", "public", 3)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann", "c2>cem", "c3>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	clk.Set(at(time.Minute))
	mustEnqueue(t, q, "c4", "public", 1)
	if err := q.SetPriority(ctx, "c1", PriorityHigh); err != nil {
		t.Fatal(err)
	}
	sub := mustSubscribe(t, r, q.AdvisorChannel("ann"), q.AdvisorChannel("bob"))

	refusals := []struct {
		id, from string
		to       Target
		want     error
	}{
		{"c1", "cem", Target{Advisor: "bob"}, ErrNotHeld},
		{"c4", "ann", Target{Advisor: "bob"}, ErrNotHeld}, // waiting
		{"nope", "ann", Target{Advisor: "bob"}, ErrNotHeld},
		{"c1", "ann", Target{Advisor: "dan"}, ErrAdvisorOffDuty},
		{"c1", "ann", Target{Advisor: "nobody"}, ErrAdvisorOffDuty},
		{"c1", "ann", Target{Advisor: "cem"}, ErrAdvisorFull},
		{"c1", "ann", Target{Advisor: "ann"}, ErrBadTarget},
		{"c1", "ann", Target{}, ErrBadTarget},
		{"c1", "ann", Target{Advisor: "bob", Queue: "public"}, ErrBadTarget},
		{"c1", "ann", Target{Queue: "police"}, ErrUnknownQueue},
	}
	for _, tt := range refusals {
		if a, err := q.Transfer(ctx, tt.id, tt.from, tt.to); !errors.Is(err, tt.want) {
			t.Errorf("Transfer(%s, %s, %+v) = %+v, %v, want %v", tt.id, tt.from, tt.to, a, err, tt.want)
		}
	}

	// To an advisor: bob holds it at once, skills aside.
	clk.Set(at(2 * time.Minute))
	a, err := q.Transfer(ctx, "c1", "ann", Target{Advisor: "bob"})
	want := Assignment{Conversation: "c1", Advisor: "bob", Alias: "Bob", Enqueued: t0, Assigned: clk.Now(), Priority: PriorityHigh,
		Queue: "public", From: "ann", Was: StatusActive}
	if err != nil || !sameAssignment(a, want) {
		t.Fatalf("Transfer(c1, ann, bob) = %+v, %v, want %+v", a, err, want)
	}
	wantEvents := []advisorEvent{{Type: "unassigned", Conversation: "c1", Reason: "transferred"}, {Type: "assigned", Conversation: "c1"}}
	if got := receiveEvents(t, sub, 2); !slices.Equal(got, wantEvents) {
		t.Errorf("advisor events = %+v, want %+v", got, wantEvents)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusActive || st.Advisor != "bob" {
		t.Errorf("State(c1) = %+v, want active with bob", st)
	}
	if s := mustAdvisorStatus(t, q, "ann"); !slices.Equal(s.Conversations, []string{"c3"}) {
		t.Errorf("AdvisorStatus(ann) = %+v, want only c3", s)
	}
	if _, err := q.Transfer(ctx, "c1", "ann", Target{Queue: "public"}); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Transfer(c1) by ann after it went = %v, want %v", err, ErrNotHeld)
	}

	// To a queue: it waits at the front of it, with its waiting time and
	// priority; its audience is the queue's.
	a, err = q.Transfer(ctx, "c3", "ann", Target{Queue: "professional"})
	want = Assignment{Conversation: "c3", Enqueued: at(2 * time.Second), Assigned: clk.Now(), Queue: "professional", From: "ann", Was: StatusActive}
	if err != nil || !sameAssignment(a, want) {
		t.Fatalf("Transfer(c3, ann, professional) = %+v, %v, want %+v", a, err, want)
	}
	if got, want := receiveEvent(t, sub), (advisorEvent{Type: "unassigned", Conversation: "c3", Reason: "transferred"}); got != want {
		t.Errorf("advisor event = %+v, want %+v", got, want)
	}
	clk.Set(at(3 * time.Minute))
	mustEnqueue(t, q, "f1", "professional", 2)
	checkStates(t, q, []string{"c3", "f1"}, []ConversationState{
		{ID: "c3", Status: StatusWaiting, Queue: "professional", Audience: "professional", Lang: testLang, Position: 1, Enqueued: at(2 * time.Second)},
		{ID: "f1", Status: StatusWaiting, Queue: "professional", Audience: "professional", Lang: testLang, Position: 2, Enqueued: at(3 * time.Minute)},
	})
	// Only bob serves it, once he has room.
	mustRelease(t, q, "c1", StatusActive, "bob", true)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c3>bob", "c4>ann"}; !slices.Equal(got, want) {
		t.Errorf("Assign = %q, want %q", got, want)
	}
}

func TestReassign(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout})
	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "Ann", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Alias: "Bob", Capacity: 2, Audiences: []string{"professional"}})
	mustEnqueue(t, q, "c1", "public", 1)
	mustEnqueue(t, q, "c2", "public", 2)
	mustEnqueue(t, q, "c3", "public", 3)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	sub := mustSubscribe(t, r, q.AdvisorChannel("ann"), q.AdvisorChannel("bob"))
	clk.Set(at(time.Minute))

	// An offered one: ann's offer is taken back, bob holds it.
	a, err := q.Reassign(ctx, "c1", Target{Advisor: "bob"})
	want := Assignment{Conversation: "c1", Advisor: "bob", Alias: "Bob", Enqueued: t0, Assigned: clk.Now(), Queue: "public", From: "ann", Was: StatusOffered}
	if err != nil || !sameAssignment(a, want) {
		t.Fatalf("Reassign(c1, bob) = %+v, %v, want %+v", a, err, want)
	}
	wantEvents := []advisorEvent{{Type: "unassigned", Conversation: "c1", Reason: "reassigned"}, {Type: "assigned", Conversation: "c1"}}
	if got := receiveEvents(t, sub, 2); !slices.Equal(got, wantEvents) {
		t.Errorf("advisor events = %+v, want %+v", got, wantEvents)
	}
	if n := r.Client.ZCard(ctx, q.timersKey()).Val(); n != 0 {
		t.Errorf("timers = %d, want 0: the offer's timer goes with it", n)
	}
	// A waiting one, to an advisor.
	a, err = q.Reassign(ctx, "c3", Target{Advisor: "bob"})
	if err != nil || a.Advisor != "bob" || a.From != "" || a.Was != StatusWaiting {
		t.Fatalf("Reassign(c3, bob) = %+v, %v, want to bob from the queue", a, err)
	}
	// An active one, to a queue; and refusals.
	a, err = q.Reassign(ctx, "c3", Target{Queue: "public"})
	if err != nil || a.Advisor != "" || a.Queue != "public" || a.From != "bob" || a.Was != StatusActive {
		t.Fatalf("Reassign(c3, public) = %+v, %v, want from bob to the queue", a, err)
	}
	clk.Set(at(90 * time.Second))
	mustEnqueue(t, q, "c5", "public", 3)
	if st := mustState(t, q, "c3"); st.Status != StatusWaiting || st.Position != 2 || !st.Enqueued.Equal(t0) {
		t.Errorf("State(c3) = %+v, want waiting at 2 since t0, between c2 and c5", st)
	}
	for _, tt := range []struct {
		id   string
		to   Target
		want error
	}{
		{"c1", Target{Advisor: "bob"}, ErrBadTarget}, // bob holds it
		{"c2", Target{Advisor: "nobody"}, ErrAdvisorOffDuty},
		{"nope", Target{Advisor: "ann"}, ErrEnded},
		{"c2", Target{Queue: "elsewhere"}, ErrUnknownQueue},
	} {
		if _, err := q.Reassign(ctx, tt.id, tt.to); !errors.Is(err, tt.want) {
			t.Errorf("Reassign(%s, %+v) = %v, want %v", tt.id, tt.to, err, tt.want)
		}
	}
	mustEnqueue(t, q, "c4", "public", 0)
	if _, err := q.Reassign(ctx, "c4", Target{Advisor: "bob"}); err != nil {
		t.Fatalf("Reassign(c4, bob) = %v", err)
	}
	if _, err := q.Reassign(ctx, "c2", Target{Advisor: "bob"}); !errors.Is(err, ErrAdvisorFull) {
		t.Errorf("Reassign(c2, bob) with bob full = %v, want %v", err, ErrAdvisorFull)
	}
	mustRelease(t, q, "c4", StatusActive, "bob", true)
	if _, err := q.Reassign(ctx, "c4", Target{Advisor: "ann"}); !errors.Is(err, ErrEnded) {
		t.Errorf("Reassign(c4) after its end = %v, want %v", err, ErrEnded)
	}

	// An offer's advisor can be made to hold it.
	clk.Set(at(2 * time.Minute))
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c2>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	a, err = q.Reassign(ctx, "c2", Target{Advisor: "ann"})
	if err != nil || a.Advisor != "ann" || a.Was != StatusOffered {
		t.Fatalf("Reassign(c2, ann) while offered to ann = %+v, %v, want held by ann", a, err)
	}
	if s := mustAdvisorStatus(t, q, "ann"); !slices.Equal(s.Conversations, []string{"c2"}) || len(s.Offered) != 0 {
		t.Errorf("AdvisorStatus(ann) = %+v, want c2 held, no offer", s)
	}
}

func TestPick(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout})
	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "Ann", Capacity: 2, Audiences: []string{"public"}, Languages: []string{"nl"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"professional"}})
	mustOnDuty(t, q, Advisor{Name: "dan", Capacity: 1, Audiences: []string{"public"}})
	mustOffDuty(t, q, "dan")
	mustEnqueue(t, q, "c1", "public", 1)
	for i, id := range []string{"c2", "c3", "c4"} {
		clk.Set(at(time.Duration(i+1) * time.Second))
		if _, err := q.Enqueue(ctx, id, Need{Audience: "public", Lang: "ar"}); err != nil {
			t.Fatal(err)
		}
	}
	mustEnqueue(t, q, "f1", "professional", 1)
	if got, want := pairs(mustAssign(t, q, 1)), []string{"c1>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	sub := mustSubscribe(t, r, q.AdvisorChannel("ann"))
	clk.Set(at(time.Minute))

	// c3 speaks Arabic: ann's call. She takes it before c2.
	a, err := q.Pick(ctx, "c3", "ann")
	want := Assignment{Conversation: "c3", Advisor: "ann", Alias: "Ann", Enqueued: at(2 * time.Second), Assigned: clk.Now(), Queue: "public", From: "", Was: StatusWaiting}
	if err != nil || !sameAssignment(a, want) {
		t.Fatalf("Pick(c3, ann) = %+v, %v, want %+v", a, err, want)
	}
	if got, want := receiveEvent(t, sub), (advisorEvent{Type: "assigned", Conversation: "c3"}); got != want {
		t.Errorf("advisor event = %+v, want %+v", got, want)
	}
	if st := mustState(t, q, "c4"); st.Position != 2 {
		t.Errorf("State(c4) = %+v, want waiting at 2", st)
	}
	for _, tt := range []struct {
		id, adv string
		want    error
	}{
		{"c1", "ann", ErrNotWaiting}, // offered to her
		{"c3", "bob", ErrNotWaiting}, // active
		{"nope", "ann", ErrNotWaiting},
		{"c2", "ann", ErrAdvisorFull}, // c1 offered, c3 held
		{"c2", "bob", ErrNotSkilled},
		{"c2", "dan", ErrAdvisorOffDuty},
		{"c2", "nobody", ErrAdvisorOffDuty},
	} {
		if a, err := q.Pick(ctx, tt.id, tt.adv); !errors.Is(err, tt.want) {
			t.Errorf("Pick(%s, %s) = %+v, %v, want %v", tt.id, tt.adv, a, err, tt.want)
		}
	}
	if a, err := q.Pick(ctx, "f1", "bob"); err != nil || a.Advisor != "bob" {
		t.Errorf("Pick(f1, bob) = %+v, %v, want bob's", a, err)
	}
	checkStates(t, q, []string{"c2", "c4"}, []ConversationState{
		{ID: "c2", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: "ar", Position: 1},
		{ID: "c4", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: "ar", Position: 2},
	})
}
