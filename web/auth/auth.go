// Package auth is the advisors' way in: the login form with its second
// factor, the throttle against guessing, the sessions behind the cookie,
// and the keys that stand for a client's address in limits, so the
// address itself is never kept.
package auth

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/web/accounts"
)

// Config is what auth needs from the configuration.
type Config struct {
	// KeyPrefix starts the Redis keys of sessions, throttles and TOTP steps.
	KeyPrefix string
	// SessionIdle and SessionMax bound a session.
	SessionIdle, SessionMax time.Duration
	// RequireTOTP refuses the login of an account without a TOTP secret.
	RequireTOTP bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client.
	TrustedProxies []netip.Prefix
	// Secure: the service is reached over https, so the cookie is a
	// __Host- cookie and Secure.
	Secure bool
}

// Deps are what the login is built on. Render shows the login page
// (loginError: with "that did not work") or, logged in, the console, in
// the request's language.
type Deps struct {
	Config   Config
	Redis    redis.UniversalClient
	Accounts *accounts.Store
	Log      *slog.Logger
	Render   func(c *echo.Context, status int, loginError bool) error
	// Audit writes one audit line (web's audit log).
	Audit func(action, advisor string, attrs ...any)
	// Counted counts a login attempt by result: success, failure,
	// throttled.
	Counted func(result string)
	// LoggedOut runs after a logout ended the session: off duty, and
	// the advisor's sockets closed on every instance.
	LoggedOut func(ctx context.Context, username string)
}

// Auth serves the login and logout and tells who a request is.
type Auth struct {
	d        Deps
	sessions *Sessions
	guard    *loginGuard
}

// New builds the login.
func New(d Deps) *Auth {
	return &Auth{
		d:        d,
		sessions: NewSessions(d.Redis, d.Config.KeyPrefix+"sess:", d.Config.SessionIdle, d.Config.SessionMax),
		guard:    newLoginGuard(d.Redis, d.Config.KeyPrefix),
	}
}

// Sessions are the advisors' sessions.
func (a *Auth) Sessions() *Sessions { return a.sessions }

func (a *Auth) cookieName() string {
	if a.d.Config.Secure {
		// __Host-: only over https, only for this host, path /.
		return "__Host-advicechat"
	}
	return "advicechat_session"
}

func (a *Auth) setSessionCookie(c *echo.Context, value string, maxAge int) {
	c.SetCookie(&http.Cookie{
		Name:     a.cookieName(),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   a.d.Config.Secure,
		SameSite: http.SameSiteStrictMode,
	})
}

// Session returns the logged-in account of a request and its session id,
// or ErrNoSession.
func (a *Auth) Session(c *echo.Context) (accounts.Account, string, error) {
	ck, err := c.Cookie(a.cookieName())
	if err != nil {
		return accounts.Account{}, "", ErrNoSession
	}
	name, err := a.sessions.Get(c.Request().Context(), ck.Value)
	if err != nil {
		return accounts.Account{}, "", err
	}
	acct, ok := a.d.Accounts.Lookup(name)
	if !ok {
		// The account was removed from the file: the session is void.
		_ = a.sessions.End(c.Request().Context(), ck.Value)
		return accounts.Account{}, "", ErrNoSession
	}
	return acct, ck.Value, nil
}

// StillValid reports whether an advisor's session is still good and their
// account still exists, without extending the session.
func (a *Auth) StillValid(ctx context.Context, name, session string) (bool, error) {
	ok, err := a.sessions.Valid(ctx, session)
	if err != nil || !ok {
		return false, err
	}
	_, ok = a.d.Accounts.Lookup(name)
	return ok, nil
}

// Authorized is StillValid for an advisor acting: it extends the session's
// idle time. It returns ErrNoSession when the session or account is gone.
func (a *Auth) Authorized(ctx context.Context, name, session string) error {
	if _, err := a.sessions.Get(ctx, session); err != nil {
		return err
	}
	if _, ok := a.d.Accounts.Lookup(name); !ok {
		return ErrNoSession
	}
	return nil
}
