package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
)

// Run keeps the instance's visitors and advisors marked as present until
// ctx is done.
func (s *Server) Run(ctx context.Context) {
	// The questions' sweep runs beside the heartbeats (questions.go).
	sweep := make(chan struct{})
	go func() { defer close(sweep); s.runQuestionSweep(ctx) }()
	defer func() { <-sweep }()
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.heartbeat(ctx)
		}
	}
}

func (s *Server) heartbeat(ctx context.Context) {
	var convs, names []string
	var advisors []*socket.Socket
	s.mu.Lock()
	for sock := range s.sockets {
		if c := sock.Presence(); c != "" {
			if sock.Role() == socket.RoleVisitor {
				convs = append(convs, c)
			} else {
				advisors = append(advisors, sock)
			}
		}
	}
	s.mu.Unlock()
	// An advisor whose session ended (absolute timeout, logout elsewhere)
	// or whose account was removed must stop reading along: close the
	// socket, and stop keeping the advisor on duty.
	for _, sock := range advisors {
		ok, err := s.auth.StillValid(ctx, sock.Presence(), sock.Session())
		if err != nil {
			names = append(names, sock.Presence()) // Redis trouble is no reason to drop an advisor
			continue
		}
		if !ok {
			sock.SessionEnded()
			continue
		}
		names = append(names, sock.Presence())
	}
	if err := s.queue.TouchVisitors(ctx, convs...); err != nil && ctx.Err() == nil {
		s.log.Warn("visitor heartbeat failed", "err", err)
	}
	if err := s.queue.TouchAdvisors(ctx, names...); err != nil && ctx.Err() == nil {
		s.log.Warn("advisor heartbeat failed", "err", err)
	}
	if err := s.consolesPresent(ctx, names...); err != nil && ctx.Err() == nil {
		s.log.Warn("console presence failed", "err", err)
	}
}

// accept upgrades a request after checking its Origin and registers the
// socket. requireOrigin refuses a handshake without Origin (browsers always
// send one; the advisor socket carries a cookie, so it must come from our
// page).
func (s *Server) accept(c *echo.Context, role string, requireOrigin bool) (*socket.Socket, error) {
	r := c.Request()
	if err := s.checkOrigin(r, requireOrigin); err != nil {
		s.metrics.Rejected(role, protocol.CodeBadOrigin)
		return nil, echo.NewHTTPError(http.StatusForbidden, err.Error())
	}
	var entryAcks bool
	switch r.URL.Query().Get("acks") {
	case "":
	case "entry":
		entryAcks = true
	default:
		s.metrics.Rejected(role, protocol.CodeBadRequest)
		return nil, echo.NewHTTPError(http.StatusBadRequest, "acks must be entry or left out")
	}
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if draining {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "server is shutting down")
	}
	conn, err := websocket.Accept(c.Response(), r, &websocket.AcceptOptions{
		// The Origin was checked above, exactly.
		InsecureSkipVerify: true,
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, nil // Accept has answered the client
	}
	sock := socket.New(s.base, s.socketDeps, conn, role)
	sock.EntryAcks = entryAcks
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		_ = conn.Close(websocket.StatusGoingAway, "server going away")
		return nil, nil
	}
	s.sockets[sock] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.metrics.connections.WithLabelValues(role).Inc()
	sock.Start()
	return sock, nil
}

// serve runs a socket's reader, run, on a goroutine of its own, and
// returns at once: the connection is hijacked, so the handshake's request
// is over. Its goroutine (net/http's, with the middleware under it) ends,
// and with it a stack grown for routing the request, which a socket's
// reader would otherwise keep for its whole life; the reader's own stack
// starts small and shrinks back while the socket waits. run must not use
// the request's echo.Context: Echo reuses it. A panic in run is logged,
// as the recoverer middleware would have.
func (s *Server) serve(sock *socket.Socket, run func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("panic", "role", sock.Role(), "err", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
		run()
	}()
}

// release undoes accept once the socket's reader is done; extra are the
// channels the surface watched.
func (s *Server) release(sock *socket.Socket, extra ...string) {
	sock.Finish(extra...)
	s.metrics.connections.WithLabelValues(sock.Role()).Dec()
	s.mu.Lock()
	delete(s.sockets, sock)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) checkOrigin(r *http.Request, require bool) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if require {
			return errors.New("missing Origin")
		}
		return nil
	}
	want := s.cfg.PublicOrigin
	if want == "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		want = scheme + r.Host
	}
	if !strings.EqualFold(origin, want) {
		return errors.New("origin not allowed")
	}
	return nil
}

// Shutdown stops accepting sockets, closes the open ones with 1001 so their
// clients reconnect (to another instance) at once, and waits for them
// until ctx is done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	for sock := range s.sockets {
		sock.Close(protocol.CloseShutdown)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stop()
		return nil
	case <-ctx.Done():
		s.stop()
		return fmt.Errorf("close sockets: %w", ctx.Err())
	}
}
