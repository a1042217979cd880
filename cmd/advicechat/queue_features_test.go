package main

import (
	"strings"
	"testing"

	"github.com/advicechat/advicechat/web/protocol"
)

func isType(typ string) func(frame) bool {
	return func(f frame) bool { return f.str("type") == typ }
}

func isErrorFor(conv string) func(frame) bool {
	return func(f frame) bool { return f.str("type") == "error" && f.str("conversation") == conv }
}

// TestOffers runs the service with offers: a conversation is offered to
// the advisor, who accepts it in time and has it; the next offer runs out
// and goes to a colleague, and accepting it afterwards is refused; after
// the allowed number of missed offers in a row the advisor is taken off
// duty as not responding, and their conversation goes back to the queue.
func TestOffers(t *testing.T) {
	t.Parallel()
	a := startApp(t, map[string]string{"ADVICECHAT_OFFER_TIMEOUT": "2s", "ADVICECHAT_MISSED_OFFERS": "2"})
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "2")
	// Bert logs in now and goes on duty later, in one step.
	bert := a.advisor(t, a.login(t, "bert", a.addAdvisor(t, "bert", "-name", "Bert", "-max", "1")), nil)
	bert.expect("status", isType("status"))
	isOffer := func(conv string) func(frame) bool {
		return func(f frame) bool { return f.str("type") == "offered" && f.obj("conversation").str("id") == conv }
	}

	v1, c1, _ := startConversation(t, a, "public")
	if off := anna.expect("offer of "+c1, isOffer(c1)); off.num("deadline") == 0 {
		t.Fatalf("offer %v without a deadline", off)
	}
	v1.expect("waiting while offered", isState("waiting"))
	anna.send(protocol.Target{Type: protocol.TypeAccept, Conversation: c1})
	anna.expect("assigned "+c1, func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == c1 })
	if got := v1.expect("active", isState("active")).str("advisor"); got != "Anna" {
		t.Errorf("visitor sees advisor %q after the accept, want Anna", got)
	}

	_, c2, _ := startConversation(t, a, "public")
	anna.expect("offer of "+c2, isOffer(c2))
	bert.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true)})
	// Anna lets it run out: it goes to Bert, not to her again.
	gone := anna.expect("offer expired", func(f frame) bool { return f.str("type") == "unassigned" && f.str("conversation") == c2 })
	if gone.str("reason") != "offer_expired" {
		t.Errorf("unassigned %v, want reason offer_expired", gone)
	}
	bert.expect("offer of "+c2+" to bert", isOffer(c2))
	anna.send(protocol.Target{Type: protocol.TypeAccept, Conversation: c2})
	if f := anna.expect("accept after expiry refused", isErrorFor(c2)); f.str("code") != "offer_expired" {
		t.Errorf("accept after expiry: code %q, want offer_expired", f.str("code"))
	}

	// Bert is full with his offer; the next goes to Anna, who misses it
	// too: two in a row, off duty, not responding.
	_, c3, _ := startConversation(t, a, "public")
	anna.expect("offer of "+c3, isOffer(c3))
	if f := anna.expect("off duty", isType("off_duty")); f.str("reason") != "not_responding" {
		t.Errorf("off_duty %v, want reason not_responding", f)
	}
	anna.expect("status off duty", func(f frame) bool { return f.str("type") == "status" && f["duty"] == false })
	v1.expect("requeued entry", isEntry(c1, "requeued"))

	// Bad input: accept of something that is no conversation id.
	anna.send(protocol.Target{Type: protocol.TypeAccept, Conversation: "../x"})
	if f := anna.expect("error", isType("error")); f.str("code") != "bad_request" {
		t.Errorf("accept of a bad id: code %q, want bad_request", f.str("code"))
	}
}

// TestOfferEndedByVisitor: a visitor who ends the chat while it is offered
// ends the offer: the advisor's console loses it, and it is counted as
// visitor_left, not left out of advicechat_offers_total.
func TestOfferEndedByVisitor(t *testing.T) {
	t.Parallel()
	a := startApp(t, map[string]string{"ADVICECHAT_OFFER_TIMEOUT": "30s"})
	a.waitMetric(t, `advicechat_offers_total{outcome="visitor_left"} 0`)
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna")
	v, conv, _ := startConversation(t, a, "public")
	anna.expect("offer", func(f frame) bool { return f.str("type") == "offered" && f.obj("conversation").str("id") == conv })
	v.send(protocol.End{Type: protocol.TypeEnd})
	v.expect("ended", isState("ended"))
	anna.expect("offer gone", func(f frame) bool { return f.str("type") == "unassigned" && f.str("conversation") == conv })
	a.waitMetric(t, `advicechat_offers_total{outcome="visitor_left"} 1`)
	if m := readMetrics(t, a); !strings.Contains(m, `advicechat_offers_total{outcome="expired"} 0`) || !strings.Contains(m, `advicechat_offers_total{outcome="withdrawn"} 0`) {
		t.Errorf("the offer ended by its visitor also counted as expired or withdrawn:\n%s", m)
	}
}

// TestTransfer: an advisor hands a conversation to a colleague with a
// note, the colleague has it at once and reads the note, the visitor sees
// the new advisor's name and never the note; transfers to someone off
// duty, to someone full, to an unknown queue, or without a target are
// refused and change nothing; a transfer to a queue puts the visitor back
// in the queue.
func TestTransfer(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "1")
	v, conv, _ := startConversation(t, a, "public")
	anna.expect("assigned", isType("assigned"))
	v.expect("active with Anna", func(f frame) bool { return f.str("type") == "state" && f.str("advisor") == "Anna" })

	// Bert serves the public only: a conversation sent to the
	// professional queue stays there.
	bert, _ := onDutyAdvisor(t, a, "bert", "-name", "Bert", "-max", "1", "-audiences", "public")
	a.addAdvisor(t, "carl") // never on duty

	for _, tt := range []struct {
		name  string
		frame map[string]any
		code  string
	}{
		{"off duty", map[string]any{"to_advisor": "carl"}, "advisor_off_duty"},
		{"unknown advisor", map[string]any{"to_advisor": "nobody"}, "advisor_off_duty"},
		{"unknown queue", map[string]any{"to_queue": "vip"}, "unknown_queue"},
		{"no target", map[string]any{}, "bad_request"},
		{"two targets", map[string]any{"to_advisor": "bert", "to_queue": "public"}, "bad_request"},
		// Bert has room: only the note stops it, and the transfer below
		// shows nothing moved.
		{"note too long", map[string]any{"to_advisor": "bert", "note": strings.Repeat("x", 4001)}, "bad_request"},
	} {
		tt.frame["type"], tt.frame["conversation"] = "transfer", conv
		anna.send(tt.frame)
		if f := anna.expect(tt.name, isErrorFor(conv)); f.str("code") != tt.code {
			t.Errorf("transfer %s: code %q, want %s", tt.name, f.str("code"), tt.code)
		}
	}

	// Bert has room for one: the transfer goes through.
	const note = "Worried parent; son watches extremist videos. Gave the first advice."
	anna.send(protocol.Transfer{Type: protocol.TypeTransfer, Conversation: conv, ToAdvisor: "bert", Note: note})
	if f := anna.expect("unassigned", isType("unassigned")); f.str("reason") != "transferred" || f.str("conversation") != conv {
		t.Errorf("anna got %v, want unassigned %s transferred", f, conv)
	}
	bert.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
	if f := bert.expect("the note", isEntry(conv, "note")); f.str("text") != note || f.str("name") != "Anna" {
		t.Errorf("bert sees note %v, want Anna's note", f)
	}
	bert.expect("transferred entry", isEntry(conv, "transferred"))
	got := expectEach(v, "hidden note and Bert",
		func(f frame) bool { return f.str("type") == "entry" && f.str("kind") == "hidden" },
		func(f frame) bool { return f.str("type") == "state" && f.str("advisor") == "Bert" })
	if got[0].str("text") != "" {
		t.Errorf("visitor got the note's text: %v", got[0])
	}

	// Anna is free again; a second visitor goes to her, and Bert (full)
	// cannot be given it.
	_, conv2, _ := startConversation(t, a, "public")
	anna.expect("assigned second", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv2 })
	anna.send(protocol.Transfer{Type: protocol.TypeTransfer, Conversation: conv2, ToAdvisor: "bert"})
	if f := anna.expect("full", isErrorFor(conv2)); f.str("code") != "advisor_full" {
		t.Errorf("transfer to a full advisor: code %q, want advisor_full", f.str("code"))
	}

	// To the professional queue: the visitor waits again.
	bert.send(protocol.Transfer{Type: protocol.TypeTransfer, Conversation: conv, ToQueue: "professional"})
	bert.expect("unassigned", func(f frame) bool { return f.str("type") == "unassigned" && f.str("conversation") == conv })
	v.expect("waiting again", isState("waiting"))
}

// TestPickFromQueue: an advisor sees the waiting conversations in the
// queue view and takes one by hand; one whose audience they do not serve,
// or that is no longer waiting, is refused.
func TestPickFromQueue(t *testing.T) {
	t.Parallel()
	// Nobody speaks Dutch and there is no fallback: the visitors wait.
	a := startApp(t, map[string]string{"ADVICECHAT_FALLBACK_AFTER": "0"})
	emma, _ := onDutyAdvisor(t, a, "emma", "-name", "Emma", "-languages", "en", "-audiences", "public")
	v1, c1, _ := startConversation(t, a, "public")
	_, c2, _ := startConversation(t, a, "professional")
	view := emma.expect("queue view with both", func(f frame) bool {
		w, _ := f["waiting"].([]any)
		return f.str("type") == "queue" && len(w) == 2
	})
	if w := view["waiting"].([]any)[0].(map[string]any); w["id"] != c1 || w["lang"] != "nl" {
		t.Errorf("first waiting %v, want %s in nl", w, c1)
	}

	emma.send(protocol.Target{Type: protocol.TypePick, Conversation: c2})
	if f := emma.expect("not skilled", isErrorFor(c2)); f.str("code") != "not_skilled" {
		t.Errorf("pick of a professional conversation: code %q, want not_skilled", f.str("code"))
	}
	emma.send(protocol.Target{Type: protocol.TypePick, Conversation: c1})
	emma.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == c1 })
	v1.expect("active with Emma", func(f frame) bool { return f.str("type") == "state" && f.str("advisor") == "Emma" })
	emma.send(protocol.Target{Type: protocol.TypePick, Conversation: c1})
	if f := emma.expect("not waiting", isErrorFor(c1)); f.str("code") != "not_waiting" {
		t.Errorf("pick of a taken conversation: code %q, want not_waiting", f.str("code"))
	}
}

// TestUrgentGoesFirst: a visitor who says they are in danger goes before
// everyone who waits, and gets the first free advisor.
func TestUrgentGoesFirst(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	first, _, _ := startConversation(t, a, "public")
	first.expect("position 1", func(f frame) bool { return f.str("type") == "state" && f.num("position") == 1 })
	urgent := a.visitor(t)
	urgent.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl", Urgent: true})
	conv := urgent.expectType("started").str("conversation")
	urgent.expect("position 1", func(f frame) bool { return f.str("type") == "state" && f.num("position") == 1 })
	first.expect("moved to position 2", func(f frame) bool { return f.str("type") == "state" && f.num("position") == 2 })

	adv, _ := onDutyAdvisor(t, a, "anna", "-max", "1")
	got := adv.expect("assigned", isType("assigned")).obj("conversation")
	if got.str("id") != conv || got.num("priority") != 2 {
		t.Errorf("first assignment %v, want the urgent conversation %s with priority 2", got, conv)
	}
}

// TestOwnCapacity: an advisor may take fewer conversations at once than
// the account allows, never more.
func TestOwnCapacity(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	pw := a.addAdvisor(t, "anna", "-max", "3")
	adv := a.advisor(t, a.login(t, "anna", pw), nil)
	adv.expect("status", isType("status"))
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true), Capacity: new(4)})
	if f := adv.expect("error", isType("error")); f.str("code") != "bad_request" {
		t.Errorf("capacity above the account's: code %q, want bad_request", f.str("code"))
	}
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true), Capacity: new(0)})
	if f := adv.expect("error", isType("error")); f.str("code") != "bad_request" {
		t.Errorf("capacity 0: code %q, want bad_request", f.str("code"))
	}
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true), Capacity: new(1)})
	st := adv.expect("on duty", func(f frame) bool { return f.str("type") == "status" && f["duty"] == true })
	if st.num("capacity") != 1 || st.num("max") != 3 {
		t.Errorf("status %v, want capacity 1 of max 3", st)
	}
	startConversation(t, a, "public")
	v2, _, _ := startConversation(t, a, "public")
	v2.expect("second waits", func(f frame) bool { return f.str("type") == "state" && f.num("position") == 1 })
}

// TestLongWait: a visitor who has waited ADVICECHAT_MAX_WAIT is told, once,
// and stays in the queue.
func TestLongWait(t *testing.T) {
	t.Parallel()
	a := startApp(t, map[string]string{"ADVICECHAT_MAX_WAIT": "1s"})
	v, conv, _ := startConversation(t, a, "public")
	v.expect("waited_long entry", isEntry(conv, "waited_long"))
	adv, _ := onDutyAdvisor(t, a, "anna")
	adv.expect("still assigned afterwards", isType("assigned"))
}
