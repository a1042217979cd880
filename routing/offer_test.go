package routing

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

const offerTimeout = 30 * time.Second

func mustAccept(tb testing.TB, q *Queue, id, advisor string) Assignment {
	tb.Helper()
	a, err := q.Accept(context.Background(), id, advisor)
	if err != nil {
		tb.Fatalf("Accept(%s, %s) = %v", id, advisor, err)
	}
	return a
}

func mustAdvisorStatus(tb testing.TB, q *Queue, name string) AdvisorStatus {
	tb.Helper()
	s, err := q.AdvisorStatus(context.Background(), name)
	if err != nil {
		tb.Fatalf("AdvisorStatus(%s) = %v", name, err)
	}
	return s
}

// missedOffers reads an advisor's count of offers missed in a row.
func missedOffers(tb testing.TB, q *Queue, name string) int {
	tb.Helper()
	o, err := q.Overview(context.Background())
	if err != nil {
		tb.Fatalf("Overview() = %v", err)
	}
	for _, a := range o.Advisors {
		if a.Name == name {
			return a.MissedOffers
		}
	}
	tb.Fatalf("Overview() has no advisor %s", name)
	return 0
}

func TestOfferAcceptedInTime(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout})
	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "Ann", Capacity: 1, Audiences: []string{"public"}})
	sub := mustSubscribe(t, r, q.AdvisorChannel("ann"))
	mustEnqueue(t, q, "c1", "public", 1)
	clk.Set(at(time.Second))
	mustEnqueue(t, q, "c2", "public", 2)

	clk.Set(at(2 * time.Second))
	as := mustAssign(t, q, 10)
	want := Assignment{Conversation: "c1", Advisor: "ann", Alias: "Ann", Enqueued: t0, Assigned: at(2 * time.Second),
		Queue: "public", Offer: true, Deadline: at(2*time.Second + offerTimeout)}
	if len(as) != 1 || !sameAssignment(as[0], want) {
		t.Fatalf("Assign = %+v, want only %+v: the offer fills ann's capacity", as, want)
	}
	if got, want := receiveEvent(t, sub), (advisorEvent{Type: "offered", Conversation: "c1", Deadline: want.Deadline.UnixMilli()}); got != want {
		t.Errorf("advisor event = %+v, want %+v", got, want)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusOffered || st.Advisor != "ann" || st.Position != 0 || !st.OfferDeadline.Equal(want.Deadline) {
		t.Errorf("State(c1) = %+v, want offered to ann until %v", st, want.Deadline)
	}
	if st := mustState(t, q, "c2"); st.Status != StatusWaiting || st.Position != 1 {
		t.Errorf("State(c2) = %+v, want waiting at 1", st)
	}
	if s := mustAdvisorStatus(t, q, "ann"); len(s.Conversations) != 0 || !slices.Equal(s.Offered, []string{"c1"}) {
		t.Errorf("AdvisorStatus(ann) = %+v, want c1 offered, nothing held", s)
	}
	if _, err := q.Accept(ctx, "c1", "bob"); !errors.Is(err, ErrOfferExpired) {
		t.Errorf("Accept(c1, bob) = %v, want %v: it is offered to ann", err, ErrOfferExpired)
	}

	// Just before the deadline.
	clk.Set(at(2*time.Second + offerTimeout - time.Millisecond))
	a := mustAccept(t, q, "c1", "ann")
	want.Offer, want.Deadline, want.Assigned, want.From, want.Was = false, time.Time{}, clk.Now(), "ann", StatusOffered
	if !sameAssignment(a, want) {
		t.Errorf("Accept(c1, ann) = %+v, want %+v", a, want)
	}
	if got, want := receiveEvent(t, sub), (advisorEvent{Type: "assigned", Conversation: "c1"}); got != want {
		t.Errorf("advisor event = %+v, want %+v", got, want)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusActive || st.Advisor != "ann" || !st.Assigned.Equal(clk.Now()) {
		t.Errorf("State(c1) = %+v, want active with ann since now", st)
	}
	if s := mustAdvisorStatus(t, q, "ann"); !slices.Equal(s.Conversations, []string{"c1"}) || len(s.Offered) != 0 {
		t.Errorf("AdvisorStatus(ann) = %+v, want c1 held, no offers", s)
	}
	if _, err := q.Accept(ctx, "c1", "ann"); !errors.Is(err, ErrOfferExpired) {
		t.Errorf("Accept(c1, ann) again = %v, want %v", err, ErrOfferExpired)
	}
	// Its timer went with the offer: no sweep expires it later.
	clk.Set(at(time.Hour))
	if err := q.TouchAdvisors(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if err := q.TouchVisitors(ctx, "c1", "c2"); err != nil {
		t.Fatal(err)
	}
	if res := mustSweep(t, q); len(res.OffersExpired) != 0 {
		t.Errorf("Sweep() after the accept = %+v, want no offer expired", res)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusActive {
		t.Errorf("State(c1) after the sweep = %+v, want active", st)
	}
}

// sameAssignment compares assignments, times by instant.
func sameAssignment(a, b Assignment) bool {
	return a.Conversation == b.Conversation && a.Advisor == b.Advisor && a.Alias == b.Alias && a.Enqueued.Equal(b.Enqueued) &&
		a.Assigned.Equal(b.Assigned) && a.Priority == b.Priority && a.Queue == b.Queue && a.Offer == b.Offer &&
		a.Deadline.Equal(b.Deadline) && a.From == b.From && a.Was == b.Was
}

func TestOfferExpires(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout, AdvisorGrace: time.Hour, VisitorGrace: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public"}})
	sub := mustSubscribe(t, r, q.AdvisorChannel("ann"))
	mustEnqueue(t, q, "c1", "public", 1)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	receiveEvent(t, sub) // offered
	// bob comes, and gets and accepts b1: his load is 1 of 2.
	clk.Set(at(time.Second))
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 2, Audiences: []string{"public"}})
	mustEnqueue(t, q, "b1", "public", 1)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"b1>bob"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	mustAccept(t, q, "b1", "bob")
	clk.Set(at(2 * time.Second))
	mustEnqueue(t, q, "c2", "public", 1)
	mustEnqueue(t, q, "c3", "public", 2)
	if err := q.SetPriority(ctx, "c1", PriorityHigh); err != nil {
		t.Fatalf("SetPriority(c1) = %v", err)
	}

	// At the deadline the offer is over, sweep or not.
	clk.Set(at(offerTimeout))
	if _, err := q.Accept(ctx, "c1", "ann"); !errors.Is(err, ErrOfferExpired) {
		t.Errorf("Accept(c1, ann) at the deadline = %v, want %v", err, ErrOfferExpired)
	}
	res := mustSweep(t, q)
	if want := []ExpiredOffer{{Conversation: "c1", Advisor: "ann"}}; !slices.Equal(res.OffersExpired, want) || len(res.Requeued) != 0 || len(res.Withdrawn) != 0 {
		t.Fatalf("Sweep() = %+v, want OffersExpired %+v only", res, want)
	}
	if got, want := receiveEvent(t, sub), (advisorEvent{Type: "unassigned", Conversation: "c1", Reason: "offer_expired"}); got != want {
		t.Errorf("advisor event = %+v, want %+v", got, want)
	}
	// Back at the front, with its waiting time and its new priority.
	if st := mustState(t, q, "c1"); st.Status != StatusWaiting || st.Position != 1 || st.Advisor != "" || !st.Enqueued.Equal(t0) || st.Priority != PriorityHigh {
		t.Errorf("State(c1) = %+v, want waiting at 1 since t0, priority high", st)
	}
	if st := mustState(t, q, "c2"); st.Position != 2 {
		t.Errorf("State(c2) = %+v, want waiting at 2", st)
	}
	if s := mustAdvisorStatus(t, q, "ann"); !s.Duty || len(s.Offered) != 0 {
		t.Errorf("AdvisorStatus(ann) = %+v, want on duty without offers", s)
	}
	if n := missedOffers(t, q, "ann"); n != 1 {
		t.Errorf("ann missed %d offers, want 1", n)
	}
	if _, err := q.Accept(ctx, "c1", "ann"); !errors.Is(err, ErrOfferExpired) {
		t.Errorf("Accept(c1, ann) after the sweep = %v, want %v", err, ErrOfferExpired)
	}
	if res := mustSweep(t, q); len(res.OffersExpired) != 0 {
		t.Errorf("second Sweep() = %+v, want nothing: the timer fired once", res)
	}

	// The policy would choose ann (load 0 of 2, bob 1 of 2), but she let
	// c1's offer expire: bob gets it; c2 and c3 go by the policy.
	as := mustAssign(t, q, 1)
	if got, want := pairs(as), []string{"c1>bob"}; !slices.Equal(got, want) {
		t.Fatalf("Assign after the expiry = %q, want %q", got, want)
	}
	if !as[0].Enqueued.Equal(t0) || as[0].Priority != PriorityHigh {
		t.Errorf("Assign gave %+v, want enqueued at t0 with priority high", as[0])
	}
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c2>ann", "c3>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	// Accepting starts ann's count again.
	mustAccept(t, q, "c2", "ann")
	if n := missedOffers(t, q, "ann"); n != 0 {
		t.Errorf("ann missed %d offers after accepting one, want 0", n)
	}
}

func TestExpiredOfferGoesBackWhenNobodyElse(t *testing.T) {
	q, _, clk := mustQueue(t, Config{OfferTimeout: offerTimeout, AdvisorGrace: time.Hour, VisitorGrace: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"professional"}})
	mustEnqueue(t, q, "c1", "public", 1)
	mustAssign(t, q, 1)
	clk.Set(at(offerTimeout))
	mustSweep(t, q)
	// bob is not eligible: ann, who missed it, is the only one.
	as := mustAssign(t, q, 1)
	if got, want := pairs(as), []string{"c1>ann"}; !slices.Equal(got, want) || !as[0].Offer {
		t.Errorf("Assign = %+v, want c1 offered to ann again", as)
	}
}

func TestNotResponding(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout, MissedOffers: 2, AdvisorGrace: time.Hour, VisitorGrace: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 3, Audiences: []string{"public"}})
	sub := mustSubscribe(t, r, q.AdvisorChannel("ann"))
	mustEnqueue(t, q, "a1", "public", 1)
	mustAssign(t, q, 1)
	mustAccept(t, q, "a1", "ann")
	mustEnqueue(t, q, "c1", "public", 1)
	mustAssign(t, q, 1)
	receiveEvents(t, sub, 3) // offered, assigned, offered

	// First miss.
	clk.Set(at(offerTimeout))
	if res := mustSweep(t, q); !slices.Equal(res.OffersExpired, []ExpiredOffer{{"c1", "ann", false}}) {
		t.Fatalf("Sweep() = %+v, want c1's offer to ann expired", res)
	}
	receiveEvent(t, sub) // unassigned c1
	// Offered again (nobody else), and c2 with it, a little later.
	if got, want := pairs(mustAssign(t, q, 1)), []string{"c1>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	clk.Set(at(offerTimeout + time.Second))
	mustEnqueue(t, q, "c2", "public", 1)
	if got, want := pairs(mustAssign(t, q, 1)), []string{"c2>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	receiveEvents(t, sub, 2) // offered c1, c2

	// Second miss: ann goes off duty, all she had goes back.
	clk.Set(at(2 * offerTimeout))
	res := mustSweep(t, q)
	if want := []ExpiredOffer{{"c1", "ann", true}}; !slices.Equal(res.OffersExpired, want) {
		t.Errorf("Sweep().OffersExpired = %+v, want %+v", res.OffersExpired, want)
	}
	if want := []Requeue{{"a1", "ann", CauseNotResponding}}; !slices.Equal(res.Requeued, want) {
		t.Errorf("Sweep().Requeued = %+v, want %+v", res.Requeued, want)
	}
	if want := []Requeue{{"c2", "ann", CauseNotResponding}}; !slices.Equal(res.Withdrawn, want) {
		t.Errorf("Sweep().Withdrawn = %+v, want %+v", res.Withdrawn, want)
	}
	got := receiveEvents(t, sub, 4)
	want := []advisorEvent{
		{Type: "unassigned", Conversation: "c1", Reason: "offer_expired"},
		{Type: "unassigned", Conversation: "a1", Reason: "not_responding"},
		{Type: "unassigned", Conversation: "c2", Reason: "not_responding"},
		{Type: "off_duty", Reason: "not_responding"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("advisor events = %+v, want %+v", got, want)
	}
	if s := mustAdvisorStatus(t, q, "ann"); s.Duty || len(s.Conversations) != 0 || len(s.Offered) != 0 {
		t.Errorf("AdvisorStatus(ann) = %+v, want off duty with nothing", s)
	}
	checkStates(t, q, []string{"a1", "c1", "c2"}, []ConversationState{
		{ID: "a1", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 1, Enqueued: t0},
		{ID: "c1", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 2, Enqueued: t0},
		{ID: "c2", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 3, Enqueued: at(offerTimeout + time.Second)},
	})
	if n := r.Client.ZCard(ctx, q.timersKey()).Val(); n != 0 {
		t.Errorf("timers left = %d, want 0: c2's offer was taken back", n)
	}
	// On duty again, she starts afresh.
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 3, Audiences: []string{"public"}})
	if n := missedOffers(t, q, "ann"); n != 0 {
		t.Errorf("ann back on duty missed %d offers, want 0", n)
	}
}

func TestOffersWithdrawn(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout, AdvisorGrace: time.Minute, VisitorGrace: time.Hour})
	for _, name := range []string{"ann", "bob"} {
		mustOnDuty(t, q, Advisor{Name: name, Capacity: 2, Audiences: []string{"public"}})
	}
	for _, id := range []string{"c1", "c2", "c3", "c4"} {
		mustEnqueue(t, q, id, "public", 0)
	}
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann", "c2>bob", "c3>ann", "c4>bob"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	mustAccept(t, q, "c1", "ann")

	// Off duty: c1 requeued, c3 withdrawn.
	res, err := q.TakeOffDuty(ctx, "ann")
	if err != nil || !slices.Equal(res.Requeued, []string{"c1"}) || !slices.Equal(res.Withdrawn, []string{"c3"}) {
		t.Errorf("TakeOffDuty(ann) = %+v, %v, want c1 requeued, c3 withdrawn", res, err)
	}
	// Released while offered: bob's offer of c2 ends with it.
	mustRelease(t, q, "c2", StatusOffered, "bob", true)
	if s := mustAdvisorStatus(t, q, "bob"); !slices.Equal(s.Offered, []string{"c4"}) {
		t.Errorf("AdvisorStatus(bob) = %+v, want only c4 offered", s)
	}
	// bob's heartbeat stops: c4 withdrawn.
	clk.Set(at(2 * time.Minute))
	sweep := mustSweep(t, q)
	if want := []Requeue{{"c4", "bob", CauseAdvisorLost}}; !slices.Equal(sweep.Withdrawn, want) || len(sweep.Requeued) != 0 || len(sweep.OffersExpired) != 0 {
		t.Errorf("Sweep() = %+v, want Withdrawn %+v only", sweep, want)
	}
	if n := r.Client.ZCard(ctx, q.timersKey()).Val(); n != 0 {
		t.Errorf("timers left = %d, want 0", n)
	}
	for i, id := range []string{"c1", "c3", "c4"} {
		if st := mustState(t, q, id); st.Status != StatusWaiting || st.Position != i+1 {
			t.Errorf("State(%s) = %+v, want waiting at %d", id, st, i+1)
		}
	}
}

func TestNewOfferConfig(t *testing.T) {
	r := redistest.New(t)
	for _, tt := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{OfferTimeout: time.Minute, MaxWait: time.Hour, MissedOffers: -1}, true},
		{Config{OfferTimeout: -time.Second}, false},
		{Config{MaxWait: -time.Second}, false},
	} {
		tt.cfg.Prefix, tt.cfg.Queues = r.Prefix, []string{"public"}
		q, err := New(r.Client, tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("New(%+v) = %v, want ok %v", tt.cfg, err, tt.ok)
		}
		if err != nil {
			continue
		}
		c := q.Config()
		if c.DefaultHandling != DefaultConfig().DefaultHandling || (tt.cfg.MissedOffers == 0 && c.MissedOffers != 3) || (tt.cfg.MissedOffers != 0 && c.MissedOffers != tt.cfg.MissedOffers) {
			t.Errorf("New(%+v).Config() = %+v, want the default handling time, MissedOffers 3 unless set", tt.cfg, c)
		}
	}
}
