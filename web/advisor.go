package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/accounts"
)

// offDuty takes an advisor off duty and tells the visitors whose
// conversations went back to the queue.
func (s *Server) offDuty(ctx context.Context, name string) error {
	// The visitors must hear of it even if the socket or request that
	// asked is gone by the time the entries are written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	ids, err := s.queue.OffDuty(ctx, name)
	if err != nil {
		return err
	}
	for _, id := range ids {
		s.appendRequeued(ctx, id, chat.RequeuedLeft)
	}
	s.routing.Requeued("advisor_left", len(ids))
	s.log.Info("advisor off duty", "advisor", name, "requeued", len(ids))
	s.audit(auditDutyOff, name, "requeued", len(ids))
	return nil
}

// advisor is the state of one advisor socket.
type advisor struct {
	srv     *Server
	sock    *socket
	name    string
	session string // the session id the socket was opened with

	mu    sync.Mutex
	acct  accounts.Account
	alias string

	// after is what the page said it has, per conversation (hello); set
	// before any watch, then read by the writer only.
	after map[string]int64
	at    map[string]int64

	// Writer-owned.
	lastQueue []byte
	ended     map[string]bool
}

func (s *Server) advisorSocket(c *echo.Context) error {
	acct, sid, err := s.session(c)
	if errors.Is(err, errNoSession) {
		s.metrics.rejected.WithLabelValues(roleAdvisor, "unauthorized").Inc()
		return echo.NewHTTPError(http.StatusUnauthorized, "log in first")
	}
	if err != nil {
		return err
	}
	sock, err := s.accept(c, roleAdvisor, true)
	if err != nil || sock == nil {
		return err
	}
	a := &advisor{srv: s, sock: sock, name: acct.Username, session: sid, acct: acct, ended: map[string]bool{}}
	defer s.release(sock, s.queue.AdvisorChannel(a.name), s.queue.ChangedChannel())
	a.run()
	return nil
}

type dutyFrame struct {
	On *bool `json:"on"`
}

func (a *advisor) run() {
	ctx := a.sock.ctx
	// A reconnect within the grace period keeps the advisor on duty.
	a.sock.setSession(a.session)
	a.sock.setPresence(a.name)
	if err := a.srv.queue.TouchAdvisors(ctx, a.name); err != nil {
		a.internal(err, "")
		a.sock.closeAfter(websocket.StatusInternalError, "internal error")
		return
	}
	// The first frame must be hello.
	started := a.sock.expectStart()
	defer started()
	var hello struct {
		After map[string]int64 `json:"after"`
		// At is, per conversation, the at of the entry at after: with it
		// a loss in a failover is told (interrupted), not hidden.
		At map[string]int64 `json:"at"`
	}
	for {
		typ, data, err := a.sock.readFrame()
		if err != nil {
			return
		}
		if typ == "" {
			continue
		}
		if typ != "hello" {
			a.sock.sendError("not_started", "send hello first", "", "")
			continue
		}
		if err := json.Unmarshal(data, &hello); err != nil {
			a.sock.sendError("bad_request", "hello needs an after object", "", "")
			continue
		}
		break
	}
	started()
	a.at = hello.At
	if err := a.attach(hello.After); err != nil {
		a.internal(err, "")
		a.sock.closeAfter(websocket.StatusInternalError, "internal error")
		return
	}
	for {
		typ, data, err := a.sock.readFrame()
		if err != nil {
			return
		}
		switch typ {
		case "":
		case "duty":
			var f dutyFrame
			if err := json.Unmarshal(data, &f); err != nil || f.On == nil {
				a.sock.sendError("bad_request", "duty needs on: true or false", "", "")
				continue
			}
			a.duty(*f.On)
		case "alias":
			var f struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(data, &f)
			a.setAlias(f.Name)
		case "message":
			a.message(data, chat.KindMessage)
		case "note":
			a.message(data, chat.KindNote)
		case "end":
			var f struct {
				Conversation string `json:"conversation"`
			}
			_ = json.Unmarshal(data, &f)
			a.end(f.Conversation)
		case "block":
			var f struct {
				Conversation string `json:"conversation"`
			}
			_ = json.Unmarshal(data, &f)
			a.block(f.Conversation)
		case "hello":
			a.sock.sendError("bad_request", "hello was already sent", "", "")
		default:
			a.sock.sendError("unknown_type", "unknown frame type", "", "")
		}
	}
}

// attach subscribes the socket to the advisor's events and the queue, then
// sends the status, the queue and every open conversation.
func (a *advisor) attach(after map[string]int64) error {
	ctx := a.sock.ctx
	a.after = after
	advCh, changed := a.srv.queue.AdvisorChannel(a.name), a.srv.queue.ChangedChannel()
	a.sock.onEntry = a.onEntry
	a.sock.onChannel = func(channel string, payload []byte) {
		switch channel {
		case changed:
			// Duty may have changed elsewhere too: another tab, the sweep.
			a.sock.doOnce("queue", a.refreshQueue)
			a.sock.doOnce("status", a.refreshStatus)
		case advCh:
			a.event(payload)
		}
	}
	if err := a.sock.watch(advCh); err != nil {
		return err
	}
	if err := a.sock.watch(changed); err != nil {
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
	a.sock.do(a.refreshStatus)
	a.sock.do(a.refreshQueue)
	mine := make(map[string]bool, len(st.Conversations))
	for _, id := range st.Conversations {
		mine[id] = true
		a.sock.do(func(ctx context.Context) { a.assigned(ctx, id, a.after[id]) })
	}
	// What the page still shows but is no longer ours (requeued or ended
	// while the advisor was away) is said plainly, not left to go stale.
	for id := range after {
		if !mine[id] && chat.ValidID(id) {
			a.sock.do(func(ctx context.Context) { a.gone(ctx, id) })
		}
	}
	return nil
}

// gone tells the advisor that a conversation their page knows is no longer
// theirs. Writer goroutine.
func (a *advisor) gone(ctx context.Context, id string) {
	st, err := a.srv.queue.State(ctx, id)
	ended := err == nil && (st.Status == routing.StatusEnded || st.Status == "")
	reason := "requeued"
	if ended {
		reason = "ended"
	}
	a.writeUnassigned(id, reason)
	// The page may have missed how a conversation of theirs ended: the
	// visitor's last words, the end itself. Send what came after the
	// page's last seq; onEntry stops following at the end.
	if ended && st.Advisor == a.name {
		if last, err := a.srv.store.LastSeq(ctx, id); err == nil && last > a.after[id] {
			if err := a.sock.followAt(id, a.after[id], a.at[id]); err != nil {
				a.internal(err, id)
			}
		}
	}
}

// writeUnassigned tells the page a conversation is no longer the
// advisor's. Writer goroutine.
func (a *advisor) writeUnassigned(id, reason string) {
	b, _ := json.Marshal(struct {
		Type         string `json:"type"`
		Conversation string `json:"conversation"`
		Reason       string `json:"reason"`
	}{"unassigned", id, reason})
	a.sock.write(b)
}

// event handles what routing published for this advisor (hub goroutine).
func (a *advisor) event(payload []byte) {
	if payload == nil {
		// Resubscribed: something may have been missed; re-read all.
		a.sock.do(a.resync)
		return
	}
	var ev struct {
		Type         string `json:"type"`
		Conversation string `json:"conversation"`
		Reason       string `json:"reason"`
	}
	if json.Unmarshal(payload, &ev) != nil {
		return
	}
	switch ev.Type {
	case "assigned":
		a.sock.do(func(ctx context.Context) { a.assigned(ctx, ev.Conversation, 0) })
	case "unassigned":
		a.sock.do(func(ctx context.Context) { a.unassigned(ctx, ev.Conversation, ev.Reason) })
	case "logout":
		a.sock.closeAfter(websocket.StatusPolicyViolation, "logged out")
	}
}

type assignedFrame struct {
	Type         string `json:"type"`
	Conversation struct {
		ID       string `json:"id"`
		Audience string `json:"audience"`
		Lang     string `json:"lang"`
		Waited   int64  `json:"waited"`
	} `json:"conversation"`
}

// assigned shows a conversation that routing gave this advisor and follows
// its entries from after. Writer goroutine.
func (a *advisor) assigned(ctx context.Context, id string, after int64) {
	if a.followed(id) {
		return
	}
	st, err := a.srv.queue.State(ctx, id)
	if err != nil || st.Status != routing.StatusActive || st.Advisor != a.name {
		return // stale event: it has moved on since
	}
	if ok, err := a.srv.advisorStillValid(ctx, a.name, a.session); err == nil && !ok {
		// Not one more conversation on a socket whose session has ended.
		a.sock.sendError("unauthorized", "your session has ended; log in again", "", "")
		a.sock.close(websocket.StatusPolicyViolation, "session ended")
		return
	}
	var f assignedFrame
	f.Type = "assigned"
	f.Conversation.ID, f.Conversation.Audience, f.Conversation.Lang = id, st.Audience, st.Lang
	f.Conversation.Waited = int64(st.Assigned.Sub(st.Enqueued).Seconds())
	b, _ := json.Marshal(f)
	a.sock.write(b)
	delete(a.ended, id)
	var at int64
	if after == a.after[id] {
		at = a.at[id] // what the page said of its entry at after
	}
	if err := a.sock.followAt(id, after, at); err != nil {
		a.internal(err, id)
	}
	a.refreshStatus(ctx)
}

// unassigned tells the advisor a conversation is no longer theirs. An ended
// one stays followed until its ended entry has been sent. Writer goroutine.
func (a *advisor) unassigned(ctx context.Context, id, reason string) {
	if !a.followed(id) && !a.ended[id] {
		return
	}
	a.writeUnassigned(id, reason)
	if reason != "ended" || a.ended[id] {
		a.sock.unfollow(id)
		delete(a.ended, id)
	} else {
		// Read the stream once: the end may be stored but not announced
		// (its wait for replicas timed out).
		a.sock.catchUp(ctx, id)
	}
	a.refreshStatus(ctx)
}

func (a *advisor) followed(id string) bool {
	_, ok := a.sock.following(a.srv.store.Channel(id))
	return ok
}

// onEntry stops following a conversation once its end has been sent.
func (a *advisor) onEntry(_ context.Context, e chat.Entry) {
	if e.Kind == chat.KindEnded {
		a.ended[e.Conversation] = true
		a.sock.unfollow(e.Conversation)
	}
}

// resync re-reads the advisor's conversations after the pub/sub connection
// came back. Writer goroutine.
func (a *advisor) resync(ctx context.Context) {
	st, err := a.srv.queue.AdvisorStatus(ctx, a.name)
	if err != nil {
		return
	}
	mine := map[string]bool{}
	for _, id := range st.Conversations {
		mine[id] = true
		a.assigned(ctx, id, a.after[id])
	}
	for id := range a.sock.cursors {
		if !mine[id] && !a.ended[id] {
			a.unassigned(ctx, id, "requeued")
		}
	}
	a.refreshQueue(ctx)
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

// refreshStatus sends the advisor's duty, alias and load. Writer goroutine.
func (a *advisor) refreshStatus(ctx context.Context) {
	st, err := a.srv.queue.AdvisorStatus(ctx, a.name)
	if err != nil {
		return
	}
	acct, alias := a.currentAlias()
	capacity := st.Capacity
	if !st.Duty || capacity == 0 {
		capacity = acct.MaxConversations
	}
	b, _ := json.Marshal(struct {
		Type     string `json:"type"`
		Duty     bool   `json:"duty"`
		Alias    string `json:"alias"`
		Capacity int    `json:"capacity"`
		Load     int    `json:"load"`
	}{"status", st.Duty, alias, capacity, len(st.Conversations)})
	a.sock.write(b)
}

type queueStat struct {
	Name        string `json:"name"`
	Waiting     int    `json:"waiting"`
	LongestWait int64  `json:"longest_wait"`
}

// refreshQueue sends the queue summary if it changed. Writer goroutine.
func (a *advisor) refreshQueue(ctx context.Context) {
	stats, err := a.srv.queue.Snapshot(ctx)
	if err != nil {
		return
	}
	out := make([]queueStat, len(stats))
	now := time.Now()
	for i, s := range stats {
		out[i] = queueStat{Name: s.Name, Waiting: s.Waiting}
		if !s.Oldest.IsZero() {
			out[i].LongestWait = int64(now.Sub(s.Oldest).Seconds())
		}
	}
	b, _ := json.Marshal(struct {
		Type   string      `json:"type"`
		Queues []queueStat `json:"queues"`
	}{"queue", out})
	if string(b) == string(a.lastQueue) {
		return
	}
	a.lastQueue = b
	a.sock.write(b)
}

func (a *advisor) duty(on bool) {
	if !a.authorized("", "") {
		return
	}
	ctx := a.sock.ctx
	acct, alias := a.currentAlias()
	if fresh, ok := a.srv.accounts.Lookup(a.name); ok {
		acct = fresh // skills and capacity as the accounts file says now
		a.mu.Lock()
		a.acct = fresh
		a.mu.Unlock()
	}
	var err error
	if on {
		err = a.srv.queue.OnDuty(ctx, routing.Advisor{Name: a.name, Alias: alias, Capacity: acct.MaxConversations, Audiences: acct.Audiences, Languages: acct.Languages})
		if err == nil {
			a.srv.log.Info("advisor on duty", "advisor", a.name)
			a.srv.audit(auditDutyOn, a.name)
		}
	} else {
		err = a.srv.offDuty(ctx, a.name)
	}
	if err != nil {
		a.internal(err, "")
		return
	}
	a.sock.do(a.refreshStatus)
}

func (a *advisor) setAlias(name string) {
	if !a.authorized("", "") {
		return
	}
	alias, err := chat.CleanDisplayName(name)
	if err != nil {
		a.sock.sendError("bad_request", err.Error(), "", "")
		return
	}
	if err := a.srv.queue.SetAlias(a.sock.ctx, a.name, alias); err != nil {
		a.internal(err, "")
		return
	}
	a.mu.Lock()
	a.alias = alias
	a.mu.Unlock()
	a.srv.audit(auditAlias, a.name, "alias", alias)
	a.sock.do(a.refreshStatus)
}

// owns checks that a conversation is this advisor's, sending the error if
// not. With ended, a conversation they held that has ended counts too: a
// message sent again after a reconnect must get its first copy's ack.
func (a *advisor) owns(id, clientID string, ended bool) bool {
	if !chat.ValidID(id) {
		a.sock.sendError("bad_request", "conversation must be a conversation id", clientID, "")
		return false
	}
	st, err := a.srv.queue.State(a.sock.ctx, id)
	if err != nil {
		a.internalFor(err, clientID, id)
		return false
	}
	if ended && st.Status == routing.StatusEnded && st.Advisor == a.name {
		return true // the store acks a duplicate and refuses anything new
	}
	if st.Advisor != a.name || st.Status != routing.StatusActive {
		code := "not_found"
		if st.Status == routing.StatusEnded {
			code = "ended"
		}
		a.sock.sendError(code, "not one of your open conversations", clientID, id)
		return false
	}
	return true
}

// message stores an advisor's message or, with KindNote, an internal note
// that only advisors and supervisors see; both are acked alike.
func (a *advisor) message(data []byte, kind chat.Kind) {
	var f messageFrame
	if err := json.Unmarshal(data, &f); err != nil {
		a.sock.sendError("bad_request", string(kind)+" needs conversation, id and text", "", "")
		return
	}
	e, code, msg := checkMessage(f)
	if code != "" {
		a.sock.sendError(code, msg, f.ID, f.Conversation)
		return
	}
	if !a.authorized(f.ID, f.Conversation) || !a.owns(f.Conversation, f.ID, true) {
		return
	}
	_, alias := a.currentAlias()
	e.Conversation, e.From, e.Name, e.Kind = f.Conversation, chat.FromAdvisor, alias, kind
	a.srv.appendMessage(a.sock, e, f.Conversation)
}

func (a *advisor) end(id string) { a.finish(id, chat.EndedByAdvisor) }

// block ends a conversation and blocks its sender for a day. The sender's
// address is never seen here: the visitor's socket, wherever it is,
// stores the block when the ended entry reaches it.
func (a *advisor) block(id string) { a.finish(id, chat.EndedBlocked) }

func (a *advisor) finish(id, reason string) {
	if !a.authorized("", id) || !a.owns(id, "", false) {
		return
	}
	ctx := a.sock.ctx
	// Checked again in the same atomic step that ends it: it may have gone
	// to someone else since owns looked.
	ok, err := a.srv.queue.ReleaseBy(ctx, id, a.name, reason)
	if err != nil {
		a.internal(err, id)
		return
	}
	if !ok {
		a.sock.sendError("not_found", "not one of your open conversations", "", id)
		return
	}
	if _, err := a.srv.store.End(ctx, id, reason); err != nil && !errors.Is(err, chat.ErrEnded) {
		a.internal(err, id)
		return
	}
	a.srv.metrics.ended.WithLabelValues(reason).Inc()

	action := auditEnded
	if reason == chat.EndedBlocked {
		action = auditBlocked
	}
	a.srv.audit(action, a.name, "conversation", id)
}

// authorized checks, before anything the advisor does, that their session
// is still valid and their account still exists: a socket opened with a
// session that has since timed out, or by an account since removed from
// the file, must not act. clientID and conv name the message or
// conversation the request is about, for the error if the check fails.
func (a *advisor) authorized(clientID, conv string) bool {
	_, err := a.srv.sessions.get(a.sock.ctx, a.session)
	if err == nil {
		if _, ok := a.srv.accounts.Lookup(a.name); ok {
			return true
		}
	} else if !errors.Is(err, errNoSession) {
		a.internalFor(err, clientID, conv)
		return false
	}
	a.sock.sendError("unauthorized", "your session has ended; log in again", "", "")
	a.sock.closeAfter(websocket.StatusPolicyViolation, "session ended")
	return false
}

func (a *advisor) internal(err error, conv string) { a.internalFor(err, "", conv) }

// internalFor reports a failed request. A failed message must name its
// client id (and conversation), as the protocol says: the page retries
// that message with the same id; without the id it cannot tell which
// message failed and leaves it pending on a socket that stays open.
func (a *advisor) internalFor(err error, clientID, conv string) {
	if a.sock.ctx.Err() == nil {
		a.sock.log.Error("advisor request failed", "err", err)
	}
	a.sock.sendError("internal", "internal error; retry", clientID, conv)
}
