package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/web/protocol"
)

func isState(status string) func(frame) bool {
	return func(f frame) bool { return f.str("type") == "state" && f.str("status") == status }
}

func isAck(id string) func(frame) bool {
	return func(f frame) bool { return f.str("type") == "ack" && f.str("id") == id }
}

func isError(code string) func(frame) bool {
	return func(f frame) bool { return f.str("type") == "error" && f.str("code") == code }
}

// activeConversation starts a conversation and waits until the advisor has
// it.
func activeConversation(t *testing.T, a *app, adv *client) (*client, string, string) {
	t.Helper()
	v, conv, token := startConversation(t, a, "public")
	// The state may say active before the joined entry is stored; wait
	// for both so later sequence numbers are predictable.
	v.expectAll("active and joined", isState("active"), isEntry(conv, "joined"))
	adv.expect("assigned "+conv, func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
	return v, conv, token
}

// exchange checks that a conversation still works both ways.
func exchange(t *testing.T, v, adv *client, conv, tag string) {
	t.Helper()
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "v-" + tag, Text: "visitor " + tag})
	v.expect("ack", isAck("v-"+tag))
	adv.expect("visitor "+tag, isText(conv, "visitor "+tag))
	adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "a-" + tag, Text: "advisor " + tag})
	v.expect("advisor "+tag, isText(conv, "advisor "+tag))
}

func messageFrame(id, text string) []byte {
	b, _ := json.Marshal(protocol.Message{Type: protocol.TypeMessage, ID: id, Text: text})
	return b
}

// TestVisitorBadInput sends every kind of bad frame: each gets a clear
// error, nothing is stored, the socket stays usable, and another
// conversation is not affected.
func TestVisitorBadInput(t *testing.T) {
	a := startApp(t, nil)
	adv, _ := onDutyAdvisor(t, a, "cas", "-max", "3")
	ctl, ctlConv, _ := activeConversation(t, a, adv)
	v, conv, _ := activeConversation(t, a, adv)

	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "orig", Text: "first"})
	first := v.expect("ack orig", isAck("orig"))

	tests := []struct {
		name  string
		frame []byte
		code  string
		id    string
	}{
		{"malformed JSON", []byte(`{"type":`), "bad_json", ""},
		{"not an object", []byte(`[1,2,3]`), "bad_json", ""},
		{"type not a string", []byte(`{"type":5}`), "bad_json", ""},
		{"no type", []byte(`{"text":"hi"}`), "bad_json", ""},
		{"unknown type", []byte(`{"type":"shout"}`), "unknown_type", ""},
		{"empty text", messageFrame("e1", ""), "empty", "e1"},
		{"white space only", messageFrame("e2", " \n\t  "), "empty", "e2"},
		{"text too long", messageFrame("e3", strings.Repeat("a", chat.MaxTextRunes+1)), "too_long", "e3"},
		{"invalid UTF-8", []byte("{\"type\":\"message\",\"id\":\"e4\",\"text\":\"bad \xff\xfe bytes\"}"), "bad_utf8", "e4"},
		{"lone high surrogate", []byte(`{"type":"message","id":"e5","text":"half \ud800 pair"}`), "bad_utf8", "e5"},
		{"lone low surrogate", []byte(`{"type":"message","id":"e6","text":"\udc00"}`), "bad_utf8", "e6"},
		{"high surrogate then no low", []byte(`{"type":"message","id":"e7","text":"\ud83d\u0041"}`), "bad_utf8", "e7"},
		{"invalid UTF-8 in the id", []byte("{\"type\":\"message\",\"id\":\"e\xff8\",\"text\":\"fine\"}"), "bad_request", "e\uFFFD8"},
		{"invalid UTF-8 outside a message", []byte("{\"type\":\"typing\",\"x\":\"\xff\"}"), "bad_utf8", ""},
		{"bad client id", messageFrame("has space", "hi"), "bad_request", "has space"},
		{"missing client id", []byte(`{"type":"message","text":"hi"}`), "bad_request", ""},
		{"client id reused with other text", messageFrame("orig", "second"), "bad_request", "orig"},
		{"start again", []byte(`{"type":"start","audience":"public","lang":"nl"}`), "bad_request", ""},
		{"resume on a started socket", []byte(`{"type":"resume","conversation":"` + ctlConv + `","token":"x","after":0}`), "bad_request", ""},
	}
	for _, tt := range tests {
		v.sendRaw(tt.frame)
		e := v.expectType("error")
		if e.str("code") != tt.code || e.str("id") != tt.id || e.str("message") == "" {
			t.Errorf("%s: error code %q id %q message %q, want code %q id %q and a message", tt.name, e.str("code"), e.str("id"), e.str("message"), tt.code, tt.id)
		}
	}

	// Nothing bad was stored: the next message follows the first directly.
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "after", Text: "still here"})
	next := v.expect("ack after", isAck("after"))
	if next.num("seq") != first.num("seq")+1 {
		t.Errorf("seq after bad input = %d, want %d: something was stored", next.num("seq"), first.num("seq")+1)
	}
	adv.expect("message after bad input", isText(conv, "still here"))

	// A surrogate pair written as escapes is one character, stored as sent.
	v.sendRaw([]byte(`{"type":"message","id":"pair","text":"smile \ud83d\ude00"}`))
	v.expect("ack pair", isAck("pair"))
	adv.expect("the pair as one character", isText(conv, "smile \U0001F600"))
	exchange(t, ctl, adv, ctlConv, "control")
}

// TestOversizedFrameCloses sends a frame over the limit: the socket is
// closed with 1009 and other conversations carry on.
func TestOversizedFrameCloses(t *testing.T) {
	a := startApp(t, nil)
	adv, _ := onDutyAdvisor(t, a, "dirk", "-max", "3")
	ctl, ctlConv, _ := activeConversation(t, a, adv)
	v, _, _ := activeConversation(t, a, adv)

	v.sendRaw(messageFrame("big", strings.Repeat("x", 17<<10)))
	if code := v.expectClose(); code != websocket.StatusMessageTooBig {
		t.Errorf("oversized frame: close %d, want 1009", code)
	}
	exchange(t, ctl, adv, ctlConv, "control")
}

// TestVisitorResumeRefused covers forged and guessed tokens and resume
// points that cannot be right; none of them touches the real conversation.
func TestVisitorResumeRefused(t *testing.T) {
	a := startApp(t, nil)
	adv, _ := onDutyAdvisor(t, a, "eva", "-max", "3")
	v, conv, token := activeConversation(t, a, adv)
	_, otherConv, otherToken := activeConversation(t, a, adv)

	closing := []struct {
		name   string
		resume map[string]any
		code   string
	}{
		{"forged token", map[string]any{"conversation": conv, "token": chat.NewToken(), "after": 0}, "unauthorized"},
		{"another conversation's token", map[string]any{"conversation": conv, "token": otherToken, "after": 0}, "unauthorized"},
		{"guessed conversation", map[string]any{"conversation": chat.NewID(), "token": token, "after": 0}, "not_found"},
	}
	for _, tt := range closing {
		c := a.visitor(t)
		tt.resume["type"] = "resume"
		c.send(tt.resume)
		if e := c.expectType("error"); e.str("code") != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, e.str("code"), tt.code)
		}
		if code := c.expectClose(); code != websocket.StatusPolicyViolation {
			t.Errorf("%s: close %d, want 1008", tt.name, code)
		}
	}

	staying := []struct {
		name   string
		resume string
		code   string
	}{
		{"malformed conversation id", `{"type":"resume","conversation":"../../etc","token":"x","after":0}`, "bad_request"},
		{"missing token", `{"type":"resume","conversation":"` + conv + `","after":0}`, "bad_request"},
		{"negative after", `{"type":"resume","conversation":"` + conv + `","token":"` + token + `","after":-1}`, "bad_request"},
		{"after from the future", `{"type":"resume","conversation":"` + conv + `","token":"` + token + `","after":1000}`, "bad_request"},
		{"message before start", string(messageFrame("m1", "hi")), "not_started"},
		{"end before start", `{"type":"end"}`, "not_started"},
		{"start with unknown audience", `{"type":"start","audience":"everyone","lang":"nl"}`, "bad_request"},
		{"start without lang", `{"type":"start","audience":"public"}`, "bad_request"},
		{"start with unknown lang", `{"type":"start","audience":"public","lang":"xx"}`, "bad_request"},
		{"start with upper-case lang", `{"type":"start","audience":"public","lang":"EN"}`, "bad_request"},
		{"start with a region", `{"type":"start","audience":"public","lang":"en-GB"}`, "bad_request"},
	}
	c := a.visitor(t)
	for _, tt := range staying {
		c.sendRaw([]byte(tt.resume))
		if e := c.expectType("error"); e.str("code") != tt.code {
			t.Errorf("%s: code %q, want %q", tt.name, e.str("code"), tt.code)
		}
	}
	// The same socket can still resume properly afterwards.
	c.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv, Token: token, After: 0})
	c.expect("state active", isState("active"))

	// One socket per conversation: the one that had it is closed with
	// 4001, and the conversation goes on in the new one.
	if code := v.expectClose(); code != protocol.StatusTakenOver {
		t.Errorf("the first socket closed with %d when another resumed, want 4001", code)
	}
	exchange(t, c, adv, conv, "real")
	if otherConv == conv {
		t.Fatal("two conversations share an id")
	}
}

// TestSocketOrigin refuses handshakes from other origins, and advisor
// handshakes without Origin or session.
func TestSocketOrigin(t *testing.T) {
	a := startApp(t, nil)
	pw := a.addAdvisor(t, "fien")
	hc := a.login(t, "fien", pw)
	cookie := func() string {
		req, _ := http.NewRequest("GET", a.URL+"/advisor", nil)
		for _, ck := range hc.Jar.Cookies(req.URL) {
			return ck.Name + "=" + ck.Value
		}
		t.Fatal("no session cookie")
		return ""
	}()
	host := strings.TrimPrefix(a.URL, "http://")

	tests := []struct {
		name   string
		path   string
		header http.Header
		status int
	}{
		{"visitor from evil.example", "/ws/visitor", http.Header{"Origin": {"https://evil.example"}}, 403},
		{"visitor from null", "/ws/visitor", http.Header{"Origin": {"null"}}, 403},
		{"visitor from a look-alike host", "/ws/visitor", http.Header{"Origin": {"http://" + host + ".evil.example"}}, 403},
		{"visitor from a prefix of the host", "/ws/visitor", http.Header{"Origin": {"http://" + host[:len(host)-1]}}, 403},
		{"advisor from evil.example", "/ws/advisor", http.Header{"Origin": {"https://evil.example"}, "Cookie": {cookie}}, 403},
		{"advisor without Origin", "/ws/advisor", http.Header{"Cookie": {cookie}}, 403},
		{"advisor without session", "/ws/advisor", a.origin(), 401},
		{"advisor with a forged session", "/ws/advisor", http.Header{"Origin": {a.URL}, "Cookie": {"advicechat_session=" + chat.NewToken()}}, 401},
	}
	for _, tt := range tests {
		c, resp, err := tryDial(a.wsURL(tt.path), tt.header)
		if err == nil {
			c.CloseNow()
			t.Errorf("%s: handshake accepted, want %d", tt.name, tt.status)
			continue
		}
		if resp == nil || resp.StatusCode != tt.status {
			got := 0
			if resp != nil {
				got = resp.StatusCode
			}
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.status)
		}
	}
	// The right origin works for both.
	v := a.visitor(t)
	v.send(protocol.Start{Type: protocol.TypeStart, Audience: "professional", Lang: "en"})
	v.expectType("started")
	adv := a.advisor(t, hc, nil)
	adv.expectType("status")
}

// TestShutdownClosesWithGoingAway stops an instance: its sockets are closed
// with 1001, and a visitor resumes on a new instance with nothing lost.
func TestShutdownClosesWithGoingAway(t *testing.T) {
	a := startApp(t, nil)
	adv, hc := onDutyAdvisor(t, a, "gert", "-max", "2")
	v, conv, token := activeConversation(t, a, adv)
	exchange(t, v, adv, conv, "before")

	a.stop(t)
	if code := v.expectClose(); code != websocket.StatusGoingAway {
		t.Errorf("visitor socket closed with %d on shutdown, want 1001", code)
	}
	if code := adv.expectClose(); code != websocket.StatusGoingAway {
		t.Errorf("advisor socket closed with %d on shutdown, want 1001", code)
	}

	b := startWithEnv(t, a.Redis, a.env)
	v2 := b.visitor(t)
	v2.send(protocol.Resume{Type: protocol.TypeResume, Conversation: conv, Token: token, After: 0})
	v2.expect("state active", isState("active"))
	v2.expect("earlier message", isText(conv, "advisor before"))
	adv2 := b.advisor(t, hc, nil)
	adv2.expect("conversation kept", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
	exchange(t, v2, adv2, conv, "after")
}

// TestSilentSocketClosed: a socket that never says start, resume or hello
// is closed with 1008 after the start timeout; a refused start does not
// count as one.
func TestSilentSocketClosed(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_START_TIMEOUT": "300ms"})
	silent := a.visitor(t)
	refused := a.visitor(t)
	refused.sendRaw([]byte(`{"type":"start","audience":"nobody","lang":"nl"}`))
	refused.expect("refused start", isError("bad_request"))
	pw := a.addAdvisor(t, "mila")
	hc := a.login(t, "mila", pw)
	h := a.origin()
	for _, ck := range hc.Jar.Cookies(mustParse(t, a.URL)) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	advisor := dial(t, a.wsURL("/ws/advisor"), h)

	for name, c := range map[string]*client{"silent visitor": silent, "visitor with a refused start": refused, "advisor without hello": advisor} {
		if code := c.expectClose(); code != websocket.StatusPolicyViolation {
			t.Errorf("%s: closed with %d, want 1008", name, code)
		}
	}
	// A socket that starts in time stays open past the timeout: a silent
	// probe opened after it is closed first, so the started socket's own
	// timeout has passed too.
	v, _, _ := startConversation(t, a, "public")
	probe := a.visitor(t)
	if code := probe.expectClose(); code != websocket.StatusPolicyViolation {
		t.Fatalf("probe closed with %d, want 1008", code)
	}
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "late", Text: "na de timeout"})
	select {
	case <-v.closed:
		t.Fatalf("started socket was closed: %v", v.err)
	default:
	}
	v.expect("ack", isAck("late"))
}
