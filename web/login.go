package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v5"

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

func (s *Server) login(c *echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad form")
	}
	lang := s.pages.language(r)
	acct, err := s.accounts.Authenticate(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"))
	if errors.Is(err, accounts.ErrInvalidCredentials) {
		s.metrics.logins.WithLabelValues("failure").Inc()
		return s.pages.render(c, http.StatusUnauthorized, "login.html", lang, true)
	}
	if err != nil {
		return err
	}
	// A fresh id at every login: a session id planted before login is
	// worthless.
	if old, err := c.Cookie(s.cookieName()); err == nil {
		_ = s.sessions.end(r.Context(), old.Value)
	}
	id, err := s.sessions.create(r.Context(), acct.Username)
	if err != nil {
		return err
	}
	s.metrics.logins.WithLabelValues("success").Inc()
	s.log.Info("advisor logged in", "advisor", acct.Username)
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
		s.rdb.Publish(ctx, s.queue.AdvisorChannel(acct.Username), `{"type":"logout"}`)
		s.log.Info("advisor logged out", "advisor", acct.Username)
	}
	s.setSessionCookie(c, "", -1)
	return c.Redirect(http.StatusSeeOther, "/advisor")
}
