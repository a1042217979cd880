package main

import (
	"testing"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestNotesNeverReachTheVisitor: an advisor's internal note is stored with
// the conversation and acked like a message; the advisor's console (also
// after a reconnect) gets it, the visitor's socket gets only a hidden
// placeholder under its seq, live and when resuming, so the seqs stay
// gap-free and the text never leaves the advisors' side.
func TestNotesNeverReachTheVisitor(t *testing.T) {
	a := startApp(t, nil)
	adv, hc := onDutyAdvisor(t, a, "anna", "-name", "Anna")
	v, conv, token := startConversation(t, a, "public")
	v.expect("active", func(f frame) bool { return f.str("type") == "state" && f.str("status") == "active" })
	adv.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" })

	const secret = "visitor seems to be a minor, mentions a school name"
	adv.send(protocol.Message{Type: protocol.TypeNote, Conversation: conv, ID: "n1", Text: secret})
	got := expectEach(adv, "ack and entry of n1",
		func(f frame) bool { return f.str("type") == "ack" && f.str("id") == "n1" },
		isEntry(conv, "note"))
	ack, note := got[0], got[1]
	if note.str("text") != secret || note.num("seq") != ack.num("seq") {
		t.Errorf("advisor got note %v, want the text at the acked seq %d", note, ack.num("seq"))
	}
	adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "m1", Text: "Hello, how can I help?"})

	checkVisitor := func(c *client, when string) {
		t.Helper()
		hidden := c.expect(when+": placeholder", func(f frame) bool {
			return f.str("type") == "entry" && f.num("seq") == ack.num("seq")
		})
		if hidden.str("kind") != "hidden" || hidden.str("text") != "" || hidden.str("id") != "" || hidden.str("name") != "" {
			t.Errorf("%s: visitor got %v under the note's seq, want only a hidden placeholder", when, hidden)
		}
		c.expect(when+": the message after the note", isText(conv, "Hello, how can I help?"))
	}
	checkVisitor(v, "live")
	v.conn.CloseNow()

	r := a.visitor(t)
	r.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv, Token: token, After: 0})
	checkVisitor(r, "resume")

	// The advisor's console after a reload still has the note.
	adv.conn.CloseNow()
	adv2 := a.advisor(t, hc, nil)
	if got := adv2.expect("note after reconnect", isEntry(conv, "note")); got.str("text") != secret {
		t.Errorf("advisor after reconnect: note text %q, want %q", got.str("text"), secret)
	}

	// Bad input: a note is checked like a message.
	adv2.send(protocol.Message{Type: protocol.TypeNote, Conversation: conv, ID: "n2", Text: "   "})
	if f := adv2.expect("error n2", func(f frame) bool { return f.str("type") == "error" && f.str("id") == "n2" }); f.str("code") != "empty" {
		t.Errorf("blank note: code %q, want empty", f.str("code"))
	}
}

// expectEach waits until every matcher has matched a frame, in any order,
// and returns the frames in the matchers' order.
func expectEach(c *client, what string, matchers ...func(frame) bool) []frame {
	c.tb.Helper()
	out := make([]frame, len(matchers))
	left := len(matchers)
	c.expect(what, func(f frame) bool {
		for i, m := range matchers {
			if out[i] == nil && m(f) {
				out[i] = f
				left--
				break
			}
		}
		return left == 0
	})
	return out
}
