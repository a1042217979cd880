// Package auth is the advisors' way in: the login form with its second
// factor, the throttle against guessing, the sessions behind the cookie,
// and the keys that stand for a client's address in limits, so the
// address itself is never kept.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
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
	// Secret keys the names of the login throttle's account counters; all
	// instances must share it (ADVICECHAT_BLOCK_SECRET). Empty: random,
	// per process, so an account's failures count per instance.
	Secret []byte
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
	// wait lets a throttled attempt take as long as a password check.
	wait func(ctx context.Context, d time.Duration)
	// passwordChecks counts the password checks made (tests).
	passwordChecks atomic.Int64
}

// New builds the login.
func New(d Deps) *Auth {
	return &Auth{
		d:        d,
		sessions: NewSessions(d.Redis, d.Config.KeyPrefix+"sess:", d.Config.SessionIdle, d.Config.SessionMax),
		guard:    newLoginGuard(d.Redis, d.Config.KeyPrefix, d.Config.Secret),
		wait:     defaultWait,
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
	acct, err := a.check(c.Request().Context(), ck.Value, "", true)
	return acct, ck.Value, err
}

// StillValid reports whether an advisor's session is still good: not
// ended or timed out, their account still in the file, and its password
// and TOTP secret what they were at login. It does not extend the
// session.
func (a *Auth) StillValid(ctx context.Context, name, session string) (bool, error) {
	_, err := a.check(ctx, session, name, false)
	if errors.Is(err, ErrNoSession) {
		return false, nil
	}
	return err == nil, err
}

// A Lease is a session found good by Authorize, taken as good by the
// socket that asked for a short while after, without reading it again:
// an advisor's every message and action checks their session, and a
// busy console sends several a second. What can end a session is caught
// all the same: a logout is announced to the advisor's sockets, which
// drop their lease and close; a removed account or changed credentials
// are seen in this instance's accounts file at every use of the lease;
// the absolute lifetime is checked against the session's start; and the
// idle timeout, minutes long, is extended at each reading. What a lease
// misses is a session ended without a word for at most its length: the
// one a login in the same browser replaces.
type Lease struct {
	session string
	sess    Session
	until   time.Time
}

// Authorize is StillValid for an advisor acting: it extends the session's
// idle time, returns ErrNoSession when the session is no longer good, and
// otherwise a lease on it for d.
func (a *Auth) Authorize(ctx context.Context, name, session string, d time.Duration) (*Lease, error) {
	_, sess, err := a.checkSession(ctx, session, name, true)
	if err != nil {
		return nil, err
	}
	// Never past the idle timeout that this reading extended: the session
	// is in Redis at least that long.
	d = min(d, a.sessions.idle)
	return &Lease{session: session, sess: sess, until: time.Now().Add(d)}, nil
}

// Holds reports whether l still stands for name's session: within its
// time, the account still in the file with the credentials of the login,
// and the session within its absolute lifetime. It reads nothing from
// Redis.
func (a *Auth) Holds(l *Lease, name, session string) bool {
	if l == nil || l.sess.User != name || l.session != session || !time.Now().Before(l.until) || a.sessions.tooOld(l.sess) {
		return false
	}
	acct, ok := a.d.Accounts.Lookup(name)
	return ok && l.sess.Cred == credentialVersion(acct)
}

// check returns the account of a session that is still good; name, if
// given, must be its account. A session of a removed account, or one whose
// credentials have changed since its login (a new password, a new TOTP
// secret), is ended: it is ErrNoSession from then on, on every instance.
func (a *Auth) check(ctx context.Context, id, name string, use bool) (accounts.Account, error) {
	acct, _, err := a.checkSession(ctx, id, name, use)
	return acct, err
}

// checkSession is check, with the session read.
func (a *Auth) checkSession(ctx context.Context, id, name string, use bool) (accounts.Account, Session, error) {
	var sess Session
	var err error
	if use {
		sess, err = a.sessions.Get(ctx, id)
	} else {
		sess, err = a.sessions.Peek(ctx, id)
	}
	if err != nil {
		return accounts.Account{}, Session{}, err
	}
	acct, ok := a.d.Accounts.Lookup(sess.User)
	if !ok || (name != "" && sess.User != name) || sess.Cred != credentialVersion(acct) {
		_ = a.sessions.End(ctx, id)
		return accounts.Account{}, Session{}, ErrNoSession
	}
	return acct, sess, nil
}

// credentialVersion stands for an account's credentials in its sessions:
// a hash of the password hash and the TOTP secret, so a change of either
// (advicechat advisor passwd, advicechat advisor totp) ends every session
// that logged in with the old ones. It reveals neither: the password hash
// is salted and the secret is 160 random bits.
func credentialVersion(acct accounts.Account) string {
	h := sha256.Sum256([]byte("advicechat credentials\x00" + acct.PasswordHash + "\x00" + acct.TOTPSecret))
	return hex.EncodeToString(h[:12])
}

// wait lets d pass, or less if ctx ends first. It costs no CPU: a
// throttled login takes as long as a checked one without checking.
func defaultWait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
