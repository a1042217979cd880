package web

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

func (s *Server) cookieName() string {
	if s.secure {
		// __Host-: only over https, only for this host, path /.
		return "__Host-advicechat"
	}
	return "advicechat_session"
}

func (s *Server) setSessionCookie(c *echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name:     s.cookieName(),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteStrictMode,
	})
}

// session returns the logged-in account of a request, or errNoSession.
func (s *Server) session(c *echo.Context) (accounts.Account, string, error) {
	ck, err := c.Cookie(s.cookieName())
	if err != nil {
		return accounts.Account{}, "", errNoSession
	}
	name, err := s.sessions.get(c.Request().Context(), ck.Value)
	if err != nil {
		return accounts.Account{}, "", err
	}
	acct, ok := s.accounts.Lookup(name)
	if !ok {
		// The account was removed from the file: the session is void.
		_ = s.sessions.end(c.Request().Context(), ck.Value)
		return accounts.Account{}, "", errNoSession
	}
	return acct, ck.Value, nil
}

func (s *Server) advisorPage(c *echo.Context) error {
	lang := s.pages.language(c.Request())
	_, _, err := s.session(c)
	switch {
	case errors.Is(err, errNoSession):
		return s.pages.render(c, http.StatusOK, "login.html", lang, false)
	case err != nil:
		return err
	}
	return s.pages.render(c, http.StatusOK, "advisor.html", lang, false)
}

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

func newLoginGuard(rdb redis.UniversalClient, prefix string) *loginGuard {
	return &loginGuard{rdb: rdb, prefix: prefix, throttle: newLoginThrottle(rdb, prefix)}
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

// Reasons a login failed, for the audit log only: the client always gets
// the same page.
const (
	failCredentials    = "credentials" // unknown user or wrong password
	failCode           = "code"        // missing or wrong TOTP code
	failReplay         = "replay"      // a TOTP code used before
	failNoSecondFactor = "no_second_factor"
	failThrottled      = "throttled"
)

func (s *Server) login(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad form")
	}
	ctx := r.Context()
	form := parseLoginForm(r.PostForm)
	addr := clientAddr(r, s.cfg.TrustedProxies)
	lang := s.pages.language(r)

	fail := func(reason string, attrs ...any) error {
		result := "throttled"
		// Throttled attempts do not count, so a window ends on time.
		if reason != failThrottled {
			result = "failure"
			if err := s.guard.throttle.failed(ctx, form.username, addr); err != nil {
				return err
			}
		}
		s.metrics.logins.WithLabelValues(result).Inc()
		// Only a name that is an account is logged: anything else may be
		// a password typed into the wrong field.
		name := ""
		if _, ok := s.accounts.Lookup(form.username); ok {
			name = form.username
		}
		s.audit(auditLoginFailed, name, append([]any{"reason", reason}, attrs...)...)
		return s.pages.render(c, http.StatusUnauthorized, "login.html", lang, true)
	}

	// At a limit, refuse before the costly password check, with the same
	// page as any failure: an attacker learns nothing, not even that the
	// account is locked.
	limit, err := s.guard.throttle.throttled(ctx, form.username, addr)
	if err != nil {
		return err
	}
	if limit != "" {
		return fail(failThrottled, "limit", limit)
	}

	acct, err := s.accounts.Authenticate(ctx, form.username, form.password)
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
	case acct.TOTPSecret == "" && s.cfg.RequireTOTP:
		s.log.Warn("login refused: account has no second factor; enrol with advicechat advisor totp "+acct.Username, "advisor", acct.Username)
		return fail(failNoSecondFactor)
	case acct.TOTPSecret != "" && !codeOK:
		return fail(failCode)
	case acct.TOTPSecret != "":
		// Only someone holding the secret gets here, so this Redis round
		// trip tells nothing to anyone guessing passwords.
		fresh, err := s.guard.useStep(ctx, acct.Username, step)
		if err != nil {
			return err
		}
		if !fresh {
			return fail(failReplay)
		}
	}
	if err := s.guard.throttle.succeeded(ctx, acct.Username); err != nil {
		return err
	}

	// A fresh id at every login: a session id planted before login is
	// worthless.
	if old, err := c.Cookie(s.cookieName()); err == nil {
		_ = s.sessions.end(ctx, old.Value)
	}
	id, err := s.sessions.create(ctx, acct.Username)
	if err != nil {
		return err
	}
	s.metrics.logins.WithLabelValues("success").Inc()
	s.audit(auditLogin, acct.Username, "second_factor", acct.TOTPSecret != "")
	s.setSessionCookie(c, id, 0)
	return c.Redirect(http.StatusSeeOther, "/advisor")
}

func (s *Server) logout(c *echo.Context) error {
	acct, id, err := s.session(c)
	if err == nil {
		ctx := c.Request().Context()
		if err := s.sessions.end(ctx, id); err != nil {
			return err
		}
		if err := s.offDuty(ctx, acct.Username); err != nil {
			s.log.Error("off duty at logout", "advisor", acct.Username, "err", err)
		}
		// Close the advisor's sockets on every instance.
		s.rdb.Publish(ctx, s.queue.AdvisorChannel(acct.Username), `{"type":"`+typeLogout+`"}`)
		s.audit(auditLogout, acct.Username)
	}
	s.setSessionCookie(c, "", -1)
	return c.Redirect(http.StatusSeeOther, "/advisor")
}
