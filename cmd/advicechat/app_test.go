package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pquerna/otp/totp"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/protocol"
)

// app is one instance of the whole service, started by run on port 0.
type app struct {
	URL      string // http://127.0.0.1:port
	Accounts string
	Redis    *redistest.Redis
	env      map[string]string
	logs     *syncBuffer
	cancel   context.CancelFunc
	done     chan int

	totpMu   sync.Mutex
	totp     map[string]string // username → TOTP secret, from addAdvisor
	lastStep map[string]int64  // username → TOTP step the last login used
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startApp runs the service against the test's Redis with extra
// environment, and stops it when the test ends.
func startApp(tb testing.TB, extra map[string]string) *app {
	tb.Helper()
	r := redistest.New(tb)
	dir := tb.TempDir()
	env := map[string]string{
		"ADVICECHAT_ADDR":          "127.0.0.1:0",
		"ADVICECHAT_REDIS_URL":     r.URL,
		"ADVICECHAT_KEY_PREFIX":    r.Prefix,
		"ADVICECHAT_ACCOUNTS":      filepath.Join(dir, "accounts.json"),
		"ADVICECHAT_LOG_LEVEL":     "debug",
		"ADVICECHAT_EXIT_URL":      "https://exit.example/",
		"ADVICECHAT_ADVISOR_GRACE": "30s",
		// Tests start many conversations from one address; the limit has
		// its own test.
		"ADVICECHAT_STARTS_PER_CLIENT": "1000",
	}
	for k, v := range extra {
		env[k] = v
	}
	return startWithEnv(tb, r, env)
}

func startWithEnv(tb testing.TB, r *redistest.Redis, env map[string]string) *app {
	tb.Helper()
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a := &app{Accounts: env["ADVICECHAT_ACCOUNTS"], Redis: r, env: env, logs: logs, cancel: cancel, done: make(chan int, 1)}
	go func() {
		code := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), pw, pw)
		pw.Close()
		a.done <- code
	}()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			if rest, ok := strings.CutPrefix(line, "advicechat listening on "); ok {
				found <- strings.TrimSuffix(rest, "/")
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case a.URL = <-found:
	case code := <-a.done:
		tb.Fatalf("run exited with %d before listening:\n%s", code, logs.String())
	case <-time.After(20 * time.Second):
		tb.Fatalf("app did not start:\n%s", logs.String())
	}
	tb.Cleanup(func() { a.stop(tb) })
	return a
}

// stop shuts the app down and checks that it exits cleanly.
func (a *app) stop(tb testing.TB) {
	tb.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	select {
	case code := <-a.done:
		if code != 0 {
			tb.Errorf("run exited with %d:\n%s", code, a.logs.String())
		}
	case <-time.After(30 * time.Second):
		tb.Errorf("app did not stop")
	}
}

// addAdvisor creates an account with the advisor command, with a TOTP
// second factor (required outside the embedded mode), and returns its
// password; login sends the codes.
func (a *app) addAdvisor(tb testing.TB, username string, flags ...string) string {
	tb.Helper()
	const password = "correct horse battery staple"
	args := append([]string{"advisor", "add", "-password-stdin", "-totp"}, flags...)
	args = append(args, username)
	var out, errOut strings.Builder
	code := run(context.Background(), args, func(k string) string { return a.env[k] }, strings.NewReader(password+"\n"), &out, &errOut)
	if code != 0 {
		tb.Fatalf("advisor add %s = %d: %s", username, code, errOut.String())
	}
	m := shownTOTPSecret.FindStringSubmatch(out.String())
	if m == nil {
		tb.Fatalf("advisor add -totp %s: no secret in %q", username, out.String())
	}
	a.totpMu.Lock()
	defer a.totpMu.Unlock()
	if a.totp == nil {
		a.totp, a.lastStep = map[string]string{}, map[string]int64{}
	}
	a.totp[username] = m[1]
	return password
}

var shownTOTPSecret = regexp.MustCompile(`TOTP secret for \S+: ([A-Z2-7]+)\n`)

// totpCode returns a code no login of the account used yet ("" for an
// account addAdvisor did not make). The server accepts each time step once,
// so every call takes a later step than the one before, waiting for the
// clock when that would be more than the one step ahead the server allows.
func (a *app) totpCode(tb testing.TB, username string) string {
	tb.Helper()
	a.totpMu.Lock()
	defer a.totpMu.Unlock()
	secret := a.totp[username]
	if secret == "" {
		return ""
	}
	step := max(accounts.TOTPStep(time.Now()), a.lastStep[username]+1)
	for step > accounts.TOTPStep(time.Now())+1 {
		time.Sleep(time.Until(time.Unix((step-1)*30, 0)))
	}
	a.lastStep[username] = step
	code, err := totp.GenerateCode(secret, time.Unix(step*30, 0))
	if err != nil {
		tb.Fatalf("TOTP code for %s: %v", username, err)
	}
	return code
}

// login logs an advisor in over HTTP and returns a client holding the
// session cookie.
func (a *app) login(tb testing.TB, username, password string) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(a.URL+"/advisor/login", url.Values{"username": {username}, "password": {password}, "code": {a.totpCode(tb, username)}})
	if err != nil {
		tb.Fatalf("login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("login %s: status %d, want 303", username, resp.StatusCode)
	}
	return c
}

// client is a real WebSocket client that collects every frame it gets.
type client struct {
	tb     testing.TB
	conn   *websocket.Conn
	frames chan frame
	closed chan struct{}
	err    error   // why reading stopped; valid after closed
	kept   []frame // skipped by expectKeeping, for the next expect
}

// frame is a decoded server frame.
type frame map[string]any

func (f frame) str(k string) string { s, _ := f[k].(string); return s }
func (f frame) num(k string) int64  { n, _ := f[k].(float64); return int64(n) }
func (f frame) obj(k string) frame  { m, _ := f[k].(map[string]any); return m }

func dial(tb testing.TB, rawURL string, header http.Header) *client {
	tb.Helper()
	c, resp, err := tryDial(rawURL, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("dial %s: %v (status %d)", rawURL, err, status)
	}
	cl := &client{tb: tb, conn: c, frames: make(chan frame, 1024), closed: make(chan struct{})}
	go cl.readLoop()
	tb.Cleanup(func() { cl.conn.CloseNow() })
	return cl
}

func tryDial(rawURL string, header http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, rawURL, &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		c.SetReadLimit(1 << 20)
	}
	return c, resp, err
}

func (c *client) readLoop() {
	defer close(c.closed)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err = err
			return
		}
		c.frames <- f
	}
}

// visitorHeader is what a browser on the app's page sends.
func (a *app) origin() http.Header { return http.Header{"Origin": {a.URL}} }

func (a *app) wsURL(path string) string { return "ws" + strings.TrimPrefix(a.URL, "http") + path }

// visitor opens a visitor socket.
func (a *app) visitor(tb testing.TB) *client {
	tb.Helper()
	return dial(tb, a.wsURL("/ws/visitor"), a.origin())
}

// advisor opens an advisor socket with a logged-in client's cookie and
// says hello.
func (a *app) advisor(tb testing.TB, hc *http.Client, after map[string]int64) *client {
	tb.Helper()
	return a.advisorAt(tb, "/ws/advisor", hc, after)
}

// advisorAt is advisor on path (with a query, say).
func (a *app) advisorAt(tb testing.TB, path string, hc *http.Client, after map[string]int64) *client {
	tb.Helper()
	c := dial(tb, a.wsURL(path), a.cookieHeader(hc))
	if after == nil {
		after = map[string]int64{}
	}
	c.send(protocol.Hello{Type: protocol.TypeHello, After: after})
	return c
}

func (c *client) send(v any) {
	c.tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// waitTimeout bounds every wait for a frame; it is a limit for a broken
// server, not a pause.
const waitTimeout = 15 * time.Second

// expect returns the first frame for which match is true, skipping the
// others; it fails the test if none comes in time. Frames kept by
// expectKeeping come first.
func (c *client) expect(what string, match func(frame) bool) frame {
	c.tb.Helper()
	for i, f := range c.kept {
		if match(f) {
			c.kept = append(c.kept[:i:i], c.kept[i+1:]...)
			return f
		}
	}
	c.kept = nil
	deadline := time.After(waitTimeout)
	for {
		select {
		case f := <-c.frames:
			if match(f) {
				return f
			}
		case <-c.closed:
			// The reader has stopped: what it read before is buffered.
			for {
				select {
				case f := <-c.frames:
					if match(f) {
						return f
					}
				default:
					c.tb.Fatalf("socket closed (%v) while waiting for %s", c.err, what)
				}
			}
		case <-deadline:
			c.tb.Fatalf("no %s within %s", what, waitTimeout)
		}
	}
}

// expectKeeping is expect that keeps the frames it skips for the next
// expect: for a step whose frames may interleave with what the test looks
// for next (going on duty while a conversation already waits).
func (c *client) expectKeeping(what string, match func(frame) bool) frame {
	c.tb.Helper()
	var skipped []frame
	f := c.expect(what, func(f frame) bool {
		if match(f) {
			return true
		}
		skipped = append(skipped, f)
		return false
	})
	c.kept = append(skipped, c.kept...)
	return f
}

// expectType waits for a frame of a type.
func (c *client) expectType(typ string) frame {
	c.tb.Helper()
	return c.expect(typ+" frame", func(f frame) bool { return f.str("type") == typ })
}

// expectClose waits for the server to close the socket and returns the
// close code.
func (c *client) expectClose() websocket.StatusCode {
	c.tb.Helper()
	select {
	case <-c.closed:
		return websocket.CloseStatus(c.err)
	case <-time.After(waitTimeout):
		c.tb.Fatalf("socket not closed within %s", waitTimeout)
		return 0
	}
}

// expectAll waits until every matcher has matched some frame, in any order.
func (c *client) expectAll(what string, matchers ...func(frame) bool) {
	c.tb.Helper()
	left := append([]func(frame) bool(nil), matchers...)
	c.expect(what, func(f frame) bool {
		for i, m := range left {
			if m(f) {
				left = append(left[:i], left[i+1:]...)
				break
			}
		}
		return len(left) == 0
	})
}

func mustParse(tb testing.TB, raw string) *url.URL {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// readMetrics returns what /metrics shows now.
func readMetrics(t *testing.T, a *app) string {
	t.Helper()
	resp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
