package main

import (
	"fmt"
	"testing"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/web/protocol"
)

// resumeOn opens a fresh visitor socket on conv, as a client that
// reconnects does.
func resumeOn(t *testing.T, a *app, conv, token string, after int64) *client {
	t.Helper()
	v := a.visitor(t)
	v.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv, Token: token, After: after})
	return v
}

// TestVisitorRateAcrossSockets: the visitor's message rate belongs to the
// conversation: resuming on fresh sockets does not reset it. The refusal
// names the message and says when to retry.
func TestVisitorRateAcrossSockets(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_MESSAGE_BURST": "4", "ADVICECHAT_MESSAGE_RATE": "0.01"})
	_, conv, token := startConversation(t, a, "public")
	sent := 0
	for s := range 4 {
		v := resumeOn(t, a, conv, token, 0)
		id := fmt.Sprint("m", s)
		v.send(protocol.Message{Type: protocol.TypeMessage, ID: id, Text: "hello " + id})
		v.expect("ack "+id, isAck(id))
		sent++
		v.conn.Close(websocket.StatusNormalClosure, "")
	}
	v := resumeOn(t, a, conv, token, 0)
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "over", Text: "one too many"})
	f := v.expect("rate_limited", isError(string(protocol.CodeRateLimited)))
	if f.str("id") != "over" || f.str("message") == "" {
		t.Errorf("refusal %v, want the message's id and when to retry", f)
	}
}

// TestConversationFullE2E: a conversation that holds all it may refuses
// the next message with conversation_full, on both sides, and the advisor
// can still end it.
func TestConversationFullE2E(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_MAX_ENTRIES": "4"})
	adv, _ := onDutyAdvisor(t, a, "anna")
	v, conv, _ := activeConversation(t, a, adv) // joined is entry 1
	for i := range 3 {
		id := fmt.Sprint("v", i)
		v.send(protocol.Message{Type: protocol.TypeMessage, ID: id, Text: "hello"})
		v.expect("ack "+id, isAck(id))
	}
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "v3", Text: "one too many"})
	if f := v.expect("full", isError(string(protocol.CodeFull))); f.str("id") != "v3" {
		t.Errorf("refusal %v, want the message's id", f)
	}
	adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "a0", Text: "hello"})
	adv.expect("full for the advisor", isError(string(protocol.CodeFull)))
	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: conv})
	v.expect("ended", isState("ended"))
}
