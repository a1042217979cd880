package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/protocol"

	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// testClient is a raw protocol client for the tests that need one step at
// a time.
type testClient struct {
	t    *testing.T
	conn *wsConn
}

func (c *testClient) send(v any) {
	c.t.Helper()
	if err := c.conn.send(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// expect returns the first frame matching, failing after a bound.
func (c *testClient) expect(what string, match func(inFrame) bool) inFrame {
	c.t.Helper()
	f, ok := c.within(20*time.Second, match)
	if !ok {
		c.t.Fatalf("no %s", what)
	}
	return f
}

// within returns the first frame matching within d.
func (c *testClient) within(d time.Duration, match func(inFrame) bool) (inFrame, bool) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-c.conn.frames:
			if !ok {
				return inFrame{}, false
			}
			if match(f) {
				return f, true
			}
		case <-deadline:
			return inFrame{}, false
		}
	}
}

func (c *testClient) close() {
	c.conn.drop()
	for range c.conn.frames {
	}
}

func dialTest(t *testing.T, target, path string, h http.Header) *testClient {
	t.Helper()
	conn, err := dialWS(context.Background(), target, path, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, conn: conn}
	t.Cleanup(c.close)
	return c
}

// pair is one instance with an advisor on duty and a visitor in an
// active conversation with it.
type pair struct {
	target, conv, token string
	cookie              http.Header
	adv, vis            *testClient
	redis               *redisServer
}

func startPair(t *testing.T) *pair {
	t.Helper()
	r := startRedis(t)
	d := newDeployment(t, r.URL)
	d.start(1)
	p := &pair{target: d.targets()[0], redis: r}
	acct := d.addAdvisors("adv", 1)[0]
	var steps totpSteps
	code, err := steps.code(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := FormLogin(context.Background(), p.target, acct, code)
	if err != nil {
		t.Fatal(err)
	}
	p.cookie = http.Header{"Cookie": {ck.Name + "=" + ck.Value}}
	p.adv = dialTest(t, p.target, "/ws/advisor", p.cookie)
	p.adv.send(protocol.Hello{Type: protocol.TypeHello, After: map[string]int64{}})
	p.adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true)})
	p.adv.expect("on duty", func(f inFrame) bool { return f.Type == protocol.TypeStatus && f.Duty != nil && *f.Duty })
	p.vis = dialTest(t, p.target, "/ws/visitor", nil)
	p.vis.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
	st := p.vis.expect("started", func(f inFrame) bool { return f.Type == protocol.TypeStarted })
	p.conv, p.token = st.conv, st.Token
	p.adv.expect("assigned", func(f inFrame) bool { return f.Type == protocol.TypeAssigned && f.conv == p.conv })
	return p
}

func isAck(id string) func(inFrame) bool {
	return func(f inFrame) bool { return f.Type == protocol.TypeAck && f.ID == id }
}

// TestAdvisorGetsLastMessagesAfterEnd: the visitor writes while the
// advisor's page is reconnecting and then ends the conversation. The
// advisor's page, resuming with hello and its last seq, must still get the
// visitor's acked message and the end, not only "unassigned: ended".
func TestAdvisorGetsLastMessagesAfterEnd(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.vis.send(protocol.Message{Type: protocol.TypeMessage, ID: "v1", Text: "first"})
	seen := p.adv.expect("v1", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == "v1" }).Seq

	p.adv.close() // the advisor's network drops
	p.vis.send(protocol.Message{Type: protocol.TypeMessage, ID: "v2", Text: "one more thing, then I go"})
	acked := p.vis.expect("ack v2", isAck("v2")).Seq
	p.vis.send(protocol.End{Type: protocol.TypeEnd})
	p.vis.expect("ended", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.Kind == "ended" })

	adv := dialTest(t, p.target, "/ws/advisor", p.cookie)
	adv.send(protocol.Hello{Type: protocol.TypeHello, After: map[string]int64{p.conv: seen}})
	f, ok := adv.within(5*time.Second, func(f inFrame) bool {
		return f.Type == protocol.TypeEntry && f.conv == p.conv && f.ID == "v2"
	})
	if !ok {
		t.Errorf("advisor resuming after seq %d never got the visitor's acked message v2 (seq %d)", seen, acked)
	} else if f.Seq != acked {
		t.Errorf("advisor got v2 at seq %d, acked as %d", f.Seq, acked)
	}
}

// TestAdvisorRetryAfterEnd: an advisor's message is stored but its ack is
// lost; by the time the page retries with the same id the visitor has
// ended the conversation. The retry must get the first copy's ack, not
// "ended", or the page would show as not sent a message the visitor got.
func TestAdvisorRetryAfterEnd(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	p.adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: p.conv, ID: "a1", Text: "hello"})
	first := p.adv.expect("ack a1", isAck("a1")).Seq
	p.vis.expect("a1", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == "a1" })
	p.vis.send(protocol.End{Type: protocol.TypeEnd})
	p.adv.expect("ended", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.Kind == "ended" })

	// The page never saw the ack (say) and retries.
	p.adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: p.conv, ID: "a1", Text: "hello"})
	f := p.adv.expect("answer to the retry", func(f inFrame) bool {
		return (f.Type == protocol.TypeAck || f.Type == protocol.TypeError) && f.ID == "a1"
	})
	if f.Type != protocol.TypeAck || f.Seq != first {
		t.Errorf("retry of a stored message got %s %q (seq %d), want the first copy's ack with seq %d", f.Type, f.Code, f.Seq, first)
	}
}

// TestAdvisorInternalErrorNamesMessage: while Redis cannot be reached (a
// failover), an advisor's message fails before it is stored: checking the
// session and the conversation need Redis too. The internal error must
// carry the message's client id and conversation, as docs/protocol.md
// says, or the page cannot tell which message to retry and leaves it
// pending on a socket that stays open: the visitor then waits for an
// answer that never comes (TestFaultSentinelFailover, now and then). The
// same for an end, which must name its conversation.
func TestAdvisorInternalErrorNamesMessage(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	// Once the advisor has a live entry, its catch-up is done: a catch-up
	// failing with Redis down would close the socket (1011), rightly.
	p.vis.send(protocol.Message{Type: protocol.TypeMessage, ID: "v1", Text: "hello?"})
	p.adv.expect("v1", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == "v1" })
	p.redis.kill(t)

	p.adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: p.conv, ID: "a1", Text: "hello"})
	f := p.adv.expect("an answer to a1", func(f inFrame) bool { return f.Type == protocol.TypeError || f.Type == protocol.TypeAck })
	if f.Type != protocol.TypeError || f.Code != protocol.CodeInternal || f.ID != "a1" || f.conv != p.conv {
		t.Errorf("message a1 with Redis down: got %s %q id %q conversation %q; want internal, id a1, conversation %s",
			f.Type, f.Code, f.ID, f.conv, p.conv)
	}

	p.adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: p.conv})
	f = p.adv.expect("an answer to the end", func(f inFrame) bool { return f.Type == protocol.TypeError || f.Type == protocol.TypeEntry })
	if f.Type != protocol.TypeError || f.Code != protocol.CodeInternal || f.conv != p.conv {
		t.Errorf("end with Redis down: got %s %q conversation %q; want internal for conversation %s", f.Type, f.Code, f.conv, p.conv)
	}
}

// TestFaultLossReported: a failover without replica acks loses the last
// entries of a conversation and the next entries take their seqs. Neither
// side may go on as if nothing happened: both get an interrupted frame
// naming the last seq still stored, then the stream's new entries; and a
// page resuming from a lost entry is told the same, not refused.
func TestFaultLossReported(t *testing.T) {
	t.Parallel()
	p := startPair(t)
	var last inFrame
	for i, from := range []string{"visitor", "advisor", "visitor"} {
		id := fmt.Sprintf("m%d", i)
		if from == "visitor" {
			p.vis.send(protocol.Message{Type: protocol.TypeMessage, ID: id, Text: "text " + id})
		} else {
			p.adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: p.conv, ID: id, Text: "text " + id})
		}
		last = p.adv.expect("entry "+id, func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == id })
		p.vis.expect("entry "+id, func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == id })
	}
	keep := last.Seq - 2 // m1 and m2 are lost

	ctx := context.Background()
	store := redisstore.New(p.redis.Client, redisstore.Options{Prefix: "load:"})
	if n, err := redistest.LoseTail(ctx, p.redis.Client, store, p.conv, keep); err != nil || n != 2 {
		t.Fatalf("dropping the tail: %d entries, %v", n, err)
	}
	// The promoted replica's pub/sub has nobody on it: every instance
	// resubscribes, as after a real failover.
	if err := p.redis.Client.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*testClient{"visitor": p.vis, "advisor": p.adv} {
		f := c.expect(name+" told of the loss", func(f inFrame) bool { return f.Type == protocol.TypeInterrupted })
		if f.conv != p.conv || f.Seq != keep {
			t.Errorf("%s: interrupted for %q at seq %d, want %s at %d", name, f.conv, f.Seq, p.conv, keep)
		}
	}

	// Written after the failover: it takes a lost entry's seq and reaches
	// both sides.
	p.vis.send(protocol.Message{Type: protocol.TypeMessage, ID: "m3", Text: "are you still there?"})
	// The entry may come before the ack or after it.
	var acked, echoed bool
	for !acked || !echoed {
		f := p.vis.expect("ack and entry of m3", func(f inFrame) bool {
			return f.ID == "m3" && (f.Type == protocol.TypeAck || f.Type == protocol.TypeEntry)
		})
		if f.Seq != keep+1 {
			t.Fatalf("visitor: m3 %s at seq %d, want the reused seq %d", f.Type, f.Seq, keep+1)
		}
		acked, echoed = acked || f.Type == protocol.TypeAck, echoed || f.Type == protocol.TypeEntry
	}
	if f := p.adv.expect("m3", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == "m3" }); f.Seq != keep+1 {
		t.Errorf("advisor got m3 at seq %d, want %d", f.Seq, keep+1)
	}

	// A page that was away during all this resumes from the lost m2, and
	// says so with its at: it is told, then gets m3.
	adv := dialTest(t, p.target, "/ws/advisor", p.cookie)
	adv.send(protocol.Hello{Type: protocol.TypeHello, After: map[string]int64{p.conv: last.Seq}, At: map[string]int64{p.conv: last.EntryAt}})
	f := adv.expect("resuming advisor told of the loss", func(f inFrame) bool { return f.Type == protocol.TypeInterrupted })
	if f.Seq != keep {
		t.Errorf("resuming advisor: interrupted at seq %d, want %d", f.Seq, keep)
	}
	adv.expect("m3 after the resume", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == "m3" })

	vis := dialTest(t, p.target, "/ws/visitor", nil)
	vis.send(protocol.Resume{Type: protocol.TypeResume, Conversation: p.conv, Token: p.token, After: last.Seq, At: last.EntryAt})
	f = vis.expect("resuming visitor told of the loss", func(f inFrame) bool { return f.Type == protocol.TypeInterrupted || f.Type == protocol.TypeError })
	if f.Type != protocol.TypeInterrupted || f.Seq != keep {
		t.Errorf("resuming visitor: got %s %q seq %d, want interrupted at %d", f.Type, f.Code, f.Seq, keep)
	}
	vis.expect("m3 after the resume", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.ID == "m3" })

	// Without at, a resume beyond the stream stays bad input.
	bad := dialTest(t, p.target, "/ws/visitor", nil)
	bad.send(protocol.Resume{Type: protocol.TypeResume, Conversation: p.conv, Token: p.token, After: last.Seq + 5})
	if f := bad.expect("an answer", func(f inFrame) bool { return f.Type == protocol.TypeError || f.Type == protocol.TypeState }); f.Type != protocol.TypeError || f.Code != protocol.CodeBadRequest {
		t.Errorf("resume beyond the stream without at: got %s %q, want error bad_request", f.Type, f.Code)
	}
}
