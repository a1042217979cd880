package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
	"github.com/advicechat/advicechat/web/protocol"
)

// TestCredentialChangeEndsSessions: a new password or TOTP secret, set
// with the advisor subcommand while the advisor is logged in with a socket
// open, ends the session: the socket's next action is refused and it is
// closed with 1008, and the cookie opens nothing any more. Removing the
// account does the same.
func TestCredentialChangeEndsSessions(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"passwd", "a brand new passphrase for her\n", []string{"advisor", "passwd", "-password-stdin", "anna"}},
		{"totp", "", []string{"advisor", "totp", "anna"}},
		{"remove", "", []string{"advisor", "remove", "anna"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := startApp(t, nil)
			pw := a.addAdvisor(t, "anna")
			a.addAdvisor(t, "bob") // the file keeps an account
			hc := a.login(t, "anna", pw)
			cookie := a.cookieHeader(hc)
			adv := a.advisor(t, hc, nil)
			adv.expectType(protocol.TypeStatus)

			a.runCLI(t, tt.stdin, tt.args...)

			on := true
			adv.send(protocol.Duty{Type: protocol.TypeDuty, On: &on})
			f := adv.expectType(protocol.TypeError)
			if f.str("code") != string(protocol.CodeUnauthorized) {
				t.Errorf("duty after %s = %v, want unauthorized", tt.name, f)
			}
			if code := adv.expectClose(); code != websocket.StatusPolicyViolation {
				t.Errorf("socket closed with %d after %s, want 1008", code, tt.name)
			}
			if status := a.socketStatus(t, cookie); status != http.StatusUnauthorized {
				t.Errorf("socket with the old cookie after %s: status %d, want 401", tt.name, status)
			}
		})
	}
}

// TestStartRefusesUnsafeAccountsFile: the service does not start on an
// accounts file that group or others may write, and says which and why.
func TestStartRefusesUnsafeAccountsFile(t *testing.T) {
	r := redistest.New(t)
	path := filepath.Join(t.TempDir(), "accounts.json")
	env := map[string]string{"ADVICECHAT_ADDR": "127.0.0.1:0", "ADVICECHAT_REDIS_URL": r.URL, "ADVICECHAT_KEY_PREFIX": r.Prefix, "ADVICECHAT_ACCOUNTS": path}
	getenv := func(k string) string { return env[k] }
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"advisor", "add", "-password-stdin", "anna"}, getenv, strings.NewReader("a long enough passphrase\n"), &out, &errOut); code != 0 {
		t.Fatalf("advisor add = %d: %s", code, errOut.String())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("advisor add wrote mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := os.Chmod(path, 0o664); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	code := run(context.Background(), []string{"serve"}, getenv, strings.NewReader(""), &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), path) || !strings.Contains(errOut.String(), "0664") || !strings.Contains(errOut.String(), "chmod 600") {
		t.Errorf("serve on a group-writable accounts file = %d, %q; want a refusal naming the file, its mode and the fix", code, errOut.String())
	}
}
