package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore"
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

// TestOneSocketPerConversation: a conversation has one visitor socket;
// a newer one, on another instance too, takes over and the older is
// closed with 4001 ("opened in another tab").
func TestOneSocketPerConversation(t *testing.T) {
	a := startApp(t, nil)
	b := startWithEnv(t, a.Redis, a.env) // a second instance on the same Redis
	adv, _ := onDutyAdvisor(t, a, "anna")
	v, conv, token := activeConversation(t, a, adv)
	later := dial(t, b.wsURL("/ws/visitor"), b.origin())
	later.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv, Token: token, After: 0})
	later.expect("state active", isState("active"))
	if code := v.expectClose(); code != protocol.StatusTakenOver {
		t.Errorf("older socket closed with %d, want 4001", code)
	}
	exchange(t, later, adv, conv, "takeover")

	// The older socket's signal published late, after the newer one
	// follows the conversation (a slow start, a busy Redis), does not
	// close the newer one, which tells the older one again (it may have
	// missed the first signal while its own subscription was on its way);
	// a signal from a socket that came later still closes it.
	ctx := context.Background()
	ch := redisstore.New(a.Redis.Client, redisstore.Options{Prefix: a.Redis.Prefix}).Channel(conv)
	sub := a.Redis.Client.Subscribe(ctx, ch)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	late := func(at int64) string {
		t.Helper()
		id := chat.NewID()
		b, _ := json.Marshal(chat.Entry{Conversation: conv, Kind: chat.KindTakeover, From: chat.FromVisitor, ClientID: id, At: at})
		if err := a.Redis.Client.Publish(ctx, ch, b).Err(); err != nil {
			t.Fatal(err)
		}
		return id
	}
	old := late(time.Now().Add(-time.Minute).UnixMilli())
	for {
		rctx, cancel := context.WithTimeout(ctx, waitTimeout)
		msg, err := sub.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			t.Fatalf("no takeover signal in answer to an older one: %v", err)
		}
		var e chat.Entry
		if json.Unmarshal([]byte(msg.Payload), &e) == nil && e.Kind == chat.KindTakeover && e.ClientID != old {
			break
		}
	}
	exchange(t, later, adv, conv, "late")
	late(time.Now().Add(time.Minute).UnixMilli())
	if code := later.expectClose(); code != protocol.StatusTakenOver {
		t.Errorf("socket closed with %d on a newer socket's signal, want 4001", code)
	}
}

// TestSocketsPerClient: one client holds at most
// ADVICECHAT_SOCKETS_PER_CLIENT visitor sockets on an instance; one more
// is refused with 429 before any upgrade, and closing one makes room.
func TestSocketsPerClient(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_SOCKETS_PER_CLIENT": "3"})
	var open []*client
	for range 3 {
		open = append(open, a.visitor(t))
	}
	_, resp, err := tryDial(a.wsURL("/ws/visitor"), a.origin())
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("fourth socket: %v, status %d, want 429", err, status)
	}
	checkSecurityHeaders(t, "the 429 refusal", resp.Header)
	open[0].conn.Close(websocket.StatusNormalClosure, "")
	<-open[0].closed
	// The server counts the socket closed once its handler is done: wait
	// for the count through the metric rather than a sleep.
	a.waitMetric(t, `advicechat_websocket_connections{role="visitor"} 2`)
	c := a.visitor(t)
	c.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
	c.expectType(protocol.TypeStarted)
}

// TestResumeLimit: resuming over and over from one client, to get fresh
// sockets, is refused with rate_limited and 1013 past the burst.
func TestResumeLimit(t *testing.T) {
	a := startApp(t, nil)
	_, conv, token := startConversation(t, a, "public")
	for i := 0; ; i++ {
		v := resumeOn(t, a, conv, token, 0)
		f := v.expect("state or refusal", func(f frame) bool {
			return f.str("type") == protocol.TypeState || f.str("type") == protocol.TypeError
		})
		if f.str("type") == protocol.TypeError {
			if f.str("code") != string(protocol.CodeRateLimited) {
				t.Fatalf("resume %d refused with %v, want rate_limited", i, f)
			}
			if code := v.expectClose(); code != websocket.StatusTryAgainLater {
				t.Errorf("refused resume closed with %d, want 1013", code)
			}
			if i < 30 {
				t.Errorf("refused after %d resumes, want a burst of 30", i)
			}
			return
		}
		v.conn.Close(websocket.StatusNormalClosure, "")
		if i > 60 {
			t.Fatal("60 resumes in a row from one client were all let through")
		}
	}
}

// waitMetric waits until the app's /metrics has a line starting with line.
func (a *app) waitMetric(t *testing.T, line string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for l := range strings.Lines(readMetrics(t, a)) {
			if strings.HasPrefix(l, line) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metric %q within %s", line, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
