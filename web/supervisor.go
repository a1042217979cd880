package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/auth"
	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
)

const (
	// supervisorTick is how often the supervisor view is refreshed without
	// a routing change (waiting times, last seen) and its session checked
	// again.
	supervisorTick = 5 * time.Second
	// maxSupervisorBody bounds a supervisor request's JSON body: a note of
	// 4000 characters fits, as in a socket frame.
	maxSupervisorBody = socket.MaxFrame
)

// refuse answers a supervisor request with a JSON error and counts it.
func (s *Server) refuse(c *echo.Context, status int, code protocol.Code, msg string) error {
	s.metrics.Rejected(socket.RoleSupervisor, code)
	return c.JSON(status, protocol.APIError{Error: code, Message: msg})
}

// isSupervisor reads the role from the account as the accounts file has it
// now (session looks it up on every request): a supervisor demoted in the
// file loses the view at once.
func isSupervisor(a accounts.Account) bool { return a.Role == accounts.RoleSupervisor }

// supervisorPage serves the supervisor view: the login form's page for
// whoever is not logged in, a plain 403 for an advisor.
func (s *Server) supervisorPage(c *echo.Context) error {
	acct, _, err := s.auth.Session(c)
	switch {
	case errors.Is(err, auth.ErrNoSession):
		return c.Redirect(http.StatusSeeOther, "/advisor")
	case err != nil:
		return err
	case !isSupervisor(acct):
		return echo.NewHTTPError(http.StatusForbidden, "the supervisor view is for supervisors only")
	}
	return s.pages.render(c, http.StatusOK, "supervisor.html", s.pages.language(c.Request()), false)
}

// supervisorRequest checks a supervisor action: the session must be valid,
// the account still in the file and a supervisor's. ok false means the
// refusal has been written.
func (s *Server) supervisorRequest(c *echo.Context) (acct accounts.Account, ok bool, err error) {
	acct, _, err = s.auth.Session(c)
	switch {
	case errors.Is(err, auth.ErrNoSession):
		return acct, false, s.refuse(c, http.StatusUnauthorized, protocol.CodeUnauthorized, "log in first")
	case err != nil:
		return acct, false, err
	case !isSupervisor(acct):
		return acct, false, s.refuse(c, http.StatusForbidden, protocol.CodeForbidden, "only a supervisor may do this")
	}
	return acct, true, nil
}

// decodeSupervisorBody reads a supervisor request's JSON body into v; msg
// says what is wrong with it, "" if nothing.
func decodeSupervisorBody(c *echo.Context, v any) (msg string) {
	r := c.Request()
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "the body must be JSON (Content-Type: application/json)"
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxSupervisorBody))
	if err != nil {
		return "the body is larger than 16 KiB or could not be read"
	}
	// Checked on the raw body: encoding/json would quietly turn invalid
	// bytes into U+FFFD.
	if !utf8.Valid(b) {
		return "the body is not valid UTF-8"
	}
	if err := json.Unmarshal(b, v); err != nil {
		return "the body is not the JSON object expected"
	}
	return ""
}

// refuseRouting answers a routing error: 409 with the protocol's code for a
// refusal, the error itself (500) otherwise.
func (s *Server) refuseRouting(c *echo.Context, err error) error {
	if code, msg, ok := protocol.Refusal(err); ok {
		return s.refuse(c, http.StatusConflict, code, msg)
	}
	return err
}

// notEnded refuses a conversation the store has ended. A conversation is
// ended in the store first and let go by routing just after; a supervisor
// acting in between would otherwise move or reprioritise a conversation
// whose visitor has already been told it ended.
func (s *Server) notEnded(ctx context.Context, id string) error {
	conv, err := s.store.Get(ctx, id)
	switch {
	case errors.Is(err, chat.ErrNotFound):
		return routing.ErrEnded
	case err != nil:
		return err
	case conv.Ended:
		return routing.ErrEnded
	}
	return nil
}

// supervisorPriority changes a conversation's priority:
// {"conversation":id,"priority":0..2}.
func (s *Server) supervisorPriority(c *echo.Context) error {
	acct, ok, err := s.supervisorRequest(c)
	if !ok {
		return err
	}
	var f struct {
		Conversation string `json:"conversation"`
		Priority     *int   `json:"priority"`
	}
	if msg := decodeSupervisorBody(c, &f); msg != "" {
		return s.refuse(c, http.StatusBadRequest, protocol.CodeBadRequest, msg)
	}
	if !chat.ValidID(f.Conversation) {
		return s.refuse(c, http.StatusBadRequest, protocol.CodeBadRequest, "conversation must be a conversation id")
	}
	if f.Priority == nil || *f.Priority < routing.PriorityNormal || *f.Priority > routing.PriorityUrgent {
		return s.refuse(c, http.StatusBadRequest, protocol.CodeBadRequest, "priority must be 0, 1 or 2")
	}
	if err := s.notEnded(c.Request().Context(), f.Conversation); err != nil {
		return s.refuseRouting(c, err)
	}
	if err := s.queue.SetPriority(c.Request().Context(), f.Conversation, *f.Priority); err != nil {
		return s.refuseRouting(c, err)
	}
	s.audit(auditPriority, acct.Username, "conversation", f.Conversation, "priority", *f.Priority)
	return c.NoContent(http.StatusNoContent)
}

// supervisorReassign moves a conversation, whoever has it, to an advisor on
// duty with room or to a queue: {"conversation":id,"to_advisor":name} or
// {"conversation":id,"to_queue":name}, with an optional internal "note".
func (s *Server) supervisorReassign(c *echo.Context) error {
	acct, ok, err := s.supervisorRequest(c)
	if !ok {
		return err
	}
	var f protocol.Transfer
	if msg := decodeSupervisorBody(c, &f); msg != "" {
		return s.refuse(c, http.StatusBadRequest, protocol.CodeBadRequest, msg)
	}
	if !chat.ValidID(f.Conversation) {
		return s.refuse(c, http.StatusBadRequest, protocol.CodeBadRequest, "conversation must be a conversation id")
	}
	note, problem := checkTransfer(f)
	if problem != "" {
		return s.refuse(c, http.StatusBadRequest, protocol.CodeBadRequest, problem)
	}
	if f.ToAdvisor != "" {
		// Only a name that is an account reaches Redis; anyone else is
		// not on duty, as routing says of an unknown name.
		if _, ok := s.accounts.Lookup(f.ToAdvisor); !ok {
			return s.refuseRouting(c, routing.ErrAdvisorOffDuty)
		}
	}
	if err := s.notEnded(c.Request().Context(), f.Conversation); err != nil {
		return s.refuseRouting(c, err)
	}
	// Once routing has moved it, the entries must be written even if the
	// supervisor's request is gone by then.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 10*time.Second)
	defer cancel()
	asg, err := s.queue.Reassign(ctx, f.Conversation, routing.Target{Advisor: f.ToAdvisor, Queue: f.ToQueue})
	if err != nil {
		return s.refuseRouting(c, err)
	}
	s.routing.Transferred(asg)
	s.moved(ctx, asg, acct.Username, s.displayName(ctx, acct), note)
	out := protocol.Reassigned{Conversation: asg.Conversation, Advisor: asg.Advisor, Alias: asg.Alias, From: asg.From, Was: asg.Was}
	if asg.Advisor == "" {
		out.Queue = asg.Queue
	}
	return c.JSON(http.StatusOK, out)
}

// displayName is the name a supervisor's notes go under: the display name
// they chose on duty, else the account's.
func (s *Server) displayName(ctx context.Context, acct accounts.Account) string {
	if st, err := s.queue.AdvisorStatus(ctx, acct.Username); err == nil && st.Alias != "" {
		return st.Alias
	}
	if acct.Name != "" {
		return acct.Name
	}
	return acct.Username
}

// supervisorSocket pushes the routing overview to a supervisor's page.
func (s *Server) supervisorSocket(c *echo.Context) error {
	acct, sid, err := s.auth.Session(c)
	switch {
	case errors.Is(err, auth.ErrNoSession):
		s.metrics.Rejected(socket.RoleSupervisor, protocol.CodeUnauthorized)
		return echo.NewHTTPError(http.StatusUnauthorized, "log in first")
	case err != nil:
		return err
	case !isSupervisor(acct):
		s.metrics.Rejected(socket.RoleSupervisor, protocol.CodeForbidden)
		return echo.NewHTTPError(http.StatusForbidden, "the supervisor view is for supervisors only")
	}
	sock, err := s.accept(c, socket.RoleSupervisor, true)
	if err != nil || sock == nil {
		return err
	}
	v := &supervisorView{srv: s, sock: sock, name: acct.Username, session: sid}
	s.serve(sock, func() {
		defer s.release(sock, s.queue.ChangedChannel(), s.queue.AdvisorChannel(v.name), s.questions.store.Channel())
		v.run()
	})
	return nil
}

// supervisorView is one supervisor socket.
type supervisorView struct {
	srv     *Server
	sock    *socket.Socket
	name    string
	session string

	last []byte // the overview sent last; writer-owned
}

func (v *supervisorView) run() {
	changed, own, asked := v.srv.queue.ChangedChannel(), v.srv.queue.AdvisorChannel(v.name), v.srv.questions.store.Channel()
	v.sock.OnChannel = func(channel string, payload []byte) {
		switch channel {
		case changed, asked:
			v.sock.DoOnce("overview", v.refresh)
		case own:
			// A logout anywhere closes the supervisor's sockets too.
			var ev struct {
				Type string `json:"type"`
			}
			if payload != nil && json.Unmarshal(payload, &ev) == nil && ev.Type == typeLogout {
				v.sock.CloseAfter(protocol.CloseLoggedOut)
			}
		}
	}
	for _, ch := range []string{changed, own, asked} {
		if err := v.sock.Watch(ch); err != nil {
			v.internal(err)
			return
		}
	}
	v.sock.Do(v.refresh)

	ticking := make(chan struct{})
	go v.tick(ticking)
	defer func() {
		// The ticker stops with the socket's context.
		v.sock.Close(protocol.CloseNormal)
		<-ticking
	}()
	for {
		typ, _, err := v.sock.ReadFrame()
		if err != nil {
			return
		}
		if typ != "" {
			v.sock.SendError(protocol.CodeUnknownType, "this socket takes no frames; act with the HTTP endpoints", "", "")
		}
	}
}

// tick refreshes the overview for its clocks and checks the session until
// the socket's context ends; it closes done when it returns.
func (v *supervisorView) tick(done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(supervisorTick)
	defer t.Stop()
	for {
		select {
		case <-v.sock.Ctx().Done():
			return
		case <-t.C:
			ok, err := v.srv.auth.StillValid(v.sock.Ctx(), v.name, v.session)
			if err == nil && !ok {
				// Redis trouble is no reason to close; an ended session is.
				v.sock.SessionEnded()
				return
			}
			v.sock.DoOnce("overview", v.refresh)
		}
	}
}

func (v *supervisorView) internal(err error) {
	if v.sock.Ctx().Err() == nil {
		v.sock.Log().Error("supervisor view failed", "err", err)
	}
	v.sock.SendError(protocol.CodeInternal, "internal error; reconnect", "", "")
	v.sock.CloseAfter(protocol.CloseInternal)
}

// nonNil keeps an empty list a JSON array.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// buildOverview turns routing's overview into the frame, times as seconds
// before now.
func buildOverview(ov routing.Overview, now time.Time) protocol.Overview {
	v := queueView{now: now}
	f := protocol.Overview{
		Type:     protocol.TypeOverview,
		Queues:   v.queues(ov, true),
		Advisors: make([]protocol.OverviewAdvisor, 0, len(ov.Advisors)),
		Waiting:  v.waiting(ov, len(ov.Waiting)),
	}
	for _, a := range ov.Advisors {
		o := protocol.OverviewAdvisor{
			Username: a.Name, Alias: a.Alias, Duty: a.Duty, Load: a.Load(), Offered: len(a.Offers), Capacity: a.Capacity,
			Languages: nonNil(a.Languages), Audiences: nonNil(a.Audiences), MissedOffers: a.MissedOffers,
			Conversations: nonNil(a.Conversations), Connected: a.Connected,
		}
		if !a.LastSeen.IsZero() {
			seen := v.secs(a.LastSeen)
			o.Seen = &seen
		}
		f.Advisors = append(f.Advisors, o)
	}
	return f
}

// refresh sends the overview if it changed. An account no longer a
// supervisor's (or gone from the file) loses the view here, at the next
// change or tick. Writer goroutine.
func (v *supervisorView) refresh(ctx context.Context) {
	if acct, ok := v.srv.accounts.Lookup(v.name); !ok || !isSupervisor(acct) {
		v.sock.Refuse(protocol.CodeForbidden, "the supervisor view is for supervisors only", protocol.CloseNotSupervisor)
		return
	}
	ov, err := v.srv.queue.Overview(ctx)
	if err != nil {
		if ctx.Err() == nil {
			v.sock.Log().Warn("supervisor overview failed", "err", err)
		}
		return
	}
	f := buildOverview(ov, time.Now())
	if f.Questions, err = v.srv.questionCounts(ctx); err != nil {
		if ctx.Err() == nil {
			v.sock.Log().Warn("supervisor overview: questions", "err", err)
		}
		return
	}
	b, err := json.Marshal(f)
	if err != nil || string(b) == string(v.last) {
		return
	}
	v.last = b
	v.sock.Write(b)
}
