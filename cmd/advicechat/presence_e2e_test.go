package main

import (
	"context"
	"testing"

	"github.com/advicechat/advicechat/cmd/advicechat/config"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

func isAwayState(away bool) func(frame) bool {
	return func(f frame) bool {
		return f.str("type") == "state" && f.str("status") == "active" && (f.str("reason") == "advisor_away") == away
	}
}

// TestAdvisorWithoutConsoleGetsNoNewConversations: an advisor on duty
// whose console socket closes keeps their conversation through the grace
// but is given no new one, and their visitor is told the advisor's
// connection dropped; back within the grace, they get the waiting one and
// the visitor hears they are back.
func TestAdvisorWithoutConsoleGetsNoNewConversations(t *testing.T) {
	ctx := context.Background()
	a := startApp(t, nil)
	adv, hc := onDutyAdvisor(t, a, "demo", "-name", "Demo", "-max", "3")
	v1, conv1, _ := activeConversation(t, a, adv)
	sup := a.supervisorSocket(t, a.supervisor(t, "sara"))
	consoleShown := func(what string, connected bool) {
		t.Helper()
		sup.expect(what, isOverview(func(f frame) bool {
			r := overviewAdvisor(f, "demo")
			return r != nil && r["duty"] == true && r["connected"] == connected
		}))
	}
	consoleShown("the supervisor sees demo's console open", true)

	adv.conn.CloseNow()
	v1.expect("state: the advisor's connection dropped", isAwayState(true))
	consoleShown("the supervisor sees demo on duty without a console", false)

	v2, conv2, _ := startConversation(t, a, "public")
	v2.expect("waiting", isState("waiting"))
	// One more assignment round of our own, after the start: had the
	// advisor been eligible, conv2 would be theirs once it returns,
	// whichever instance's round gave it.
	q, err := routing.New(a.Redis.Client, routing.Config{Prefix: a.Redis.Prefix, Queues: config.Queues})
	if err != nil {
		t.Fatal(err)
	}
	if as, err := q.Assign(ctx, 16); err != nil || len(as) != 0 {
		t.Fatalf("Assign with the advisor's console gone = %+v, %v, want none", as, err)
	}
	for _, id := range []string{conv1, conv2} {
		st, err := q.State(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case id == conv1 && (st.Status != routing.StatusActive || st.Advisor != "demo" || !st.AdvisorAway):
			t.Errorf("the held conversation = %+v, want still demo's, advisor away", st)
		case id == conv2 && st.Status != routing.StatusWaiting:
			t.Errorf("the new conversation = %+v, want waiting: it went to an advisor without a console", st)
		}
	}

	// Back within the grace: the waiting visitor is theirs now, and the
	// first visitor hears they are back.
	adv2 := a.advisor(t, hc, nil)
	adv2.expectAll("both conversations on the console",
		func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv1 },
		func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv2 },
	)
	v2.expect("state active", isAwayState(false))
	v1.expect("state: the advisor is back", isAwayState(false))
	consoleShown("the supervisor sees demo's console back", true)
	v1.send(protocol.Message{Type: protocol.TypeMessage, ID: "m1", Text: "fijn dat je er weer bent"})
	adv2.expect("the first visitor's message", isText(conv1, "fijn dat je er weer bent"))
}
