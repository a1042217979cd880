package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp/totp"
)

// loginTimeout bounds one login; the server hashes the password with
// argon2id, which takes a moment under load.
const loginTimeout = 30 * time.Second

// FormLogin logs in as the console's form does (POST /advisor/login with
// username, password and, if not empty, the TOTP code) and returns the
// session cookie.
func FormLogin(ctx context.Context, target string, a Advisor, code string) (*http.Cookie, error) {
	form := url.Values{"username": {a.Name}, "password": {a.Password}}
	if code != "" {
		form.Set("code", code)
	}
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/advisor/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", a.Name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login %s: status %d, want 303", a.Name, resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Value != "" && (ck.Name == "advicechat_session" || ck.Name == "__Host-advicechat") {
			return ck, nil
		}
	}
	return nil, fmt.Errorf("login %s: no session cookie in the answer", a.Name)
}

// TOTPFromAccounts fills in the TOTP secret of each advisor whose account
// in the accounts file has a "totp_secret". The file is read as plain JSON
// so that the tool does not depend on the accounts package's shape.
func TOTPFromAccounts(path string, as []Advisor) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-accounts: %w", err)
	}
	var f struct {
		Accounts []struct {
			Username   string `json:"username"`
			TOTPSecret string `json:"totp_secret"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("-accounts %s: %w", path, err)
	}
	for i := range as {
		for _, acct := range f.Accounts {
			if acct.Username == as[i].Name && acct.TOTPSecret != "" && as[i].TOTPSecret == "" {
				as[i].TOTPSecret = acct.TOTPSecret
			}
		}
	}
	return nil
}

// totpSteps hands out TOTP codes for the accounts of one run. The server
// accepts each 30-second step once per account (a replayed code fails), so
// every login takes a later step than the one before, waiting when that
// would be more than the one step ahead the server allows.
type totpSteps struct {
	mu   sync.Mutex
	last map[string]int64
}

// code returns a fresh code for a, "" if it has no secret.
func (t *totpSteps) code(ctx context.Context, a Advisor) (string, error) {
	if a.TOTPSecret == "" {
		return "", nil
	}
	t.mu.Lock()
	if t.last == nil {
		t.last = map[string]int64{}
	}
	step := max(time.Now().Unix()/30, t.last[a.Name]+1)
	t.last[a.Name] = step
	t.mu.Unlock()
	if wait := time.Until(time.Unix((step-1)*30, 0)); wait > 0 {
		if !sleepCtx(ctx, wait) {
			return "", ctx.Err()
		}
	}
	return totp.GenerateCode(a.TOTPSecret, time.Unix(step*30, 0))
}

// checkTOTPSecret tells whether secret can make codes.
func checkTOTPSecret(secret string) error {
	if _, err := totp.GenerateCode(secret, time.Now()); err != nil {
		return errors.New("TOTP secret is not base32")
	}
	return nil
}
