package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/web/protocol"
)

// loginResult is the answer to one POST /advisor/login.
type loginResult struct {
	status  int
	body    string
	cookies []*http.Cookie
}

// postLogin posts the login form as a browser on the app's page would, with
// extra cookies, and does not follow the redirect.
func (a *app) postLogin(tb testing.TB, form url.Values, cookies ...*http.Cookie) loginResult {
	tb.Helper()
	req, err := http.NewRequest("POST", a.URL+"/advisor/login", strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.URL)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		tb.Fatalf("POST /advisor/login: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return loginResult{resp.StatusCode, string(body), resp.Cookies()}
}

func loginForm(username, password, code string) url.Values {
	return url.Values{"username": {username}, "password": {password}, "code": {code}}
}

// runCLI runs a command of the app's binary against its accounts file.
func (a *app) runCLI(tb testing.TB, stdin string, args ...string) string {
	tb.Helper()
	var out, errOut strings.Builder
	if code := run(context.Background(), args, func(k string) string { return a.env[k] }, strings.NewReader(stdin), &out, &errOut); code != 0 {
		tb.Fatalf("advicechat %q = %d: %s", args, code, errOut.String())
	}
	return out.String()
}

// wrongCode returns a six-digit code other than code.
func wrongCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// waitLog waits until the app's log has a line matching re and returns it.
func (a *app) waitLog(tb testing.TB, re string) string {
	tb.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(waitTimeout)
	for {
		if m := rx.FindString(a.logs.String()); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no log line matching %s within %s:\n%s", re, waitTimeout, a.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refused checks that every login failed with the one generic page and
// set no cookie.
func refused(t *testing.T, what []string, results []loginResult) {
	t.Helper()
	for i, r := range results {
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", what[i], r.status)
		}
		if len(r.cookies) > 0 {
			t.Errorf("%s: set a cookie", what[i])
		}
		if r.body != results[0].body {
			t.Errorf("%s: page differs from %s's", what[i], what[0])
		}
	}
	if !strings.Contains(results[0].body, `id="login-error"`) {
		t.Errorf("%s: page lacks the login error", what[0])
	}
}

// TestLoginTOTP: outside the embedded mode a login needs password and
// TOTP code; a code is accepted once; a missing, wrong or replayed code
// and a wrong password or unknown user all get the same page.
func TestLoginTOTP(t *testing.T) {
	a := startApp(t, nil)
	pw := a.addAdvisor(t, "anna")
	code := a.totpCode(t, "anna")
	if r := a.postLogin(t, loginForm("anna", pw, code)); r.status != http.StatusSeeOther || len(r.cookies) != 1 {
		t.Fatalf("login with password and code: status %d, %d cookies, want 303 and a session cookie", r.status, len(r.cookies))
	}

	// At most four failures: a fifth would lock the account (see
	// TestLoginThrottled).
	fresh := a.totpCode(t, "anna")
	what := []string{"replayed code", "wrong code", "no code", "wrong password, fresh code", "unknown user"}
	results := []loginResult{
		a.postLogin(t, loginForm("anna", pw, code)),
		a.postLogin(t, loginForm("anna", pw, wrongCode(code))),
		a.postLogin(t, loginForm("anna", pw, "")),
		a.postLogin(t, loginForm("anna", "wrong password", fresh)),
		a.postLogin(t, loginForm("nobody", pw, code)),
	}
	refused(t, what, results)
	for _, reason := range []string{"replay", "code", "credentials"} {
		a.waitLog(t, `msg=audit action=login_failed advisor=\S* reason=`+reason)
	}

	// A failed login does not use up its code; spaces in it are fine.
	if r := a.postLogin(t, loginForm("Anna", pw, fresh[:3]+" "+fresh[3:])); r.status != http.StatusSeeOther {
		t.Errorf("login with the fresh code: status %d, want 303", r.status)
	}
}

// TestLoginNeedsSecondFactor: outside the embedded mode an account without
// a TOTP secret cannot log in, and the log tells the operator how to fix
// it; once enrolled with the CLI, it can.
func TestLoginNeedsSecondFactor(t *testing.T) {
	a := startApp(t, nil)
	const pw = "correct horse battery staple"
	a.runCLI(t, pw+"\n", "advisor", "add", "-password-stdin", "bob")
	a.addAdvisor(t, "anna")
	results := []loginResult{
		a.postLogin(t, loginForm("bob", pw, "")),
		a.postLogin(t, loginForm("bob", pw, "123456")),
		a.postLogin(t, loginForm("anna", "wrong password", "")),
	}
	refused(t, []string{"bob without code", "bob with a code", "wrong password"}, results)
	a.waitLog(t, `login refused: account has no second factor; enrol with advicechat advisor totp bob`)
	a.waitLog(t, `msg=audit action=login_failed advisor=bob reason=no_second_factor`)

	out := a.runCLI(t, "", "advisor", "totp", "bob")
	m := shownTOTPSecret.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("advisor totp bob printed no secret: %q", out)
	}
	a.totpMu.Lock()
	a.totp["bob"] = m[1]
	a.totpMu.Unlock()
	a.login(t, "bob", pw)
}

// TestLoginEmbeddedSecondFactorOptional: in the embedded (demo) mode an
// account without TOTP logs in with its password; one with TOTP still
// needs the code.
func TestLoginEmbeddedSecondFactorOptional(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_REDIS_URL": ""})
	a.waitLog(t, "using embedded redis")
	const pw = "correct horse battery staple"
	a.runCLI(t, pw+"\n", "advisor", "add", "-password-stdin", "bob")
	if r := a.postLogin(t, loginForm("bob", pw, "")); r.status != http.StatusSeeOther {
		t.Errorf("embedded mode, no TOTP: status %d, want 303", r.status)
	}
	a.addAdvisor(t, "anna")
	if r := a.postLogin(t, loginForm("anna", pw, "")); r.status != http.StatusUnauthorized {
		t.Errorf("embedded mode, TOTP enrolled, no code: status %d, want 401", r.status)
	}
	a.login(t, "anna", pw)
}

// TestLoginThrottled: five failures lock an account, also for the right
// password and code, with the same page as any failure; the client can
// still log in to another account until it has twenty failures itself.
// The counters expire with their window and hold no name or address.
func TestLoginThrottled(t *testing.T) {
	a := startApp(t, nil)
	pw := a.addAdvisor(t, "anna")
	pwB := a.addAdvisor(t, "bert")
	var results []loginResult
	var what []string
	for i := range 5 {
		results = append(results, a.postLogin(t, loginForm("anna", "wrong password", "")))
		what = append(what, fmt.Sprintf("wrong password %d", i+1))
	}
	results = append(results, a.postLogin(t, loginForm("anna", pw, a.totpCode(t, "anna"))))
	what = append(what, "right password and code after five failures")
	refused(t, what, results)
	a.waitLog(t, `msg=audit action=login_failed advisor=anna reason=throttled limit=account`)

	// Another account from the same client.
	a.login(t, "bert", pwB)

	// Twenty failures from this client, whatever the accounts.
	for i := range 15 {
		if r := a.postLogin(t, loginForm(fmt.Sprintf("nobody-%d", i), "wrong password", "")); r.status != http.StatusUnauthorized {
			t.Fatalf("unknown user: status %d, want 401", r.status)
		}
	}
	r := a.postLogin(t, loginForm("bert", pwB, a.totpCode(t, "bert")))
	refused(t, []string{"failure", "another account after twenty failures from its client"}, []loginResult{results[0], r})
	a.waitLog(t, `msg=audit action=login_failed advisor=bert reason=throttled limit=client`)

	ctx := context.Background()
	var accts, clients int
	for _, k := range a.Redis.Keys(t) {
		if !strings.Contains(k, "{throttle}:") {
			continue
		}
		v := a.Redis.Client.Get(ctx, k).Val()
		for _, secret := range []string{"anna", "bert", "nobody", "127.0.0.1"} {
			if strings.Contains(k, secret) || strings.Contains(v, secret) {
				t.Errorf("throttle key %s = %q contains %q", k, v, secret)
			}
		}
		switch {
		case strings.Contains(k, "{throttle}:acct:"):
			accts++
		case strings.Contains(k, "{throttle}:client:"):
			clients++
			if v != "20" {
				t.Errorf("client failures = %s, want 20 (throttled attempts are not counted)", v)
			}
		}
		if ttl := a.Redis.Client.PTTL(ctx, k).Val(); ttl <= 14*time.Minute || ttl > 15*time.Minute {
			t.Errorf("PTTL(%s) = %v, want just under 15m", k, ttl)
		}
	}
	// anna and the fifteen unknown names; bert's was cleared at login.
	if accts != 16 || clients != 1 {
		t.Errorf("%d account and %d client counters, want 16 and 1", accts, clients)
	}
	if strings.Contains(a.logs.String(), "nobody-") {
		t.Error("the log names a username that is no account")
	}
}

// cookieHeader returns the Cookie header a logged-in client sends.
func (a *app) cookieHeader(hc *http.Client) http.Header {
	h := a.origin()
	u, _ := url.Parse(a.URL)
	for _, ck := range hc.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	return h
}

// socketStatus is the HTTP status of an advisor socket handshake with
// header: 101 if it opened.
func (a *app) socketStatus(t *testing.T, header http.Header) int {
	t.Helper()
	c, resp, err := tryDial(a.wsURL("/ws/advisor"), header)
	if err == nil {
		c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial advisor socket: %v", err)
	}
	return resp.StatusCode
}

// TestLogoutClosesSockets: logging out ends the session on the server,
// closes the advisor's open socket with 1008, and the old cookie no longer
// opens one.
func TestLogoutClosesSockets(t *testing.T) {
	a := startApp(t, nil)
	pw := a.addAdvisor(t, "anna")
	hc := a.login(t, "anna", pw)
	old := a.cookieHeader(hc)
	adv := a.advisor(t, hc, nil)
	adv.expectType("status")

	req, _ := http.NewRequest("POST", a.URL+"/advisor/logout", nil)
	req.Header.Set("Origin", a.URL)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: status %d, want 303", resp.StatusCode)
	}
	if cs := resp.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout: cookies %v, want the session cookie deleted", cs)
	}
	if code := adv.expectClose(); code != websocket.StatusPolicyViolation {
		t.Errorf("advisor socket closed with %d at logout, want 1008", code)
	}
	if status := a.socketStatus(t, old); status != http.StatusUnauthorized {
		t.Errorf("socket with the logged-out cookie: status %d, want 401", status)
	}
	a.waitLog(t, `msg=audit action=logout advisor=anna`)
}

// TestSessionCookie: the session cookie is __Host- prefixed and Secure
// behind https, HttpOnly and SameSite=Strict always, and every login
// issues a new id and ends the one the browser had.
func TestSessionCookie(t *testing.T) {
	for _, tt := range []struct {
		origin, name string
		secure       bool
	}{
		{"", "advicechat_session", false},
		{"https://chat.example.org", "__Host-advicechat", true},
	} {
		a := startApp(t, map[string]string{"ADVICECHAT_PUBLIC_ORIGIN": tt.origin})
		pw := a.addAdvisor(t, "anna")
		r := a.postLogin(t, loginForm("anna", pw, a.totpCode(t, "anna")))
		if r.status != http.StatusSeeOther || len(r.cookies) != 1 {
			t.Fatalf("origin %q: login status %d, cookies %v, want 303 and one cookie", tt.origin, r.status, r.cookies)
		}
		c := r.cookies[0]
		if c.Name != tt.name || c.Secure != tt.secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode ||
			c.Path != "/" || c.Domain != "" || c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("origin %q: cookie %s, want %s, Secure %v, HttpOnly, SameSite=Strict, Path=/, no Domain, no expiry", tt.origin, c, tt.name, tt.secure)
		}

		// Log in again with the first session's cookie.
		r2 := a.postLogin(t, loginForm("anna", pw, a.totpCode(t, "anna")), c)
		if r2.status != http.StatusSeeOther || len(r2.cookies) != 1 || r2.cookies[0].Value == c.Value {
			t.Fatalf("origin %q: second login status %d, cookies %v, want 303 and a new id", tt.origin, r2.status, r2.cookies)
		}
		h := http.Header{"Origin": {tt.origin}}
		if tt.origin == "" {
			h = a.origin()
		}
		h.Set("Cookie", c.Name+"="+c.Value)
		if status := a.socketStatus(t, h); status != http.StatusUnauthorized {
			t.Errorf("origin %q: socket with the replaced session: status %d, want 401", tt.origin, status)
		}
		h.Set("Cookie", c.Name+"="+r2.cookies[0].Value)
		if status := a.socketStatus(t, h); status != http.StatusSwitchingProtocols {
			t.Errorf("origin %q: socket with the new session: status %d, want 101", tt.origin, status)
		}
	}
}

// TestSessionIdleTimeout: a session unused for ADVICECHAT_SESSION_IDLE is
// over.
func TestSessionIdleTimeout(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_SESSION_IDLE": "2s"})
	pw := a.addAdvisor(t, "anna")
	h := a.cookieHeader(a.login(t, "anna", pw))
	if status := a.socketStatus(t, h); status != http.StatusSwitchingProtocols {
		t.Fatalf("socket right after login: status %d, want 101", status)
	}
	time.Sleep(3 * time.Second)
	if status := a.socketStatus(t, h); status != http.StatusUnauthorized {
		t.Errorf("socket after 3 s idle (idle timeout 2 s): status %d, want 401", status)
	}
}

// TestSessionAbsoluteTimeout: a session is over ADVICECHAT_SESSION_MAX
// after login, however busy.
func TestSessionAbsoluteTimeout(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_SESSION_MAX": "2s"})
	pw := a.addAdvisor(t, "anna")
	start := time.Now()
	h := a.cookieHeader(a.login(t, "anna", pw))
	if status := a.socketStatus(t, h); status != http.StatusSwitchingProtocols {
		t.Fatalf("socket right after login: status %d, want 101", status)
	}
	// Busy all the time: the idle timeout (2 h) is not what ends it.
	for time.Since(start) < 3*time.Second {
		req, _ := http.NewRequest("GET", a.URL+"/advisor", nil)
		req.Header = h.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		time.Sleep(250 * time.Millisecond)
	}
	if status := a.socketStatus(t, h); status != http.StatusUnauthorized {
		t.Errorf("socket 3 s after login (absolute timeout 2 s): status %d, want 401", status)
	}
}

// auditLine matches one audit record of the text log.
var auditLine = regexp.MustCompile(`(?m)^.* msg=audit action=(\S+) advisor=(\S*)(.*)$`)

// TestAuditLog: advisor actions are logged as audit lines (login, duty,
// assignment, alias, end, failed login, logout) with the conversation id
// where there is one, and nothing about the visitor.
func TestAuditLog(t *testing.T) {
	a := startApp(t, nil)
	adv, hc := onDutyAdvisor(t, a, "anna", "-name", "Anna")
	v, conv, token := startConversation(t, a, "public")
	adv.expectType("assigned")
	const secretText = "my address is Kerkstraat 1"
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "v1", Text: secretText})
	adv.expect("visitor message", isText(conv, secretText))
	adv.send(protocol.Alias{Type: protocol.TypeAlias, Name: "Annie"})
	adv.expect("status with alias", func(f frame) bool { return f.str("type") == "status" && f.str("alias") == "Annie" })
	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: conv})
	adv.expect("ended", isEntry(conv, "ended"))
	const typo = "hunter2-typed-as-username"
	a.postLogin(t, loginForm(typo, "x", ""))
	req, _ := http.NewRequest("POST", a.URL+"/advisor/logout", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.waitLog(t, `msg=audit action=logout`)

	want := []string{
		`action=login advisor=anna second_factor=true`,
		`action=duty_on advisor=anna`,
		`action=assigned advisor=anna conversation=` + conv,
		`action=alias advisor=anna alias=Annie`,
		`action=ended advisor=anna conversation=` + conv,
		`action=login_failed advisor="" reason=credentials`,
		`action=duty_off advisor=anna requeued=0`,
		`action=logout advisor=anna`,
	}
	var got []string
	for _, m := range auditLine.FindAllStringSubmatch(a.logs.String(), -1) {
		// Assignments are logged by the routing worker, in no fixed order
		// with the socket's actions.
		line := strings.TrimSpace(m[0][strings.Index(m[0], "action="):])
		got = append(got, line)
		for what, s := range map[string]string{"message text": secretText, "token": token, "address": "127.0.0.1", "typed username": typo} {
			if strings.Contains(m[0], s) {
				t.Errorf("audit line %q contains the %s", m[0], what)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSessionLeaseEnds: a console socket's lease on its session
// (ADVICECHAT_SESSION_LEASE) ends: a session ended in Redis without a
// word (as a new login in the same browser ends the one before) refuses
// the socket's next message once the lease is over, with unauthorized
// and 1008, and at once with no lease.
func TestSessionLeaseEnds(t *testing.T) {
	for _, lease := range []string{"0s", "300ms"} {
		t.Run(lease, func(t *testing.T) {
			a := startApp(t, map[string]string{"ADVICECHAT_SESSION_LEASE": lease})
			adv, hc := onDutyAdvisor(t, a, "anna")
			_, conv, _ := activeConversation(t, a, adv)
			adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "a0", Text: "hallo"})
			adv.expect("ack a0", isAck("a0"))

			u, _ := url.Parse(a.URL)
			var id string
			for _, ck := range hc.Jar.Cookies(u) {
				id = ck.Value
			}
			sum := sha256.Sum256([]byte(id))
			if n := a.Redis.Client.Del(context.Background(), a.Redis.Prefix+"sess:"+hex.EncodeToString(sum[:])).Val(); n != 1 {
				t.Fatalf("deleted %d session keys, want 1", n)
			}

			// Messages until one is refused: with no lease the first, with
			// one those within it go through.
			var refused string
			for i := 1; refused == "" && i < 1000; i++ {
				cid := fmt.Sprint("a", i)
				adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: cid, Text: "nog"})
				f := adv.expect("an answer to "+cid, func(f frame) bool {
					return (f.str("type") == "ack" && f.str("id") == cid) || f.str("type") == "error"
				})
				if f.str("type") == "error" {
					if f.str("code") != "unauthorized" {
						t.Fatalf("%s refused with %q, want unauthorized", cid, f.str("code"))
					}
					refused = cid
				} else if lease == "0s" {
					t.Fatalf("%s stored after the session ended, with no lease", cid)
				}
			}
			if refused == "" {
				t.Fatal("the socket's messages were stored long after its session ended")
			}
			if code := adv.expectClose(); code != websocket.StatusPolicyViolation {
				t.Errorf("closed with %d, want 1008", code)
			}
		})
	}
}
