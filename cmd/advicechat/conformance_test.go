package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/protocol"
)

// docTable returns the first cells of the rows of the table under the
// heading of docs/protocol.md named heading, up to the next heading.
func docTable(tb testing.TB, doc, heading string, row *regexp.Regexp) [][]string {
	tb.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		tb.Fatalf("docs/protocol.md has no %q", heading)
	}
	if i := strings.Index(rest, "\n#"); i >= 0 {
		rest = rest[:i]
	}
	var out [][]string
	for _, line := range strings.Split(rest, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			out = append(out, m[1:])
		}
	}
	return out
}

// closeOf is how the server closed c: its status and reason.
func closeOf(tb testing.TB, c *client) protocol.Close {
	tb.Helper()
	c.expectClose()
	var ce websocket.CloseError
	if !errors.As(c.err, &ce) {
		tb.Fatalf("socket ended with %v, not a close frame", c.err)
	}
	return protocol.Close{Code: ce.Code, Reason: ce.Reason}
}

// TestProtocolConformance holds docs/protocol.md to the protocol package
// and to the server: the table of error codes is protocol.Codes and the
// table of closes is protocol.Closes, row for row; then it walks the
// service through every error code and every close it sends, over real
// sockets and HTTP, and checks that each came as documented.
func TestProtocolConformance(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "protocol.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)

	var documented []protocol.Code
	for _, r := range docTable(t, doc, "### Errors", regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|")) {
		if !slices.Contains(documented, protocol.Code(r[0])) {
			documented = append(documented, protocol.Code(r[0]))
		}
	}
	for _, c := range protocol.Codes {
		if !slices.Contains(documented, c) {
			t.Errorf("error code %s is not in the table of docs/protocol.md", c)
		}
	}
	for _, c := range documented {
		if !slices.Contains(protocol.Codes, c) {
			t.Errorf("docs/protocol.md documents error code %s, which the server does not have", c)
		}
	}
	var closes []protocol.Close
	for _, r := range docTable(t, doc, "### Closes", regexp.MustCompile("^\\| (\\d{4}) \\| `([^`]*)` \\|")) {
		n, _ := strconv.Atoi(r[0])
		closes = append(closes, protocol.Close{Code: websocket.StatusCode(n), Reason: r[1]})
	}
	for _, c := range protocol.Closes {
		if !slices.Contains(closes, c) {
			t.Errorf("close %d %q is not in the table of docs/protocol.md", c.Code, c.Reason)
		}
	}
	for _, c := range closes {
		if !slices.Contains(protocol.Closes, c) {
			t.Errorf("docs/protocol.md documents close %d %q, which the server does not make", c.Code, c.Reason)
		}
	}

	w := &walk{t: t, codes: map[protocol.Code]bool{}, closes: map[protocol.Close]bool{}}
	w.chat()
	w.hours()
	w.busy()
	w.questions() // questions_conformance_test.go

	// What the walk cannot bring about in a test of this package, and
	// where it is proven instead.
	notWalked := map[protocol.Close]string{
		protocol.CloseNormal:      "the server's side of a close the client began: the client sees its own",
		protocol.CloseGoingAway:   "a fallback for a socket whose context ends without a reason; every path that ends one sets its own",
		protocol.CloseNoPong:      "needs a client that stops answering pings for 35 s (coder/websocket answers them while reading)",
		protocol.CloseSlow:        "cmd/advicechat-load TestFaultSlowReader",
		protocol.CloseWriteFailed: "cmd/advicechat-load TestFaultSlowReader (a write that fails closes the same way)",
	}
	for _, c := range protocol.Codes {
		if !w.codes[c] {
			t.Errorf("the walk never got error code %s", c)
		}
	}
	for _, c := range protocol.Closes {
		if why, ok := notWalked[c]; ok {
			if w.closes[c] {
				t.Errorf("close %d %q is walked now: drop it from notWalked", c.Code, c.Reason)
			}
			t.Logf("close %d %q not walked: %s", c.Code, c.Reason, why)
			continue
		}
		if !w.closes[c] {
			t.Errorf("the walk never got close %d %q", c.Code, c.Reason)
		}
	}
}

// walk records what the service answered.
type walk struct {
	t      *testing.T
	codes  map[protocol.Code]bool
	closes map[protocol.Close]bool
}

// code waits for an error frame on c and checks its code and, if id is
// set, the message it names.
func (w *walk) code(what string, c *client, want protocol.Code, id string) frame {
	w.t.Helper()
	f := c.expectType(protocol.TypeError)
	if got := protocol.Code(f.str("code")); got != want || f.str("message") == "" || (id != "" && f.str("id") != id) {
		w.t.Errorf("%s: error %v, want code %s with a message naming %q", what, f, want, id)
		return f
	}
	w.codes[want] = true
	return f
}

// httpCode records an HTTP refusal's code.
func (w *walk) httpCode(what string, status int, code string, wantStatus int, want protocol.Code) {
	w.t.Helper()
	if status != wantStatus || protocol.Code(code) != want {
		w.t.Errorf("%s: %d %q, want %d %s", what, status, code, wantStatus, want)
		return
	}
	w.codes[want] = true
}

// close waits for the server to close c and checks how.
func (w *walk) close(what string, c *client, want protocol.Close) {
	w.t.Helper()
	if got := closeOf(w.t, c); got != want {
		w.t.Errorf("%s: closed %d %q, want %d %q", what, got.Code, got.Reason, want.Code, want.Reason)
		return
	}
	w.closes[want] = true
}

// refusedMessage sends a message on c and checks the error it gets.
func (w *walk) refusedMessage(what string, c *client, m protocol.Message, want protocol.Code) {
	w.t.Helper()
	c.send(m)
	w.code(what, c, want, m.ID)
}

// chat walks one service through the conversation, console, supervisor
// and feedback refusals and the closes that go with them.
func (w *walk) chat() {
	t := w.t
	a := startApp(t, map[string]string{
		"ADVICECHAT_START_TIMEOUT": "3s",
		"ADVICECHAT_MAX_ENTRIES":   "30",
	})
	// Opened first and never started: closed by the start timeout while
	// the rest goes on.
	silent := a.visitor(t)

	// Bert takes professionals only, one at a time, and has one; Anna takes
	// two of anyone and has two; a third public visitor waits.
	bert, _ := onDutyAdvisor(t, a, "bert", "-max", "1", "-audiences", "professional")
	vp, convP, _ := startConversation(t, a, "professional")
	vp.expect("active with bert", isState("active"))
	bert.expect("assigned", isType(protocol.TypeAssigned))
	anna, _ := onDutyAdvisor(t, a, "anna", "-max", "2")
	v1, conv1, token1 := activeConversation(t, a, anna)
	v2, conv2, token2 := activeConversation(t, a, anna)
	v3, conv3, _ := startConversation(t, a, "public")
	v3.expect("waiting", isState(routing.StatusWaiting))

	// Frames that are not frames, and a frame before its time.
	v0 := a.visitor(t)
	v0.sendRaw([]byte(`{"type":`))
	w.code("malformed JSON", v0, protocol.CodeBadJSON, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := v0.conn.Write(ctx, websocket.MessageBinary, []byte(`{"type":"start"}`)); err != nil {
		t.Fatal(err)
	}
	cancel()
	w.code("binary frame", v0, protocol.CodeBadJSON, "")
	v0.sendRaw([]byte(`{"type":"shout"}`))
	w.code("unknown type", v0, protocol.CodeUnknownType, "")
	v0.send(protocol.Message{Type: protocol.TypeMessage, ID: "early", Text: "hello?"})
	w.code("message before start", v0, protocol.CodeNotStarted, "")
	v0.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "EN"})
	w.code("upper-case lang", v0, protocol.CodeBadRequest, "")
	v0.sendRaw([]byte("{\"type\":\"typing\",\"x\":\"\xff\"}"))
	w.code("invalid UTF-8 outside a message", v0, protocol.CodeBadUTF8, "")
	v0.sendRaw(messageFrame("big", strings.Repeat("x", 17<<10)))
	if code := v0.expectClose(); code != websocket.StatusMessageTooBig {
		t.Errorf("oversized frame: close %d, want 1009", code)
	}

	// A message's text.
	w.refusedMessage("empty text", v1, protocol.Message{Type: protocol.TypeMessage, ID: "e1", Text: "  "}, protocol.CodeEmpty)
	w.refusedMessage("long text", v1, protocol.Message{Type: protocol.TypeMessage, ID: "e2", Text: strings.Repeat("a", chat.MaxTextRunes+1)}, protocol.CodeTooLong)
	v1.sendRaw([]byte(`{"type":"message","id":"e3","text":"\ud800"}`))
	w.code("lone surrogate", v1, protocol.CodeBadUTF8, "e3")

	// The visitor's burst, then the conversation's size: 30 entries.
	for i := 0; ; i++ {
		id := fmt.Sprint("r", i)
		v1.send(protocol.Message{Type: protocol.TypeMessage, ID: id, Text: "quickly " + id})
		f := v1.expect("ack or refusal of "+id, func(f frame) bool { return f.str("id") == id })
		if f.str("type") == protocol.TypeError {
			if protocol.Code(f.str("code")) != protocol.CodeRateLimited || !strings.Contains(f.str("message"), "retry in") {
				t.Fatalf("message %d refused with %v, want rate_limited with when to retry", i, f)
			}
			w.codes[protocol.CodeRateLimited] = true
			break
		}
		if i > 50 {
			t.Fatal("50 messages at once, none refused")
		}
	}
	for i := 0; ; i++ {
		id := fmt.Sprint("f", i)
		anna.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv1, ID: id, Text: "filling " + id})
		f := anna.expect("ack or refusal of "+id, func(f frame) bool { return f.str("id") == id })
		if f.str("type") == protocol.TypeError {
			if protocol.Code(f.str("code")) != protocol.CodeFull {
				t.Fatalf("advisor message %d refused with %v, want conversation_full", i, f)
			}
			w.codes[protocol.CodeFull] = true
			break
		}
		if i > 40 {
			t.Fatal("a conversation of 30 entries took 40 more messages")
		}
	}

	// Taking and handing on.
	bert.send(protocol.Target{Type: protocol.TypePick, Conversation: conv3})
	w.code("pick outside one's skills", bert, protocol.CodeNotSkilled, "")
	bert.send(protocol.Target{Type: protocol.TypePick, Conversation: conv1})
	w.code("pick of an active conversation", bert, protocol.CodeNotWaiting, "")
	anna.send(protocol.Target{Type: protocol.TypeAccept, Conversation: conv3})
	w.code("accept with offers off", anna, protocol.CodeOfferExpired, "")
	for _, tt := range []struct {
		what string
		to   protocol.Transfer
		want protocol.Code
	}{
		{"transfer to nobody on duty", protocol.Transfer{ToAdvisor: "nobody"}, protocol.CodeAdvisorOffDuty},
		{"transfer to a full advisor", protocol.Transfer{ToAdvisor: "bert"}, protocol.CodeAdvisorFull},
		{"transfer to no such queue", protocol.Transfer{ToQueue: "vip"}, protocol.CodeUnknownQueue},
	} {
		tt.to.Type, tt.to.Conversation = protocol.TypeTransfer, conv2
		anna.send(tt.to)
		w.code(tt.what, anna, tt.want, "")
	}

	// The end, and what comes after it.
	status, code := postFeedback(t, a, feedbackBody(conv2, token2, 4, ""), nil)
	w.httpCode("feedback before the end", status, code, http.StatusConflict, protocol.CodeNotEnded)
	v2.send(protocol.End{Type: protocol.TypeEnd})
	w.close("visitor ends", v2, protocol.CloseEnded)
	// Conv3 goes to Anna now; a fourth visitor waits.
	anna.expect("conv3 assigned", func(f frame) bool {
		return f.str("type") == protocol.TypeAssigned && f.obj("conversation").str("id") == conv3
	})
	anna.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv2, ID: "late", Text: "still there?"})
	w.code("message after the end", anna, protocol.CodeEnded, "late")
	v4, conv4, token4 := startConversation(t, a, "public")
	v4.expect("waiting", isState(routing.StatusWaiting))

	// Resumes.
	gone := a.visitor(t)
	gone.send(protocol.Resume{Type: protocol.TypeResume, Conversation: chat.NewID(), Token: token1})
	w.code("resume of an unknown conversation", gone, protocol.CodeNotFound, "")
	w.close("resume of an unknown conversation", gone, protocol.CloseUnknownConversation)
	forged := a.visitor(t)
	forged.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv1, Token: token4})
	w.code("resume with another's token", forged, protocol.CodeUnauthorized, "")
	w.close("resume with another's token", forged, protocol.CloseBadToken)
	// The server fails to read a conversation whose data is not what it
	// wrote.
	meta := a.Redis.Prefix + "{c:" + conv4 + "}:meta"
	if err := a.Redis.Client.Set(context.Background(), meta, "not a hash", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	broken := a.visitor(t)
	broken.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv4, Token: token4})
	w.code("resume the server cannot read", broken, protocol.CodeInternal, "")
	w.close("resume the server cannot read", broken, protocol.CloseInternal)
	_ = v4
	// Another socket takes the conversation over, and another, until the
	// client's resumes run out.
	prev := v1
	for i := 0; ; i++ {
		next := resumeOn(t, a, conv1, token1, 0)
		f := next.expect("state or refusal", func(f frame) bool {
			return f.str("type") == protocol.TypeState || f.str("type") == protocol.TypeError
		})
		if f.str("type") == protocol.TypeError {
			if protocol.Code(f.str("code")) != protocol.CodeRateLimited {
				t.Fatalf("resume %d refused with %v, want rate_limited", i, f)
			}
			w.close("resume over the limit", next, protocol.CloseTryLater)
			break
		}
		w.close("the older socket of a resumed conversation", prev, protocol.CloseTakenOver)
		prev = next
		if i > 40 {
			t.Fatal("40 resumes at once, none refused")
		}
	}

	// Sessions: logged out, ended by a new password, no longer a
	// supervisor.
	dora := a.addAdvisor(t, "dora")
	doraHC := a.login(t, "dora", dora)
	doraSock := a.advisor(t, doraHC, nil)
	doraSock.expectType(protocol.TypeStatus)
	req, _ := http.NewRequest("POST", a.URL+"/advisor/logout", nil)
	req.Header.Set("Origin", a.URL)
	resp, err := doraHC.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	w.close("logged out", doraSock, protocol.CloseLoggedOut)

	eve := a.addAdvisor(t, "eve")
	eveSock := a.advisor(t, a.login(t, "eve", eve), nil)
	eveSock.expectType(protocol.TypeStatus)
	a.runCLI(t, "a brand new passphrase for her\n", "advisor", "passwd", "-password-stdin", "eve")
	eveSock.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true)})
	w.code("session ended by a new password", eveSock, protocol.CodeUnauthorized, "")
	w.close("session ended by a new password", eveSock, protocol.CloseSessionEnded)

	sara := a.supervisor(t, "sara")
	view := a.supervisorSocket(t, sara)
	view.expectType(protocol.TypeOverview)
	a.setRole(t, "sara", accounts.RoleAdvisor)
	bert.send(protocol.Duty{Type: protocol.TypeDuty, On: new(false)}) // a routing change
	w.code("no longer a supervisor", view, protocol.CodeForbidden, "")
	w.close("no longer a supervisor", view, protocol.CloseNotSupervisor)

	w.close("never started", silent, protocol.CloseNoStart)
	_ = vp
	_ = convP

	// Return codes: one a conversation has already, one nobody has.
	if status, f := postJSON(t, a, "/keep", keepBody(conv1, token1)); status != http.StatusOK || f.str("code") == "" {
		t.Fatalf("POST /keep = %d %v", status, f)
	}
	status, f := postJSON(t, a, "/keep", keepBody(conv1, token1))
	w.httpCode("keep a kept conversation", status, f.str("error"), http.StatusConflict, protocol.CodeAlreadyKept)
	coming := a.visitor(t)
	coming.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl", Code: "7KQ2-M9XD-4TPV-HX3R"})
	w.code("start with a code nobody has", coming, protocol.CodeUnknownCode, "")

	// Last, since it blocks this test's only address: Anna blocks conv3's
	// sender, who then cannot start again.
	anna.send(protocol.End{Type: protocol.TypeBlock, Conversation: conv3})
	w.close("blocked", v3, protocol.CloseEnded)
	again := a.visitor(t)
	again.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
	w.code("start after a block", again, protocol.CodeUnavailable, "")
}

// hours walks a service that is closed now: start is refused, and a
// graceful shutdown closes the socket with 1001.
func (w *walk) hours() {
	t := w.t
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": writeHours(t, map[string]any{
		"time_zone":    "Europe/Amsterdam",
		"weekly":       allWeek,
		"closed":       []string{day(-1), day(0), day(1)},
		"alternatives": alternatives,
	})})
	v := a.visitor(t)
	v.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
	w.code("start while closed", v, protocol.CodeClosed, "")
	a.stop(t)
	w.close("graceful shutdown", v, protocol.CloseShutdown)
}

// busy walks a service whose only advisor is full, with a long expected
// wait: start is refused as busy.
func (w *walk) busy() {
	t := w.t
	a := startApp(t, map[string]string{
		"ADVICECHAT_BUSY_WAIT":        "1m",
		"ADVICECHAT_DEFAULT_HANDLING": "30m",
		"ADVICECHAT_HOURS":            alwaysOpen(t),
	})
	adv, _ := onDutyAdvisor(t, a, "anna", "-max", "1")
	activeConversation(t, a, adv)
	v := a.visitor(t)
	v.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
	w.code("start with a long wait", v, protocol.CodeBusy, "")
}
