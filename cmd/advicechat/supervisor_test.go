package main

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/protocol"
)

// supervisor creates a supervisor account, logs it in and returns its
// HTTP client.
func (a *app) supervisor(tb testing.TB, username string, flags ...string) *http.Client {
	tb.Helper()
	pw := a.addAdvisor(tb, username, append([]string{"-role", "supervisor"}, flags...)...)
	return a.login(tb, username, pw)
}

// setRole gives an account another role in the accounts file, which the
// service reads on every request and routing change.
func (a *app) setRole(tb testing.TB, username string, role accounts.Role) {
	tb.Helper()
	file, err := accounts.Load(a.Accounts)
	if err != nil {
		tb.Fatal(err)
	}
	acct, ok := file.Find(username)
	if !ok {
		tb.Fatalf("no account %s", username)
	}
	acct.Role = role
	if err := file.Remove(username); err != nil {
		tb.Fatal(err)
	}
	if err := file.Add(acct); err != nil {
		tb.Fatal(err)
	}
	if err := file.Save(a.Accounts); err != nil {
		tb.Fatal(err)
	}
}

// supervisorSocket opens the supervisor view's socket with hc's cookie.
func (a *app) supervisorSocket(tb testing.TB, hc *http.Client) *client {
	tb.Helper()
	return dial(tb, a.wsURL("/ws/supervisor"), a.cookieHeader(hc))
}

// handshake is the HTTP status of a socket handshake on path with header:
// 101 if it opened.
func (a *app) handshake(tb testing.TB, path string, header http.Header) int {
	tb.Helper()
	c, resp, err := tryDial(a.wsURL(path), header)
	if err == nil {
		c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		tb.Fatalf("dial %s: %v", path, err)
	}
	return resp.StatusCode
}

// postResult is the answer to a supervisor request.
type postResult struct {
	status int
	code   string // the "error" field of a refusal
	body   map[string]any
}

// supervisorPost sends body to path as the page does: JSON, from the
// app's origin, with hc's cookie (none when hc is nil). header adds or
// replaces headers; a nil value removes one.
func (a *app) supervisorPost(tb testing.TB, hc *http.Client, path, body string, header map[string]*string) postResult {
	tb.Helper()
	req, err := http.NewRequest("POST", a.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", a.URL)
	for k, v := range header {
		if v == nil {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, *v)
		}
	}
	c := hc
	if c == nil {
		c = &http.Client{}
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := postResult{status: resp.StatusCode}
	if json.Unmarshal(b, &r.body) == nil {
		r.code, _ = r.body["error"].(string)
	}
	return r
}

func jsonBody(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func (a *app) setPriority(tb testing.TB, hc *http.Client, conv string, p int) postResult {
	tb.Helper()
	return a.supervisorPost(tb, hc, "/advisor/supervisor/priority", jsonBody(tb, map[string]any{"conversation": conv, "priority": p}), nil)
}

func (a *app) reassign(tb testing.TB, hc *http.Client, body map[string]any) postResult {
	tb.Helper()
	return a.supervisorPost(tb, hc, "/advisor/supervisor/reassign", jsonBody(tb, body), nil)
}

func frameList(f frame, k string) []frame {
	l, _ := f[k].([]any)
	out := make([]frame, 0, len(l))
	for _, v := range l {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func frameStrings(f frame, k string) []string {
	l, _ := f[k].([]any)
	out := make([]string, 0, len(l))
	for _, v := range l {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// waitingIDs lists an overview's waiting conversations in order.
func waitingIDs(f frame) []string {
	var ids []string
	for _, w := range frameList(f, "waiting") {
		ids = append(ids, w.str("id"))
	}
	return ids
}

func overviewAdvisor(f frame, username string) frame {
	for _, a := range frameList(f, "advisors") {
		if a.str("username") == username {
			return a
		}
	}
	return nil
}

func isOverview(match func(frame) bool) func(frame) bool {
	return func(f frame) bool { return f.str("type") == "overview" && match(f) }
}

func isPosition(n int64) func(frame) bool {
	return func(f frame) bool {
		return f.str("type") == "state" && f.str("status") == "waiting" && f.num("position") == n
	}
}

// TestSupervisorOverviewLive: the supervisor view shows a visitor who
// starts waiting and an advisor who goes on duty as they happen, with
// counts, times and skills, and never anything a visitor wrote.
func TestSupervisorOverviewLive(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	sup := a.supervisorSocket(t, a.supervisor(t, "sara", "-name", "Sara"))
	first := sup.expectType("overview")
	if len(frameList(first, "queues")) != 2 || len(frameList(first, "waiting")) != 0 {
		t.Errorf("first overview %v, want two empty queues", first)
	}

	// A visitor waits (nobody serves the public yet) and writes.
	v, conv, _ := startConversation(t, a, "public")
	const secret = "Mijn zoon kijkt naar filmpjes van extremisten"
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "v1", Text: secret})
	v.expect("ack", isAck("v1"))
	f := sup.expect("visitor waiting", isOverview(func(f frame) bool { return slices.Contains(waitingIDs(f), conv) }))
	w := frameList(f, "waiting")[0]
	if w.str("queue") != "public" || w.str("lang") != "nl" || w.num("priority") != 0 || w.num("position") != 1 {
		t.Errorf("waiting %v, want %s in public, nl, priority 0, position 1", w, conv)
	}
	for _, q := range frameList(f, "queues") {
		if q.str("name") == "public" {
			if q.num("waiting") != 1 || len(q["by_priority"].([]any)) != 3 || q["longest_wait"] == nil {
				t.Errorf("public queue %v, want 1 waiting, by_priority of 3 and longest_wait", q)
			}
		}
	}

	// An advisor for professionals goes on duty and shows up.
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "2", "-audiences", "professional", "-languages", "nl,ar")
	f = sup.expect("anna on duty", isOverview(func(f frame) bool { r := overviewAdvisor(f, "anna"); return r != nil && r["duty"] == true }))
	r := overviewAdvisor(f, "anna")
	if r.str("alias") != "Anna" || r.num("capacity") != 2 || r.num("load") != 0 || r.num("missed_offers") != 0 ||
		!slices.Equal(frameStrings(r, "audiences"), []string{"professional"}) || !slices.Equal(frameStrings(r, "languages"), []string{"nl", "ar"}) || r["seen"] == nil {
		t.Errorf("anna in the overview: %v", r)
	}

	// A professional's conversation goes to her: it shows as hers.
	_, conv2, _ := startConversation(t, a, "professional")
	anna.expect("assigned", isType("assigned"))
	sup.expect("anna holds it", isOverview(func(f frame) bool {
		r := overviewAdvisor(f, "anna")
		return r != nil && r.num("load") == 1 && slices.Equal(frameStrings(r, "conversations"), []string{conv2})
	}))

	// The socket takes no frames; every frame up to that answer carried
	// routing data only.
	sup.send(protocol.Hello{Type: protocol.TypeHello})
	f = sup.expect("error", func(f frame) bool {
		if b, _ := json.Marshal(f); strings.Contains(string(b), secret) {
			t.Fatalf("overview carries a visitor's text: %s", b)
		}
		return f.str("type") == "error"
	})
	if f.str("code") != "unknown_type" {
		t.Errorf("a frame to the supervisor socket: %v, want unknown_type", f)
	}
}

// TestSupervisorPriority: raising a waiting conversation's priority moves
// it to the front of the supervisor's list and of its queue, which its
// visitor sees; lowering it again puts it back.
func TestSupervisorPriority(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	hc := a.supervisor(t, "sara")
	sup := a.supervisorSocket(t, hc)
	v1, c1, _ := startConversation(t, a, "public")
	v1.expect("v1 first", isPosition(1))
	v2, c2, _ := startConversation(t, a, "public")
	v2.expect("v2 second", isPosition(2))
	sup.expect("both waiting", isOverview(func(f frame) bool { return slices.Equal(waitingIDs(f), []string{c1, c2}) }))

	if r := a.setPriority(t, hc, c2, 2); r.status != http.StatusNoContent {
		t.Fatalf("priority 2 for %s: status %d %v, want 204", c2, r.status, r.body)
	}
	f := sup.expect("reordered", isOverview(func(f frame) bool { return slices.Equal(waitingIDs(f), []string{c2, c1}) }))
	if w := frameList(f, "waiting")[0]; w.num("priority") != 2 || w.num("position") != 1 {
		t.Errorf("first waiting %v, want priority 2 at position 1", w)
	}
	v2.expect("v2 now first", isPosition(1))
	v1.expect("v1 now second", isPosition(2))

	if r := a.setPriority(t, hc, c2, 0); r.status != http.StatusNoContent {
		t.Fatalf("priority 0 for %s: status %d, want 204", c2, r.status)
	}
	sup.expect("back in order", isOverview(func(f frame) bool { return slices.Equal(waitingIDs(f), []string{c1, c2}) }))
	v1.expect("v1 first again", isPosition(1))
	if !strings.Contains(a.logs.String(), "action=priority advisor=sara conversation="+c2) {
		t.Errorf("no audit line for the priority change:\n%s", a.logs.String())
	}
}

// TestSupervisorReassign: a waiting conversation goes to an advisor on
// duty, who has it at once and reads the supervisor's note, which the
// visitor never sees; the active conversation then goes back to a queue.
// Moves to someone full or off duty, to an unknown queue, to where it is
// already, or of an ended conversation are refused with the code.
func TestSupervisorReassign(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	hc := a.supervisor(t, "sara", "-name", "Sara")
	// Anna serves professionals only: public visitors wait.
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "1", "-audiences", "professional")
	a.addAdvisor(t, "carl") // never on duty
	v, conv, _ := startConversation(t, a, "public")
	v.expect("waiting", isState("waiting"))

	const note = "Urgent: the father called before. Please take this one."
	r := a.reassign(t, hc, map[string]any{"conversation": conv, "to_advisor": "anna", "note": note})
	if r.status != http.StatusOK || r.body["advisor"] != "anna" || r.body["was"] != "waiting" {
		t.Fatalf("reassign to anna: %d %v, want 200 to anna from waiting", r.status, r.body)
	}
	anna.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
	if f := anna.expect("the note", isEntry(conv, "note")); f.str("text") != note || f.str("name") != "Sara" {
		t.Errorf("anna sees note %v, want Sara's note", f)
	}
	anna.expect("transferred entry", isEntry(conv, "transferred"))
	got := expectEach(v, "hidden note and Anna",
		func(f frame) bool { return f.str("type") == "entry" && f.str("kind") == "hidden" },
		func(f frame) bool { return f.str("type") == "state" && f.str("advisor") == "Anna" })
	if got[0].str("text") != "" {
		t.Errorf("visitor got the note's text: %v", got[0])
	}

	// Refusals, with Anna full.
	v2, conv2, _ := startConversation(t, a, "public")
	for _, tt := range []struct {
		name string
		body map[string]any
		code string
	}{
		{"full", map[string]any{"conversation": conv2, "to_advisor": "anna"}, "advisor_full"},
		{"off duty", map[string]any{"conversation": conv2, "to_advisor": "carl"}, "advisor_off_duty"},
		{"unknown advisor", map[string]any{"conversation": conv2, "to_advisor": "nobody"}, "advisor_off_duty"},
		{"unknown queue", map[string]any{"conversation": conv2, "to_queue": "vip"}, "unknown_queue"},
		{"where it is", map[string]any{"conversation": conv, "to_advisor": "anna"}, "bad_request"},
		{"unknown conversation", map[string]any{"conversation": strings.Repeat("ab", 16), "to_queue": "public"}, "ended"},
	} {
		if r := a.reassign(t, hc, tt.body); r.status != http.StatusConflict || r.code != tt.code {
			t.Errorf("reassign %s: %d %q, want 409 %s", tt.name, r.status, r.code, tt.code)
		}
	}

	// The active conversation back to the public queue: Anna loses it, the
	// visitor waits again.
	r = a.reassign(t, hc, map[string]any{"conversation": conv, "to_queue": "public"})
	if r.status != http.StatusOK || r.body["queue"] != "public" || r.body["was"] != "active" || r.body["from"] != "anna" {
		t.Fatalf("reassign to the queue: %d %v, want 200 to public from anna", r.status, r.body)
	}
	if f := anna.expect("unassigned", isType("unassigned")); f.str("reason") != "reassigned" || f.str("conversation") != conv {
		t.Errorf("anna got %v, want unassigned %s reassigned", f, conv)
	}
	v.expect("waiting again", isState("waiting"))

	// An ended conversation can be neither moved nor reprioritised.
	v2.send(protocol.End{Type: protocol.TypeEnd})
	v2.expect("ended", isState("ended"))
	if r := a.reassign(t, hc, map[string]any{"conversation": conv2, "to_queue": "public"}); r.status != http.StatusConflict || r.code != "ended" {
		t.Errorf("reassign of an ended conversation: %d %q, want 409 ended", r.status, r.code)
	}
	if r := a.setPriority(t, hc, conv2, 1); r.status != http.StatusConflict || r.code != "ended" {
		t.Errorf("priority of an ended conversation: %d %q, want 409 ended", r.status, r.code)
	}
	logs := a.logs.String()
	if !strings.Contains(logs, "action=transferred advisor=sara conversation="+conv) {
		t.Errorf("no audit line for the reassignment:\n%s", logs)
	}
	if strings.Contains(logs, note) {
		t.Error("the log holds the note's text")
	}
}

// TestSupervisorBadInput: every malformed request is refused with 400 and
// changes nothing.
func TestSupervisorBadInput(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	hc := a.supervisor(t, "sara")
	_, conv, _ := startConversation(t, a, "public")
	tests := []struct {
		name, path, body string
		header           map[string]*string
	}{
		{"priority: not JSON", "priority", `conversation=` + conv, nil},
		{"priority: bad JSON", "priority", `{"conversation":"` + conv + `",`, nil},
		{"priority: trailing data", "priority", `{"conversation":"` + conv + `","priority":1} {}`, nil},
		{"priority: JSON array", "priority", `[1]`, nil},
		{"priority: form content type", "priority", jsonBody(t, map[string]any{"conversation": conv, "priority": 1}), map[string]*string{"Content-Type": strPtr("application/x-www-form-urlencoded")}},
		{"priority: no content type", "priority", jsonBody(t, map[string]any{"conversation": conv, "priority": 1}), map[string]*string{"Content-Type": nil}},
		{"priority: no conversation", "priority", `{"priority":1}`, nil},
		{"priority: bad id", "priority", `{"conversation":"../x","priority":1}`, nil},
		{"priority: upper-case id", "priority", `{"conversation":"` + strings.ToUpper(conv) + `","priority":1}`, nil},
		{"priority: missing", "priority", `{"conversation":"` + conv + `"}`, nil},
		{"priority: 3", "priority", `{"conversation":"` + conv + `","priority":3}`, nil},
		{"priority: -1", "priority", `{"conversation":"` + conv + `","priority":-1}`, nil},
		{"priority: string", "priority", `{"conversation":"` + conv + `","priority":"1"}`, nil},
		{"priority: fraction", "priority", `{"conversation":"` + conv + `","priority":1.5}`, nil},
		{"priority: null", "priority", `{"conversation":"` + conv + `","priority":null}`, nil},
		{"reassign: bad JSON", "reassign", `{`, nil},
		{"reassign: bad id", "reassign", `{"conversation":"x","to_queue":"public"}`, nil},
		{"reassign: no target", "reassign", `{"conversation":"` + conv + `"}`, nil},
		{"reassign: empty targets", "reassign", `{"conversation":"` + conv + `","to_advisor":"","to_queue":""}`, nil},
		{"reassign: both targets", "reassign", `{"conversation":"` + conv + `","to_advisor":"anna","to_queue":"public"}`, nil},
		{"reassign: note too long", "reassign", jsonBody(t, map[string]any{"conversation": conv, "to_queue": "professional", "note": strings.Repeat("é", 4001)}), nil},
		{"reassign: note not UTF-8", "reassign", `{"conversation":"` + conv + `","to_queue":"professional","note":"bad ` + "\xff\xfe" + `"}`, nil},
		{"reassign: body too large", "reassign", `{"conversation":"` + conv + `","to_queue":"professional","note":"` + strings.Repeat("a", 17<<10) + `"}`, nil},
	}
	for _, tt := range tests {
		r := a.supervisorPost(t, hc, "/advisor/supervisor/"+tt.path, tt.body, tt.header)
		if r.status != http.StatusBadRequest || r.code != "bad_request" {
			t.Errorf("%s: %d %q %v, want 400 bad_request", tt.name, r.status, r.code, r.body)
		}
	}
	// Nothing moved, nothing changed.
	sup := a.supervisorSocket(t, hc)
	f := sup.expectType("overview")
	if w := frameList(f, "waiting"); len(w) != 1 || w[0].str("id") != conv || w[0].str("queue") != "public" || w[0].num("priority") != 0 {
		t.Errorf("after the bad requests the queue is %v, want %s unchanged", w, conv)
	}
	// A blank note is no note.
	if r := a.reassign(t, hc, map[string]any{"conversation": conv, "to_queue": "professional", "note": "  \n "}); r.status != http.StatusOK {
		t.Errorf("reassign with a blank note: %d %v, want 200", r.status, r.body)
	}
}

// TestSupervisorRefused: an advisor is refused the view, its socket and
// both actions (403); without a session the page sends to the login and
// the rest is 401; a cross-origin request is refused (403); a demoted
// supervisor loses everything at once, a removed one too.
func TestSupervisorRefused(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	sup := a.supervisor(t, "sara")
	adv := a.login(t, "anna", a.addAdvisor(t, "anna"))
	_, conv, _ := startConversation(t, a, "public")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	get := func(hc *http.Client) (int, string) {
		t.Helper()
		resp, err := hc.Get(a.URL + "/advisor/supervisor")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	refusedEverywhere := func(who string, hc *http.Client, page, status int, code string) {
		t.Helper()
		if got, loc := get(hc); got != page || (page == http.StatusSeeOther && loc != "/advisor") {
			t.Errorf("%s: GET /advisor/supervisor = %d (Location %q), want %d", who, got, loc, page)
		}
		h := a.origin()
		if hc != noRedirect {
			h = a.cookieHeader(hc)
		}
		if got := a.handshake(t, "/ws/supervisor", h); got != status {
			t.Errorf("%s: socket handshake = %d, want %d", who, got, status)
		}
		if r := a.setPriority(t, hc, conv, 2); r.status != status || r.code != code {
			t.Errorf("%s: priority = %d %q, want %d %s", who, r.status, r.code, status, code)
		}
		if r := a.reassign(t, hc, map[string]any{"conversation": conv, "to_queue": "professional"}); r.status != status || r.code != code {
			t.Errorf("%s: reassign = %d %q, want %d %s", who, r.status, r.code, status, code)
		}
	}
	refusedEverywhere("advisor", adv, http.StatusForbidden, http.StatusForbidden, "forbidden")
	refusedEverywhere("no session", noRedirect, http.StatusSeeOther, http.StatusUnauthorized, "unauthorized")

	// Cross-origin, with a supervisor's cookie: refused before the handler.
	for _, h := range []map[string]*string{
		{"Origin": strPtr("https://evil.example")},
		{"Origin": nil, "Sec-Fetch-Site": strPtr("cross-site")},
	} {
		body := jsonBody(t, map[string]any{"conversation": conv, "priority": 2})
		if r := a.supervisorPost(t, sup, "/advisor/supervisor/priority", body, h); r.status != http.StatusForbidden {
			t.Errorf("cross-origin priority with %v: %d, want 403", h, r.status)
		}
		body = jsonBody(t, map[string]any{"conversation": conv, "to_queue": "professional"})
		if r := a.supervisorPost(t, sup, "/advisor/supervisor/reassign", body, h); r.status != http.StatusForbidden {
			t.Errorf("cross-origin reassign with %v: %d, want 403", h, r.status)
		}
	}
	// And sockets from elsewhere, or from no page at all.
	bad := a.cookieHeader(sup)
	bad.Set("Origin", "https://evil.example")
	if got := a.handshake(t, "/ws/supervisor", bad); got != http.StatusForbidden {
		t.Errorf("socket from another origin = %d, want 403", got)
	}
	bad.Del("Origin")
	if got := a.handshake(t, "/ws/supervisor", bad); got != http.StatusForbidden {
		t.Errorf("socket without Origin = %d, want 403", got)
	}

	// None of it changed anything.
	view := a.supervisorSocket(t, sup)
	f := view.expectType("overview")
	if w := frameList(f, "waiting"); len(w) != 1 || w[0].num("priority") != 0 || w[0].str("queue") != "public" {
		t.Errorf("after the refused requests the queue is %v, want %s unchanged", w, conv)
	}
	if got, _ := get(sup); got != http.StatusOK {
		t.Errorf("supervisor: GET /advisor/supervisor = %d, want 200", got)
	}

	// Demoted in the accounts file: refused at once, and the open view
	// closes at the next routing change.
	a.setRole(t, "sara", accounts.RoleAdvisor)
	if r := a.setPriority(t, sup, conv, 1); r.status != http.StatusForbidden || r.code != "forbidden" {
		t.Errorf("demoted: priority = %d %q, want 403 forbidden", r.status, r.code)
	}
	startConversation(t, a, "public")
	view.expect("forbidden", isError("forbidden"))
	if code := view.expectClose(); code != websocket.StatusPolicyViolation {
		t.Errorf("demoted: socket closed with %d, want 1008", code)
	}
	if got, _ := get(sup); got != http.StatusForbidden {
		t.Errorf("demoted: GET /advisor/supervisor = %d, want 403", got)
	}

	// Removed from the file: the session is void.
	a.runCLI(t, "", "advisor", "remove", "sara")
	if r := a.setPriority(t, sup, conv, 1); r.status != http.StatusUnauthorized {
		t.Errorf("removed: priority = %d, want 401", r.status)
	}
}

// TestSupervisorLogoutClosesView: logging out closes the supervisor's view
// (1008) and the old cookie acts no more.
func TestSupervisorLogoutClosesView(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	hc := a.supervisor(t, "sara")
	view := a.supervisorSocket(t, hc)
	view.expectType("overview")
	old := a.cookieHeader(hc)
	req, _ := http.NewRequest("POST", a.URL+"/advisor/logout", nil)
	req.Header.Set("Origin", a.URL)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := view.expectClose(); code != websocket.StatusPolicyViolation {
		t.Errorf("view closed with %d after logout, want 1008", code)
	}
	if got := a.handshake(t, "/ws/supervisor", old); got != http.StatusUnauthorized {
		t.Errorf("socket with the old cookie = %d, want 401", got)
	}
}

// TestSupervisorSecurityHeaders: the supervisor routes carry the headers
// every response must.
func TestSupervisorSecurityHeaders(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	hc := a.supervisor(t, "sara")
	for _, r := range []struct{ method, path string }{
		{"GET", "/advisor/supervisor"},
		{"GET", "/ws/supervisor"},
		{"POST", "/advisor/supervisor/priority"},
		{"POST", "/advisor/supervisor/reassign"},
		{"GET", "/static/supervisor.js"},
	} {
		req, _ := http.NewRequest(r.method, a.URL+r.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") || strings.Contains(h.Get("Content-Security-Policy"), "unsafe-inline") {
			t.Errorf("%s %s (%d): headers %v", r.method, r.path, resp.StatusCode, h)
		}
	}
}

func strPtr(s string) *string { return &s }
