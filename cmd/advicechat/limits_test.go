package main

import (
	"context"
	"strings"
	"testing"

	"github.com/advicechat/advicechat/cmd/advicechat/config"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// from is a visitor's handshake as it arrives through a reverse proxy
// that names the client in X-Forwarded-For.
func (a *app) from(tb testing.TB, client string) *client {
	tb.Helper()
	h := a.origin()
	h.Set("X-Forwarded-For", client)
	return dial(tb, a.wsURL("/ws/visitor"), h)
}

func tryStart(c *client) frame {
	c.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
	return c.expect("started or error", func(f frame) bool { return f.str("type") == "started" || f.str("type") == "error" })
}

// TestStartLimitPerClient: one client may start only so many conversations
// in a burst; another client is not affected. Forwarding headers count only
// from a trusted proxy.
func TestStartLimitPerClient(t *testing.T) {
	behindProxy := startApp(t, map[string]string{"ADVICECHAT_STARTS_PER_CLIENT": "3", "ADVICECHAT_TRUSTED_PROXIES": "127.0.0.1"})
	for i := range 3 {
		if f := tryStart(behindProxy.from(t, "203.0.113.5")); f.str("type") != "started" {
			t.Fatalf("start %d from one client: %v, want started", i+1, f)
		}
	}
	if f := tryStart(behindProxy.from(t, "203.0.113.5")); f.str("code") != "rate_limited" {
		t.Errorf("fourth start from one client: %v, want error rate_limited", f)
	}
	if f := tryStart(behindProxy.from(t, "203.0.113.6")); f.str("type") != "started" {
		t.Errorf("start from another client: %v, want started", f)
	}

	// Without a trusted proxy, a client cannot dodge the limit by writing
	// X-Forwarded-For itself.
	direct := startApp(t, map[string]string{"ADVICECHAT_STARTS_PER_CLIENT": "3"})
	for i := range 3 {
		if f := tryStart(direct.from(t, "198.51.100."+string(rune('1'+i)))); f.str("type") != "started" {
			t.Fatalf("start %d: %v, want started", i+1, f)
		}
	}
	if f := tryStart(direct.from(t, "198.51.100.9")); f.str("code") != "rate_limited" {
		t.Errorf("fourth start with a forged X-Forwarded-For: %v, want error rate_limited", f)
	}
}

// TestBlockSender: an advisor blocks a conversation's sender. The
// conversation ends, the same client cannot start another, another client
// can, and nothing about the address is in Redis or the logs.
func TestBlockSender(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_TRUSTED_PROXIES": "127.0.0.0/8"})
	adv, _ := onDutyAdvisor(t, a, "rik", "-max", "5")
	const abuser = "203.0.113.99"
	v := a.from(t, abuser)
	if f := tryStart(v); f.str("type") != "started" {
		t.Fatalf("start: %v", f)
	}
	conv := adv.expectType("assigned").obj("conversation").str("id")
	v.expect("active", isState("active"))

	// Only one's own conversation can be blocked.
	other := a.from(t, "203.0.113.100")
	tryStart(other)
	adv.send(protocol.End{Type: protocol.TypeBlock, Conversation: "00000000000000000000000000000000"})
	if e := adv.expectType("error"); e.str("code") != "not_found" {
		t.Errorf("block of an unknown conversation: %v, want not_found", e)
	}

	adv.send(protocol.End{Type: protocol.TypeBlock, Conversation: conv})
	e := v.expect("ended entry", isEntry(conv, "ended"))
	if e.str("reason") != "blocked" {
		t.Errorf("ended reason %q, want blocked", e.str("reason"))
	}
	v.expect("state ended", isState("ended"))

	if f := tryStart(a.from(t, abuser)); f.str("code") != "unavailable" {
		t.Errorf("start from the blocked client: %v, want error unavailable", f)
	}
	if f := tryStart(a.from(t, "203.0.113.101")); f.str("type") != "started" {
		t.Errorf("start from another client: %v, want started", f)
	}
	if dump := dumpRedis(t, a); dumpHolds(dump, abuser) {
		t.Error("Redis contains the blocked client's address")
	}
	logs := a.logs.String()
	if strings.Contains(logs, abuser) {
		t.Error("the logs contain the blocked client's address")
	}
	if !strings.Contains(logs, "action=blocked") {
		t.Error("no audit line for the block")
	}
}

// TestRepairedEndKeepsTheReason: when routing has ended a conversation for
// a block but the conversation's end is not stored yet, the visitor's
// socket writes the end for the same reason, so the block still holds.
func TestRepairedEndKeepsTheReason(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_TRUSTED_PROXIES": "127.0.0.0/8"})
	adv, _ := onDutyAdvisor(t, a, "sem")
	const abuser = "203.0.113.77"
	v := a.from(t, abuser)
	tryStart(v)
	conv := adv.expectType("assigned").obj("conversation").str("id")
	v.expect("active", isState("active"))

	// The advisor's block got as far as routing, no further.
	q, err := routing.New(a.Redis.Client, routing.Config{Prefix: a.Redis.Prefix, Queues: config.Queues})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := q.ReleaseBy(context.Background(), conv, "sem", "blocked"); !ok || err != nil {
		t.Fatalf("ReleaseBy = %v, %v", ok, err)
	}
	e := v.expect("ended entry", isEntry(conv, "ended"))
	if e.str("reason") != "blocked" {
		t.Errorf("repaired end has reason %q, want blocked", e.str("reason"))
	}
	if f := tryStart(a.from(t, abuser)); f.str("code") != "unavailable" {
		t.Errorf("start after a repaired block: %v, want error unavailable", f)
	}
}

// TestExpiredSessionClosesSocket: an advisor socket whose session reaches
// its absolute timeout is closed by the server, without the advisor doing
// anything.
func TestExpiredSessionClosesSocket(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_SESSION_MAX": "2s", "ADVICECHAT_ADVISOR_GRACE": "2s"})
	adv, _ := onDutyAdvisor(t, a, "tess")
	if code := adv.expectClose(); code != 1008 {
		t.Errorf("socket of an expired session closed with %d, want 1008", code)
	}
}
