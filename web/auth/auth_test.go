package auth

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
	"github.com/advicechat/advicechat/web/accounts"
)

// newTestAuth serves the login of one account, anna, with the password
// it returns, on a test server.
func newTestAuth(t *testing.T) (*Auth, *httptest.Server, string) {
	t.Helper()
	r := redistest.New(t)
	demo, password := accounts.Demo()
	demo.Username = "anna"
	a := New(Deps{
		Config:   Config{KeyPrefix: r.Prefix, SessionIdle: time.Hour, SessionMax: time.Hour},
		Redis:    r.Client,
		Accounts: accounts.NewStore(t.TempDir()+"/accounts.json", demo),
		Log:      slog.New(slog.DiscardHandler),
		Render: func(c *echo.Context, status int, loginError bool) error {
			if loginError {
				return c.String(status, "that did not work")
			}
			return c.String(status, "login")
		},
		Audit:     func(string, string, ...any) {},
		Counted:   func(string) {},
		LoggedOut: func(context.Context, string) {},
	})
	e := echo.New()
	e.POST("/advisor/login", a.Login)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return a, srv, password
}

func postLogin(t *testing.T, srv *httptest.Server, username, password string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(srv.URL+"/advisor/login", url.Values{"username": {username}, "password": {password}})
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLoginConcurrentWrongPasswords: 60 wrong passwords for one account at
// once get at most the account limit's password checks; every one of them
// gets the same answer as any failure.
func TestLoginConcurrentWrongPasswords(t *testing.T) {
	a, srv, _ := newTestAuth(t)
	a.wait = func(context.Context, time.Duration) {} // the test is about counting
	var wg sync.WaitGroup
	answers := make(chan string, 60)
	for range 60 {
		wg.Go(func() {
			code, body := postLogin(t, srv, "anna", "wrong password")
			answers <- strings.Join([]string{http.StatusText(code), body}, " ")
		})
	}
	wg.Wait()
	close(answers)
	for ans := range answers {
		if ans != "Unauthorized that did not work" {
			t.Errorf("an attempt got %q, want the failure page", ans)
		}
	}
	if n := a.passwordChecks.Load(); n > maxAccountFailures {
		t.Errorf("%d of 60 concurrent attempts reached the password check, want at most %d", n, maxAccountFailures)
	}
}

// TestThrottledLoginTakesAsLong: a throttled attempt is answered after as
// long as a password check takes here, without making one.
func TestThrottledLoginTakesAsLong(t *testing.T) {
	a, srv, password := newTestAuth(t)
	var waited []time.Duration
	var mu sync.Mutex
	a.wait = func(_ context.Context, d time.Duration) {
		mu.Lock()
		waited = append(waited, d)
		mu.Unlock()
	}
	for range maxAccountFailures {
		postLogin(t, srv, "anna", "wrong")
	}
	checks := a.passwordChecks.Load()
	cost := a.guard.throttle.hashCost()
	code, body := postLogin(t, srv, "anna", password) // right, but throttled
	if code != http.StatusUnauthorized || body != "that did not work" {
		t.Errorf("throttled login = %d %q, want the failure page", code, body)
	}
	if a.passwordChecks.Load() != checks {
		t.Error("a throttled attempt checked the password")
	}
	if len(waited) != 1 || waited[0] != cost || cost <= 0 {
		t.Errorf("throttled attempt waited %v, want once the measured check time %v", waited, cost)
	}
}

// TestCredentialChangeEndsSessions: a session is good only while the
// account's password and TOTP secret are what they were at its login.
func TestCredentialChangeEndsSessions(t *testing.T) {
	r := redistest.New(t)
	ctx := context.Background()
	dir := t.TempDir()
	path := dir + "/accounts.json"
	f := &accounts.File{}
	hash, _ := accounts.HashPassword("a long enough password")
	acct := accounts.Account{Username: "anna", PasswordHash: hash, Role: accounts.RoleAdvisor, Languages: []string{"nl"}, Audiences: []string{"public"}, MaxConversations: 2}
	if err := f.Add(acct); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	store := accounts.NewStore(path)
	a := New(Deps{Config: Config{KeyPrefix: r.Prefix, SessionIdle: time.Hour, SessionMax: time.Hour}, Redis: r.Client, Accounts: store})
	cur, _ := store.Lookup("anna")
	id, err := a.sessions.Create(ctx, "anna", credentialVersion(cur))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := a.StillValid(ctx, "anna", id); !ok || err != nil {
		t.Fatalf("StillValid(fresh session) = %v, %v", ok, err)
	}
	if ok, _ := a.StillValid(ctx, "bob", id); ok {
		t.Error("a session is valid for another account")
	}
	for name, change := range map[string]func(*accounts.Account){
		"password": func(x *accounts.Account) { x.PasswordHash, _ = accounts.HashPassword("another long password") },
		"TOTP":     func(x *accounts.Account) { x.TOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" },
	} {
		changed := cur
		change(&changed)
		if credentialVersion(changed) == credentialVersion(cur) {
			t.Errorf("a new %s leaves the credential version as it was", name)
		}
	}
}

// TestSessionLease: a lease stands, without reading Redis, for its time
// and for its own advisor and session only; it falls at once when the
// account's credentials change or the account goes, and when the session
// passes its absolute lifetime; it is never longer than the idle timeout
// its reading extended; and a session ended in Redis gives no new lease.
func TestSessionLease(t *testing.T) {
	r := redistest.New(t)
	ctx := context.Background()
	path := t.TempDir() + "/accounts.json"
	hash, _ := accounts.HashPassword("a long enough password")
	acct := accounts.Account{Username: "anna", PasswordHash: hash, Role: accounts.RoleAdvisor, Languages: []string{"nl"}, Audiences: []string{"public"}, MaxConversations: 2}
	save := func(accts ...accounts.Account) {
		t.Helper()
		f := &accounts.File{}
		for _, x := range accts {
			if err := f.Add(x); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	save(acct)
	store := accounts.NewStore(path)
	a := New(Deps{Config: Config{KeyPrefix: r.Prefix, SessionIdle: time.Hour, SessionMax: time.Hour}, Redis: r.Client, Accounts: store})
	login := func() string {
		t.Helper()
		cur, _ := store.Lookup("anna")
		id, err := a.sessions.Create(ctx, "anna", credentialVersion(cur))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := login()
	l, err := a.Authorize(ctx, "anna", id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Holds(l, "anna", id) {
		t.Fatal("a fresh lease does not hold")
	}
	if a.Holds(l, "bob", id) || a.Holds(l, "anna", login()) || a.Holds(nil, "anna", id) {
		t.Error("a lease holds for another advisor, another session, or none")
	}
	if _, err := a.Authorize(ctx, "bob", login(), time.Minute); !errors.Is(err, ErrNoSession) {
		t.Errorf("a lease for another account's session: %v, want ErrNoSession", err)
	}

	// It reads nothing: a session deleted behind its back still holds
	// until the lease ends, but gives no new lease.
	if err := a.sessions.End(ctx, id); err != nil {
		t.Fatal(err)
	}
	if !a.Holds(l, "anna", id) {
		t.Error("the lease fell without a reason it can see")
	}
	if _, err := a.Authorize(ctx, "anna", id, time.Minute); !errors.Is(err, ErrNoSession) {
		t.Errorf("a new lease on an ended session: %v, want ErrNoSession", err)
	}
	over := *l
	over.until = time.Now().Add(-time.Millisecond)
	if a.Holds(&over, "anna", id) {
		t.Error("a lease holds past its time")
	}
	old := *l
	old.sess.Created = time.Now().Add(-2 * time.Hour)
	if a.Holds(&old, "anna", id) {
		t.Error("a lease holds for a session past its absolute lifetime")
	}

	// Credentials changed, or the account gone: at once.
	for what, change := range map[string]func(*accounts.Account){
		"the account's TOTP secret changed": func(x *accounts.Account) { x.TOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" },
		"the account was removed":           func(x *accounts.Account) { x.Username = "bob" },
	} {
		save(acct)
		touch(t, path)
		id = login()
		if l, err = a.Authorize(ctx, "anna", id, time.Minute); err != nil {
			t.Fatal(err)
		}
		changed := acct
		change(&changed)
		save(changed)
		touch(t, path)
		if a.Holds(l, "anna", id) {
			t.Errorf("a lease holds after %s", what)
		}
	}

	// Never past the idle timeout.
	short := New(Deps{Config: Config{KeyPrefix: r.Prefix, SessionIdle: time.Second, SessionMax: time.Hour}, Redis: r.Client, Accounts: store})
	save(acct)
	touch(t, path)
	id = login()
	l, err = short.Authorize(ctx, "anna", id, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(l.until); left > time.Second {
		t.Errorf("a lease of %v with an idle timeout of 1s", left)
	}
}

// touch gives path a modification time of its own, so the accounts store
// sees a rewrite within the same clock tick as a change.
func touch(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	next := fi.ModTime().Add(time.Duration(touches.Add(1)) * time.Second)
	if err := os.Chtimes(path, next, next); err != nil {
		t.Fatal(err)
	}
}

var touches atomic.Int64
