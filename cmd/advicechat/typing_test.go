package main

import (
	"context"
	"testing"

	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/web/protocol"
)

// TestTyping: each side's typing reaches the other side as a typing frame,
// throttled per socket, never the sender's own, and nothing of it is
// stored; typing before a conversation or in someone else's is refused.
func TestTyping(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	adv, _ := onDutyAdvisor(t, a, "anna", "-max", "1")
	v, conv, _ := startConversation(t, a, "public")
	// Both caught up: from here on entries and typing come live, in the
	// order Redis took them.
	adv.expect("joined", isEntry(conv, "joined"))
	v.expect("joined", isEntry(conv, "joined"))
	store := redisstore.New(a.Redis.Client, redisstore.Options{Prefix: a.Redis.Prefix})
	before, err := store.LastSeq(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}

	// A burst of typing, then a message: the advisor gets one typing
	// frame before the message (Redis delivers in order).
	for range 10 {
		v.send(protocol.Target{Type: protocol.TypeTyping})
	}
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "m1", Text: "hallo"})
	typings := 0
	adv.expect("the message", func(f frame) bool {
		if f.str("type") == "typing" {
			typings++
			if f.str("from") != "visitor" || f.str("conversation") != conv {
				t.Errorf("advisor got typing %v, want from visitor in %s", f, conv)
			}
		}
		return isText(conv, "hallo")(f)
	})
	if typings != 1 {
		t.Errorf("advisor got %d typing frames for a burst of 10, want 1", typings)
	}
	if last, _ := store.LastSeq(context.Background(), conv); last != before+1 {
		t.Errorf("conversation grew from seq %d to %d for typing and one message, want %d: typing must not be stored", before, last, before+1)
	}

	adv.send(protocol.Target{Type: protocol.TypeTyping, Conversation: conv})
	adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "a1", Text: "Ik ben er"})
	got := 0
	v.expect("the reply", func(f frame) bool {
		if f.str("type") == "typing" {
			got++
			if f.str("from") != "advisor" {
				t.Errorf("visitor got typing %v, want from advisor", f)
			}
		}
		return isText(conv, "Ik ben er")(f)
	})
	if got != 1 {
		t.Errorf("visitor got %d typing frames, want 1", got)
	}

	// Bad input.
	fresh := a.visitor(t)
	fresh.send(protocol.Target{Type: protocol.TypeTyping})
	if f := fresh.expect("error", isType("error")); f.str("code") != "not_started" {
		t.Errorf("typing before start: code %q, want not_started", f.str("code"))
	}
	_, other, _ := startConversation(t, a, "professional")
	adv.send(protocol.Target{Type: protocol.TypeTyping, Conversation: other})
	if f := adv.expect("error", isErrorFor(other)); f.str("code") != "not_found" {
		t.Errorf("typing in a conversation not yours: code %q, want not_found", f.str("code"))
	}
}
