package main

import (
	"net/http"
	"testing"

	"github.com/coder/websocket"

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
		{"passwd", "a brand new passphrase for anna\n", []string{"advisor", "passwd", "-password-stdin", "anna"}},
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
