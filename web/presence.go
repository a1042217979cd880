package web

// Where the advisors' consoles are live: this instance tells routing
// which advisors it holds a console socket of (when one opens, and with
// every heartbeat), and when it holds none of an advisor any more. Routing
// gives new conversations only to advisors with a live console somewhere
// (routing.Queue.Present).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"github.com/advicechat/advicechat/web/socket"
)

// reasonAdvisorAway is the reason of an active state whose advisor has no
// live console (docs/protocol.md).
const reasonAdvisorAway = "advisor_away"

// newInstance names this server in routing's presence records: random, so
// two processes (or two servers in one test) never share one.
func newInstance() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// consolesPresent records that this instance holds a console of each
// advisor named (the heartbeat), but only of those it still holds one of
// now: one whose last socket closed since the names were read is gone
// (consoleClosed), and must stay gone.
func (s *Server) consolesPresent(ctx context.Context, names ...string) error {
	s.presenceMu.Lock()
	defer s.presenceMu.Unlock()
	live := map[string]bool{}
	s.mu.Lock()
	for sock := range s.sockets {
		if sock.Role() == socket.RoleAdvisor {
			live[sock.Presence()] = true
		}
	}
	s.mu.Unlock()
	var here []string
	for _, n := range names {
		if n != "" && live[n] && !slices.Contains(here, n) {
			here = append(here, n)
		}
	}
	return s.queue.Present(ctx, s.instance, here...)
}

// consoleOpened marks sock as the console of advisor name and records
// that this instance holds one. Under presenceMu with consoleClosed, so a
// socket closing while another of the same advisor opens (a reload) can
// never leave the advisor recorded as gone.
func (s *Server) consoleOpened(ctx context.Context, sock *socket.Socket, name string) error {
	s.presenceMu.Lock()
	defer s.presenceMu.Unlock()
	sock.SetPresence(name)
	return s.queue.Present(ctx, s.instance, name)
}

// consoleClosed runs when an advisor's console socket closed, before it
// is released (so before a shutdown stops waiting for it): when it was
// this instance's last one of that advisor, routing hears at once that
// they have no console here.
func (s *Server) consoleClosed(closed *socket.Socket, name string) {
	s.presenceMu.Lock()
	defer s.presenceMu.Unlock()
	// Gone: no heartbeat may count it from here on (consolesPresent).
	closed.SetPresence("")
	s.mu.Lock()
	for sock := range s.sockets {
		if sock != closed && sock.Role() == socket.RoleAdvisor && sock.Presence() == name {
			s.mu.Unlock()
			return
		}
	}
	s.mu.Unlock()
	// The socket's own context is gone, and in a shutdown so is the
	// server's: this must still be said.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.queue.Absent(ctx, s.instance, name); err != nil {
		s.log.Warn("record a console closed", "err", err)
	}
}
