package web

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v5"
)

// contentSecurityPolicy allows nothing but this origin: no inline script or
// style, no other origin for anything, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries, around the
// whole handler: also what the cross-origin protection refuses before any
// route runs. Nothing is cached: a shared device must not keep a trace of
// the chat.
func securityHeaders(tls bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if tls {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// requestLog logs one line per request: method, route pattern, status and
// duration, and counts it in the request metrics by route pattern and
// status. Never the path, the client address, the User-Agent, the query
// string or any other header: those could identify a visitor.
func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) error {
		start := time.Now()
		err := next(c)
		_, status := echo.ResolveResponseStatus(c.Response(), err)
		route := c.Path()
		if route == "" {
			route = noRoute
		}
		took := time.Since(start)
		s.metrics.request(route, status, took)
		s.log.Debug("request", "method", c.Request().Method, "route", route, "status", status, "ms", took.Milliseconds())
		return err
	}
}

// recoverer turns a panic into a 500 and a log line with the stack.
func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c *echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.Error("panic", "err", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = errors.New("panic")
			}
		}()
		return next(c)
	}
}

// httpError answers a failed request: the status and message of an HTTP
// error, "internal error" for anything else (logged).
func (s *Server) httpError(c *echo.Context, err error) {
	if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
		return
	}
	code, msg := http.StatusInternalServerError, "internal error"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		msg = he.Message
		if msg == "" {
			msg = http.StatusText(code)
		}
	} else if sc := echo.StatusCode(err); sc != 0 {
		code, msg = sc, http.StatusText(sc)
	} else {
		s.log.Error("request failed", "route", c.Path(), "err", err)
	}
	_ = c.String(code, msg+"\n")
}
