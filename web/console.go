package web

// The advisor console's socket: the session behind it, its frames, and
// what routing tells the advisor.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/auth"
	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
)

// advisor is the state of one advisor socket.
type advisor struct {
	srv     *Server
	sock    *socket.Socket
	name    string
	session string // the session id the socket was opened with
	// lease is the socket's lease on its session, if it has one: a
	// session read as good is taken as good for a moment (auth.Lease).
	lease atomic.Pointer[auth.Lease]
	// holds are its leases on the conversations it holds.
	holds holds

	mu    sync.Mutex
	acct  accounts.Account
	alias string

	// after is what the page said it has, per conversation (hello); set
	// before any watch, then read by the writer only.
	after map[string]int64
	at    map[string]int64

	// Writer-owned.
	lastQueue  []byte
	lastStatus []byte
	// view is the queue view pushed after routing changes (consolepush.go).
	view pushedView
	// statusRead and queueRead are when the console last asked for its
	// own status and queue view (writer-owned): a pushed view asked for
	// before is older than what the page has.
	statusRead, queueRead time.Time
	// lastQuestions is the questions view sent last.
	lastQuestions []byte
	ended         map[string]bool
	offers        map[string]bool // offered to this advisor, shown on the page
}

func (s *Server) advisorSocket(c *echo.Context) error {
	acct, sid, err := s.auth.Session(c)
	if errors.Is(err, auth.ErrNoSession) {
		s.metrics.Rejected(socket.RoleAdvisor, protocol.CodeUnauthorized)
		return echo.NewHTTPError(http.StatusUnauthorized, "log in first")
	}
	if err != nil {
		return err
	}
	sock, err := s.accept(c, socket.RoleAdvisor, true)
	if err != nil || sock == nil {
		return err
	}
	a := &advisor{srv: s, sock: sock, name: acct.Username, session: sid, acct: acct, ended: map[string]bool{}, offers: map[string]bool{}}
	s.serve(sock, func() {
		defer s.release(sock, s.queue.AdvisorChannel(a.name), s.questions.store.Channel())
		defer s.consoles.untrack(a)
		defer s.consoleClosed(sock, a.name)
		a.run()
	})
	return nil
}

func (a *advisor) run() {
	ctx := a.sock.Ctx()
	// A reconnect within the grace period keeps the advisor on duty.
	a.sock.SetSession(a.session)
	if err := a.srv.consoleOpened(ctx, a.sock, a.name); err != nil {
		a.internal(err, "")
		a.sock.CloseAfter(protocol.CloseInternal)
		return
	}
	if err := a.srv.queue.TouchAdvisors(ctx, a.name); err != nil {
		a.internal(err, "")
		a.sock.CloseAfter(protocol.CloseInternal)
		return
	}
	// The first frame must be hello.
	started := a.sock.ExpectStart()
	defer started()
	var hello protocol.Hello
	for {
		typ, data, err := a.sock.ReadFrame()
		if err != nil {
			return
		}
		if typ == "" {
			continue
		}
		if typ != protocol.TypeHello {
			a.sock.SendError(protocol.CodeNotStarted, "send hello first", "", "")
			continue
		}
		if err := json.Unmarshal(data, &hello); err != nil {
			a.sock.SendError(protocol.CodeBadRequest, "hello needs an after object", "", "")
			continue
		}
		break
	}
	started()
	a.at = hello.At
	if err := a.attach(hello.After); err != nil {
		a.internal(err, "")
		a.sock.CloseAfter(protocol.CloseInternal)
		return
	}
	for {
		typ, data, err := a.sock.ReadFrame()
		if err != nil {
			return
		}
		switch typ {
		case "":
		case protocol.TypeDuty:
			var f protocol.Duty
			if err := json.Unmarshal(data, &f); err != nil || f.On == nil || (f.Capacity != nil && *f.Capacity < 1) {
				a.sock.SendError(protocol.CodeBadRequest, "duty needs on: true or false, and capacity, if given, of 1 or more", "", "")
				continue
			}
			a.duty(*f.On, f.Capacity)
		case protocol.TypeAccept, protocol.TypePick:
			var f protocol.Target
			_ = json.Unmarshal(data, &f)
			a.take(typ, f.Conversation)
		case protocol.TypeTransfer:
			a.transfer(data)
		case protocol.TypeTyping:
			var f protocol.Target
			_ = json.Unmarshal(data, &f)
			a.typing(f.Conversation)
		case protocol.TypeAlias:
			var f protocol.Alias
			_ = json.Unmarshal(data, &f)
			a.setAlias(f.Name)
		case protocol.TypeMessage:
			a.message(data, chat.KindMessage)
		case protocol.TypeNote:
			a.message(data, chat.KindNote)
		case protocol.TypeEnd, protocol.TypeBlock:
			var f protocol.End
			if err := json.Unmarshal(data, &f); err != nil {
				a.sock.SendError(protocol.CodeBadRequest, typ+" needs conversation and, optionally, tags", "", "")
				continue
			}
			if bad := a.unknownTag(f.Tags); bad != "" {
				a.sock.SendError(protocol.CodeBadRequest, fmt.Sprintf("unknown outcome tag %q", bad), "", f.Conversation)
				continue
			}
			reason := chat.EndedByAdvisor
			if typ == protocol.TypeBlock {
				reason = chat.EndedBlocked
			}
			a.finish(f.Conversation, reason, f.Tags)
		case protocol.TypeQuestionTake, protocol.TypeQuestionAnswer, protocol.TypeQuestionRelease:
			a.question(typ, data) // console_questions.go
		case protocol.TypeHello:
			a.sock.SendError(protocol.CodeBadRequest, "hello was already sent", "", "")
		default:
			a.sock.SendError(protocol.CodeUnknownType, "unknown frame type", "", "")
		}
	}
}

// attach subscribes the socket to the advisor's events and the queue, then
// sends the status, the queue and every open conversation.
func (a *advisor) attach(after map[string]int64) error {
	ctx := a.sock.Ctx()
	a.after = after
	advCh := a.srv.queue.AdvisorChannel(a.name)
	asked := a.srv.questions.store.Channel()
	a.sock.OnEntry = a.onEntry
	a.sock.OnChannel = func(channel string, payload []byte) {
		switch channel {
		case advCh:
			a.event(payload)
		case asked:
			a.sock.DoOnce("questions", a.refreshQuestions)
		}
	}
	if err := a.sock.Watch(advCh); err != nil {
		return err
	}
	// Routing changes (duty may change elsewhere too: another tab, the
	// sweep) come as views the instance pushes to all its consoles.
	if err := a.srv.consoles.track(a); err != nil {
		return err
	}
	if err := a.sock.Watch(asked); err != nil {
		return err
	}
	st, err := a.srv.queue.AdvisorStatus(ctx, a.name)
	if err != nil {
		return err
	}
	if st.Alias != "" {
		a.mu.Lock()
		a.alias = st.Alias
		a.mu.Unlock()
	}
	a.sock.Send(protocol.Console{Type: protocol.TypeConsole, Canned: a.srv.cfg.Canned, Tags: a.srv.cfg.OutcomeTags})
	a.sock.Do(a.refreshStatus)
	a.sock.Do(a.refreshQueue)
	a.sock.Do(a.refreshQuestions)
	mine := make(map[string]bool, len(st.Conversations))
	for _, id := range st.Conversations {
		mine[id] = true
		a.sock.Do(func(ctx context.Context) { a.resumed(ctx, id) })
	}
	// What the page still shows but is no longer ours (requeued or ended
	// while the advisor was away) is said plainly, not left to go stale.
	for _, id := range st.Offered {
		a.sock.Do(func(ctx context.Context) { a.offered(ctx, id) })
	}
	for id := range after {
		if !mine[id] && chat.ValidID(id) {
			a.sock.Do(func(ctx context.Context) { a.gone(ctx, id) })
		}
	}
	return nil
}

// event handles what routing published for this advisor (hub goroutine).
func (a *advisor) event(payload []byte) {
	if payload == nil {
		// Resubscribed: something may have been missed; re-read all.
		a.holds.drop("")
		a.sock.Do(a.resync)
		return
	}
	var ev struct {
		Type         string `json:"type"`
		Conversation string `json:"conversation"`
		Reason       string `json:"reason"`
		Deadline     int64  `json:"deadline"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		a.holds.drop("") // what it said is not known
		return
	}
	switch ev.Type {
	case protocol.TypeOffered:
		a.sock.Do(func(ctx context.Context) { a.offered(ctx, ev.Conversation) })
	case protocol.TypeOffDuty:
		// Routing took the advisor off duty (missed offers): say why.
		a.sock.Send(protocol.OffDuty{Type: protocol.TypeOffDuty, Reason: ev.Reason})
		a.sock.DoOnce("status", a.refreshStatus)
	case protocol.TypeAssigned:
		a.sock.Do(func(ctx context.Context) { a.assigned(ctx, ev.Conversation, 0) })
	case protocol.TypeUnassigned:
		a.holds.drop(ev.Conversation)
		a.sock.Do(func(ctx context.Context) { a.unassigned(ctx, ev.Conversation, ev.Reason) })
	case typeLogout:
		a.lease.Store(nil)
		a.sock.CloseAfter(protocol.CloseLoggedOut)
	}
}

func (a *advisor) currentAlias() (accounts.Account, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.alias != "" {
		return a.acct, a.alias
	}
	name := a.acct.Name
	if name == "" {
		name = a.acct.Username
	}
	return a.acct, name
}

// authorized checks, before anything the advisor does, that their session
// is still valid and their account still exists: a socket opened with a
// session that has since timed out, or by an account since removed from
// the file, must not act. clientID and conv name the message or
// conversation the request is about, for the error if the check fails.
func (a *advisor) authorized(clientID, conv string) bool {
	if a.leased() {
		return true
	}
	l, err := a.srv.auth.Authorize(a.sock.Ctx(), a.name, a.session, a.srv.cfg.SessionLease)
	if err == nil {
		a.lease.Store(l)
		return true
	}
	a.lease.Store(nil)
	if !errors.Is(err, auth.ErrNoSession) {
		a.internalFor(err, clientID, conv)
		return false
	}
	a.sock.SessionEnded()
	return false
}

// leased reports whether the socket's lease on its session still stands
// (auth.Lease): then the session need not be read again.
func (a *advisor) leased() bool {
	return a.srv.auth.Holds(a.lease.Load(), a.name, a.session)
}

func (a *advisor) internal(err error, conv string) { a.internalFor(err, "", conv) }

// internalFor reports a failed request. A failed message must name its
// client id (and conversation), as the protocol says: the page retries
// that message with the same id; without the id it cannot tell which
// message failed and leaves it pending on a socket that stays open.
func (a *advisor) internalFor(err error, clientID, conv string) {
	if a.sock.Ctx().Err() == nil {
		a.sock.Log().Error("advisor request failed", "err", err)
	}
	a.sock.SendError(protocol.CodeInternal, "internal error; retry", clientID, conv)
}
