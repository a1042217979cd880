package auth

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/web/accounts"
)

// maxLoginForm bounds the login form body; a password longer than this is
// not a password.
const maxLoginForm = 4 << 10

// totpReplayTTL is how long an account's last accepted TOTP step is kept:
// longer than the steps a code can be valid in (the skew either side).
const totpReplayTTL = 5 * time.Minute

//go:embed totp.lua
var totpLua string

var totpScript = redis.NewScript(totpLua)

// loginForm is a decoded login form.
type loginForm struct {
	username string // normalized, see accounts.NormalizeUsername
	password string
	code     string // the TOTP code without spaces
}

// parseLoginForm reads the login form's fields. Anything goes: what does
// not match an account, a password or a code simply fails to log in.
func parseLoginForm(v url.Values) loginForm {
	return loginForm{
		username: accounts.NormalizeUsername(v.Get("username")),
		password: v.Get("password"),
		// Authenticator apps show "123 456".
		code: strings.ReplaceAll(v.Get("code"), " ", ""),
	}
}

// loginGuard is what a login is checked against besides the password:
// the failure counters and the record of used TOTP steps.
type loginGuard struct {
	rdb      redis.UniversalClient
	prefix   string
	throttle *loginThrottle
}

func newLoginGuard(rdb redis.UniversalClient, prefix string, secret []byte) *loginGuard {
	return &loginGuard{rdb: rdb, prefix: prefix, throttle: newLoginThrottle(rdb, prefix, secret)}
}

// useStep records a TOTP step as used by username, atomically across
// instances, and reports false if it or a later one was used already.
func (g *loginGuard) useStep(ctx context.Context, username string, step int64) (bool, error) {
	ok, err := totpScript.Run(ctx, g.rdb, []string{g.prefix + "totp:" + username}, step, totpReplayTTL.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("record TOTP step: %w", err)
	}
	return ok == 1, nil
}

// Audit actions of the login.
const (
	auditLogin       = "login"
	auditLoginFailed = "login_failed"
	auditLogout      = "logout"
)

// Reasons a login failed, for the audit log only: the client always gets
// the same page.
const (
	failCredentials    = "credentials" // unknown user or wrong password
	failCode           = "code"        // missing or wrong TOTP code
	failReplay         = "replay"      // a TOTP code used before
	failNoSecondFactor = "no_second_factor"
	failThrottled      = "throttled"
)

// Login takes the login form: POST /advisor/login. Every failure gets the
// same page.
func (a *Auth) Login(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad form")
	}
	ctx := r.Context()
	form := parseLoginForm(r.PostForm)
	addr := ClientAddr(r, a.d.Config.TrustedProxies)

	fail := func(reason string, attrs ...any) error {
		result := "failure"
		if reason == failThrottled {
			result = "throttled"
		}
		a.d.Counted(result)
		// Only a name that is an account is logged: anything else may be
		// a password typed into the wrong field.
		name := ""
		if _, ok := a.d.Accounts.Lookup(form.username); ok {
			name = form.username
		}
		a.d.Audit(auditLoginFailed, name, append([]any{"reason", reason}, attrs...)...)
		return a.d.Render(c, http.StatusUnauthorized, true)
	}

	// The attempt is counted before the costly password check, in the same
	// atomic step that checks the limits: 60 attempts at once cannot all
	// get past a limit of 5. At a limit, the password is not checked; the
	// answer is the same page as any failure, after as long as a check
	// takes, so the attacker cannot tell (docs/security.md).
	limit, err := a.guard.throttle.reserve(ctx, form.username, addr)
	if err != nil {
		return err
	}
	if limit != "" {
		a.wait(ctx, a.guard.throttle.hashCost())
		return fail(failThrottled, "limit", limit)
	}

	began := time.Now()
	acct, err := a.d.Accounts.Authenticate(ctx, form.username, form.password)
	a.guard.throttle.checked(time.Since(began))
	a.passwordChecks.Add(1)
	passwordOK := err == nil
	if err != nil && !errors.Is(err, accounts.ErrInvalidCredentials) {
		return err
	}
	// The code is checked whatever the password was (against a dummy
	// secret if there is none), so a wrong code costs as long as a wrong
	// password and timing does not tell a right password.
	secret := ""
	if passwordOK {
		secret = acct.TOTPSecret
	}
	step, codeOK := accounts.VerifyTOTP(secret, form.code, time.Now())
	switch {
	case !passwordOK:
		return fail(failCredentials)
	case acct.TOTPSecret == "" && a.d.Config.RequireTOTP:
		a.d.Log.Warn("login refused: account has no second factor; enrol with advicechat advisor totp "+acct.Username, "advisor", acct.Username)
		return fail(failNoSecondFactor)
	case acct.TOTPSecret != "" && !codeOK:
		return fail(failCode)
	case acct.TOTPSecret != "":
		// Only someone holding the secret gets here, so this Redis round
		// trip tells nothing to anyone guessing passwords.
		fresh, err := a.guard.useStep(ctx, acct.Username, step)
		if err != nil {
			return err
		}
		if !fresh {
			return fail(failReplay)
		}
	}
	if err := a.guard.throttle.succeeded(ctx, form.username, addr); err != nil {
		return err
	}

	// A fresh id at every login: a session id planted before login is
	// worthless.
	if old, err := c.Cookie(a.cookieName()); err == nil {
		_ = a.sessions.End(ctx, old.Value)
	}
	id, err := a.sessions.Create(ctx, acct.Username, credentialVersion(acct))
	if err != nil {
		return err
	}
	a.d.Counted("success")
	a.d.Audit(auditLogin, acct.Username, "second_factor", acct.TOTPSecret != "")
	a.setSessionCookie(c, id, 0)
	return c.Redirect(http.StatusSeeOther, "/advisor")
}

// Logout ends the session: POST /advisor/logout.
func (a *Auth) Logout(c *echo.Context) error {
	acct, id, err := a.Session(c)
	if err == nil {
		ctx := c.Request().Context()
		if err := a.sessions.End(ctx, id); err != nil {
			return err
		}
		a.d.LoggedOut(ctx, acct.Username)
		a.d.Audit(auditLogout, acct.Username)
	}
	a.setSessionCookie(c, "", -1)
	return c.Redirect(http.StatusSeeOther, "/advisor")
}
