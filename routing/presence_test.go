package routing

import (
	"context"
	"errors"
	"testing"
	"time"
)

func ctxTimeout(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	tb.Cleanup(cancel)
	return ctx
}

func mustPresent(tb testing.TB, q *Queue, instance string, names ...string) {
	tb.Helper()
	if err := q.Present(context.Background(), instance, names...); err != nil {
		tb.Fatalf("Present(%s, %v) = %v", instance, names, err)
	}
}

func mustAbsent(tb testing.TB, q *Queue, instance, name string) {
	tb.Helper()
	if err := q.Absent(context.Background(), instance, name); err != nil {
		tb.Fatalf("Absent(%s, %s) = %v", instance, name, err)
	}
}

// TestNoNewConversationsWithoutLiveConsole: an advisor whose console
// sockets are all gone keeps the conversation they hold through the
// advisor grace but is given nothing new (assigned, offered, transferred,
// reassigned, counted in estimates); their visitor's state says they are
// away; back on any instance within the grace they get new ones again.
func TestNoNewConversationsWithoutLiveConsole(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{AdvisorGrace: time.Minute, PresenceFor: 20 * time.Second})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 3, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	mustPresent(t, q, "i1", "ann", "bob")
	mustEnqueue(t, q, "c1", "public", 1)
	if got := pairs(mustAssign(t, q, 1)); len(got) != 1 || got[0] != "c1>ann" {
		t.Fatalf("first assignment = %v, want [c1>ann]", got)
	}
	mustEnqueue(t, q, "b1", "public", 1)
	if got := pairs(mustAssign(t, q, 1)); len(got) != 1 || got[0] != "b1>bob" {
		t.Fatalf("second assignment = %v, want [b1>bob]", got)
	}
	if st := mustState(t, q, "c1"); st.AdvisorAway {
		t.Fatalf("State(c1) = %+v: away while ann's console is live", st)
	}

	// ann's last socket closes: her visitor's routing channel hears it.
	sub := mustSubscribe(t, r, q.ChangedChannel())
	mustAbsent(t, q, "i1", "ann")
	if msg, err := sub.ReceiveMessage(ctxTimeout(t)); err != nil || msg.Payload != "presence" {
		t.Fatalf("change announced when ann went = %v, %v, want presence", msg, err)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusActive || st.Advisor != "ann" || !st.AdvisorAway {
		t.Fatalf("State(c1) after ann's console went = %+v, want active, ann, away", st)
	}
	if ok, err := q.Connected(ctx, "ann"); err != nil || ok {
		t.Fatalf("Connected(ann) = %v, %v, want false", ok, err)
	}
	connectedInOverview(t, q, map[string]bool{"ann": false, "bob": true})

	// A newcomer is not hers, although she has room; nobody else has.
	mustEnqueue(t, q, "c2", "public", 1)
	if as := mustAssign(t, q, 5); len(as) != 0 {
		t.Fatalf("Assign while ann has no console = %v, want none", pairs(as))
	}
	if d, ok := mustExpectedWait(t, q, "public"); !ok || d == 0 {
		t.Errorf("ExpectedWait(public) = %s, %v: ann's free places count while she has no console", d, ok)
	}
	if _, err := q.Reassign(ctx, "c2", Target{Advisor: "ann"}); !errors.Is(err, ErrAdvisorOffDuty) {
		t.Errorf("Reassign(c2) to ann without a console = %v, want ErrAdvisorOffDuty", err)
	}
	if _, err := q.Transfer(ctx, "b1", "bob", Target{Advisor: "ann"}); !errors.Is(err, ErrAdvisorOffDuty) {
		t.Errorf("Transfer(b1) to ann without a console = %v, want ErrAdvisorOffDuty", err)
	}

	// Within the grace she keeps c1 and stays on duty.
	clk.Set(at(50 * time.Second))
	if res := mustSweep(t, q); len(res.Requeued) != 0 {
		t.Fatalf("Sweep within the grace requeued %+v", res.Requeued)
	}
	if st := mustAdvisorStatus(t, q, "ann"); !st.Duty || len(st.Conversations) != 1 {
		t.Fatalf("ann within the grace = %+v, want on duty holding c1", st)
	}

	// Back through another instance: c2 is hers, c1's visitor sees her back.
	if err := q.TouchAdvisors(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	mustPresent(t, q, "i2", "ann")
	if got := pairs(mustAssign(t, q, 5)); len(got) != 1 || got[0] != "c2>ann" {
		t.Fatalf("Assign after ann came back = %v, want [c2>ann]", got)
	}
	if st := mustState(t, q, "c1"); st.AdvisorAway {
		t.Fatalf("State(c1) after ann came back = %+v, still away", st)
	}
	// bob's record, never renewed, ran out after PresenceFor.
	connectedInOverview(t, q, map[string]bool{"ann": true, "bob": false})
}

// connectedInOverview checks the supervisor's overview marks each advisor
// named as connected or not.
func connectedInOverview(tb testing.TB, q *Queue, want map[string]bool) {
	tb.Helper()
	ov, err := q.Overview(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range ov.Advisors {
		if w, ok := want[a.Name]; ok && a.Connected != w {
			tb.Errorf("Overview: %s connected %v, want %v", a.Name, a.Connected, w)
		}
		delete(want, a.Name)
	}
	for name := range want {
		tb.Errorf("Overview has no advisor %s", name)
	}
}

// TestPresenceAcrossInstances: an advisor is connected while any
// instance's record holds; one instance's last socket closing does not
// count for another's; a record not renewed (its instance died) runs out
// after PresenceFor; an advisor whose presence was never recorded counts
// as connected (on duty through an instance that does not record it).
func TestPresenceAcrossInstances(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{PresenceFor: 20 * time.Second})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 5, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "old", Capacity: 5, Audiences: []string{"professional"}})
	mustPresent(t, q, "i1", "ann")
	mustPresent(t, q, "i2", "ann")
	mustAbsent(t, q, "i1", "ann")
	mustEnqueue(t, q, "c1", "public", 1)
	if got := pairs(mustAssign(t, q, 1)); len(got) != 1 || got[0] != "c1>ann" {
		t.Fatalf("Assign with ann's console on i2 = %v, want [c1>ann]", got)
	}
	// i2 dies without a word.
	clk.Set(at(21 * time.Second))
	mustEnqueue(t, q, "c2", "public", 1)
	if as := mustAssign(t, q, 1); len(as) != 0 {
		t.Fatalf("Assign after i2's record ran out = %v, want none", pairs(as))
	}
	if st := mustState(t, q, "c1"); !st.AdvisorAway {
		t.Fatalf("State(c1) after i2's record ran out = %+v, want away", st)
	}
	// The never-recorded advisor takes conversations as before.
	mustEnqueue(t, q, "p1", "professional", 1)
	if got := pairs(mustAssign(t, q, 1)); len(got) != 1 || got[0] != "p1>old" {
		t.Fatalf("Assign to an advisor without presence records = %v, want [p1>old]", got)
	}
	if st := mustState(t, q, "p1"); st.AdvisorAway {
		t.Fatalf("State(p1) = %+v: away without presence records", st)
	}
	// The live set lives with the advisor: it has a TTL.
	if ttl := r.Client.TTL(ctx, q.liveKey("ann")).Val(); ttl <= 0 {
		t.Fatalf("TTL of ann's live set = %s, want one", ttl)
	}
	if err := q.Present(ctx, "", "ann"); err == nil {
		t.Fatal("Present without an instance name succeeded")
	}
}
