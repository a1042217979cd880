package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
)

// offDuty takes an advisor off duty and tells the visitors whose
// conversations went back to the queue.
func (s *Server) offDuty(ctx context.Context, name string) error {
	// The visitors must hear of it even if the socket or request that
	// asked is gone by the time the entries are written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := s.queue.TakeOffDuty(ctx, name)
	if err != nil {
		return err
	}
	for _, id := range res.Requeued {
		s.appendRequeued(ctx, id, chat.RequeuedLeft)
	}
	// Withdrawn offers had no advisor in them yet: nothing to tell.
	s.routing.Requeued(routing.CauseOffDuty, len(res.Requeued)+len(res.Withdrawn))
	s.log.Info("advisor off duty", "advisor", name, "requeued", len(res.Requeued), "withdrawn", len(res.Withdrawn))
	s.audit(auditDutyOff, name, "requeued", len(res.Requeued))
	return nil
}

// advisor is the state of one advisor socket.
type advisor struct {
	srv     *Server
	sock    *socket.Socket
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
	offers    map[string]bool // offered to this advisor, shown on the page
}

func (s *Server) advisorSocket(c *echo.Context) error {
	acct, sid, err := s.session(c)
	if errors.Is(err, errNoSession) {
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
	defer s.release(sock, s.queue.AdvisorChannel(a.name), s.queue.ChangedChannel())
	a.run()
	return nil
}

func (a *advisor) run() {
	ctx := a.sock.Ctx()
	// A reconnect within the grace period keeps the advisor on duty.
	a.sock.SetSession(a.session)
	a.sock.SetPresence(a.name)
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
	advCh, changed := a.srv.queue.AdvisorChannel(a.name), a.srv.queue.ChangedChannel()
	a.sock.OnEntry = a.onEntry
	a.sock.OnChannel = func(channel string, payload []byte) {
		switch channel {
		case changed:
			// Duty may have changed elsewhere too: another tab, the sweep.
			a.sock.DoOnce("queue", a.refreshQueue)
			a.sock.DoOnce("status", a.refreshStatus)
		case advCh:
			a.event(payload)
		}
	}
	if err := a.sock.Watch(advCh); err != nil {
		return err
	}
	if err := a.sock.Watch(changed); err != nil {
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
	mine := make(map[string]bool, len(st.Conversations))
	for _, id := range st.Conversations {
		mine[id] = true
		a.sock.Do(func(ctx context.Context) { a.assigned(ctx, id, a.after[id]) })
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

// gone tells the advisor that a conversation their page knows is no longer
// theirs. Writer goroutine.
func (a *advisor) gone(ctx context.Context, id string) {
	st, err := a.srv.queue.State(ctx, id)
	ended := err == nil && (st.Status == routing.StatusEnded || st.Status == "")
	reason := protocol.ReasonRequeued
	if ended {
		reason = protocol.ReasonEnded
	}
	a.writeUnassigned(id, reason)
	// The page may have missed how a conversation of theirs ended: the
	// visitor's last words, the end itself. Send what came after the
	// page's last seq; onEntry stops following at the end.
	if ended && st.Advisor == a.name {
		if last, err := a.srv.store.LastSeq(ctx, id); err == nil && last > a.after[id] {
			if err := a.sock.FollowAt(id, a.after[id], a.at[id]); err != nil {
				a.internal(err, id)
			}
		}
	}
}

// writeUnassigned tells the page a conversation is no longer the
// advisor's. Writer goroutine.
func (a *advisor) writeUnassigned(id, reason string) {
	a.sock.WriteJSON(protocol.Unassigned{Type: protocol.TypeUnassigned, Conversation: id, Reason: reason})
}

// event handles what routing published for this advisor (hub goroutine).
func (a *advisor) event(payload []byte) {
	if payload == nil {
		// Resubscribed: something may have been missed; re-read all.
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
		a.sock.Do(func(ctx context.Context) { a.unassigned(ctx, ev.Conversation, ev.Reason) })
	case typeLogout:
		a.sock.CloseAfter(protocol.CloseLoggedOut)
	}
}

func conversationInfo(st routing.ConversationState) protocol.ConversationInfo {
	waitedUntil := st.Assigned
	if st.Status != routing.StatusActive || waitedUntil.IsZero() {
		waitedUntil = time.Now()
	}
	return protocol.ConversationInfo{ID: st.ID, Audience: st.Audience, Lang: st.Lang, Priority: st.Priority,
		Waited: max(0, int64(waitedUntil.Sub(st.Enqueued).Seconds()))}
}

// offered shows a conversation routing offers this advisor. Writer
// goroutine.
func (a *advisor) offered(ctx context.Context, id string) {
	if a.offers[id] {
		return
	}
	st, err := a.srv.queue.State(ctx, id)
	if err != nil || st.Status != routing.StatusOffered || st.Advisor != a.name {
		return // stale: expired, taken back or accepted since
	}
	a.sock.WriteJSON(protocol.Offered{Type: protocol.TypeOffered, Conversation: conversationInfo(st), Deadline: st.OfferDeadline.UnixMilli()})
	a.offers[id] = true
	a.refreshStatus(ctx)
}

// take accepts an offer (accept) or takes a waiting conversation from the
// queue by hand (pick). Either way the conversation is the advisor's at
// once: the visitor is told who joined, and the advisor's channel brings
// the conversation to every tab.
func (a *advisor) take(how, id string) {
	if !a.authorized("", id) {
		return
	}
	if !chat.ValidID(id) {
		a.sock.SendError(protocol.CodeBadRequest, how+" needs a conversation id", "", "")
		return
	}
	ctx := a.sock.Ctx()
	var asg routing.Assignment
	var err error
	if how == protocol.TypeAccept {
		asg, err = a.srv.queue.Accept(ctx, id, a.name)
	} else {
		asg, err = a.srv.queue.Pick(ctx, id, a.name)
	}
	if code, msg, ok := protocol.Refusal(err); ok {
		a.sock.SendError(code, msg, "", id)
		if how == protocol.TypeAccept {
			a.sock.Do(func(ctx context.Context) { a.unassigned(ctx, id, protocol.ReasonOfferExpired) })
		}
		return
	} else if err != nil {
		a.internal(err, id)
		return
	}
	if how == protocol.TypeAccept {
		a.srv.routing.OfferAccepted(asg)
	} else {
		a.srv.routing.Picked(asg)
	}
	a.srv.joined(ctx, asg)
}

// transfer hands one of the advisor's conversations to another advisor or
// queue, with an optional internal note for whoever takes it.
func (a *advisor) transfer(data []byte) {
	var f protocol.Transfer
	if err := json.Unmarshal(data, &f); err != nil {
		a.sock.SendError(protocol.CodeBadRequest, "transfer needs conversation and exactly one of to_advisor and to_queue", "", "")
		return
	}
	note, msg := checkTransfer(f)
	if msg != "" {
		a.sock.SendError(protocol.CodeBadRequest, msg, "", f.Conversation)
		return
	}
	if !a.authorized("", f.Conversation) || !a.owns(f.Conversation, "", false) {
		return
	}
	ctx := a.sock.Ctx()
	asg, err := a.srv.queue.Transfer(ctx, f.Conversation, a.name, routing.Target{Advisor: f.ToAdvisor, Queue: f.ToQueue})
	if code, msg, ok := protocol.Refusal(err); ok {
		a.sock.SendError(code, msg, "", f.Conversation)
		return
	} else if err != nil {
		a.internal(err, f.Conversation)
		return
	}
	a.srv.routing.Transferred(asg)
	_, alias := a.currentAlias()
	a.srv.moved(ctx, asg, a.name, alias, note)
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
		a.sock.SessionEnded()
		return
	}
	delete(a.offers, id)
	a.sock.WriteJSON(protocol.Assigned{Type: protocol.TypeAssigned, Conversation: conversationInfo(st)})
	delete(a.ended, id)
	var at int64
	if after == a.after[id] {
		at = a.at[id] // what the page said of its entry at after
	}
	if err := a.sock.FollowAt(id, after, at); err != nil {
		a.internal(err, id)
	}
	a.refreshStatus(ctx)
}

// unassigned tells the advisor a conversation is no longer theirs. An ended
// one stays followed until its ended entry has been sent. Writer goroutine.
func (a *advisor) unassigned(ctx context.Context, id, reason string) {
	if a.offers[id] {
		// An offer that expired, was withdrawn or moved on.
		delete(a.offers, id)
		a.writeUnassigned(id, reason)
		a.refreshStatus(ctx)
		return
	}
	if !a.followed(id) && !a.ended[id] {
		return
	}
	a.writeUnassigned(id, reason)
	if reason != protocol.ReasonEnded || a.ended[id] {
		a.sock.Unfollow(id)
		delete(a.ended, id)
	} else {
		// Read the stream once: the end may be stored but not announced
		// (its wait for replicas timed out).
		a.sock.CatchUp(ctx, id)
	}
	a.refreshStatus(ctx)
}

func (a *advisor) followed(id string) bool { return a.sock.Follows(id) }

// onEntry stops following a conversation once its end has been sent.
func (a *advisor) onEntry(_ context.Context, e chat.Entry) {
	if e.Kind == chat.KindEnded {
		a.ended[e.Conversation] = true
		a.sock.Unfollow(e.Conversation)
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
	for _, id := range a.sock.Followed() {
		if !mine[id] && !a.ended[id] {
			a.unassigned(ctx, id, protocol.ReasonRequeued)
		}
	}
	offered := map[string]bool{}
	for _, id := range st.Offered {
		offered[id] = true
		a.offered(ctx, id)
	}
	for id := range a.offers {
		if !offered[id] {
			a.unassigned(ctx, id, protocol.ReasonOfferExpired)
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
	a.sock.WriteJSON(protocol.Status{Type: protocol.TypeStatus, Duty: st.Duty, Alias: alias, Capacity: capacity, Max: acct.MaxConversations,
		Load: len(st.Conversations), Offered: len(st.Offered), Supervisor: acct.Role == accounts.RoleSupervisor})
}

// refreshQueue sends the queue view if it changed: every queue's count and
// longest wait, the conversations at the front (to pick by hand) and the
// advisors on duty (to transfer to). Writer goroutine.
func (a *advisor) refreshQueue(ctx context.Context) {
	ov, err := a.srv.queue.Overview(ctx)
	if err != nil {
		return
	}
	v := queueView{now: time.Now()}
	var others []protocol.Colleague
	for _, adv := range ov.Advisors {
		if adv.Duty && adv.Name != a.name {
			others = append(others, protocol.Colleague{Name: adv.Name, Alias: adv.Alias, Load: adv.Load() + len(adv.Offers), Capacity: adv.Capacity})
		}
	}
	b, _ := json.Marshal(protocol.Queue{Type: protocol.TypeQueue, Queues: v.queues(ov, false), Waiting: v.waiting(ov, queueViewDepth), Advisors: others})
	if string(b) == string(a.lastQueue) {
		return
	}
	a.lastQueue = b
	a.sock.Write(b)
}

func (a *advisor) duty(on bool, capacity *int) {
	if !a.authorized("", "") {
		return
	}
	ctx := a.sock.Ctx()
	acct, alias := a.currentAlias()
	if fresh, ok := a.srv.accounts.Lookup(a.name); ok {
		acct = fresh // skills and capacity as the accounts file says now
		a.mu.Lock()
		a.acct = fresh
		a.mu.Unlock()
	}
	var err error
	if on {
		// Fewer at once than the account allows, if the advisor says so
		// (a hard case, the end of a shift); never more.
		limit := acct.MaxConversations
		if capacity != nil {
			if *capacity > limit {
				a.sock.SendError(protocol.CodeBadRequest, fmt.Sprintf("capacity %d is above the %d your account allows", *capacity, limit), "", "")
				return
			}
			limit = *capacity
		}
		err = a.srv.queue.OnDuty(ctx, routing.Advisor{Name: a.name, Alias: alias, Capacity: limit, Audiences: acct.Audiences, Languages: acct.Languages})
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
	a.sock.Do(a.refreshStatus)
}

func (a *advisor) setAlias(name string) {
	if !a.authorized("", "") {
		return
	}
	alias, err := chat.CleanDisplayName(name)
	if err != nil {
		a.sock.SendError(protocol.CodeBadRequest, err.Error(), "", "")
		return
	}
	if err := a.srv.queue.SetAlias(a.sock.Ctx(), a.name, alias); err != nil {
		a.internal(err, "")
		return
	}
	a.mu.Lock()
	a.alias = alias
	a.mu.Unlock()
	a.srv.audit(auditAlias, a.name, "alias", alias)
	a.sock.Do(a.refreshStatus)
}

// owns checks that a conversation is this advisor's, sending the error if
// not. With ended, a conversation they held that has ended counts too: a
// message sent again after a reconnect must get its first copy's ack.
func (a *advisor) owns(id, clientID string, ended bool) bool {
	if !chat.ValidID(id) {
		a.sock.SendError(protocol.CodeBadRequest, "conversation must be a conversation id", clientID, "")
		return false
	}
	st, err := a.srv.queue.State(a.sock.Ctx(), id)
	if err != nil {
		a.internalFor(err, clientID, id)
		return false
	}
	if ended && st.Status == routing.StatusEnded && st.Advisor == a.name {
		return true // the store acks a duplicate and refuses anything new
	}
	if st.Advisor != a.name || st.Status != routing.StatusActive {
		code := protocol.CodeNotFound
		if st.Status == routing.StatusEnded {
			code = protocol.CodeEnded
		}
		a.sock.SendError(code, "not one of your open conversations", clientID, id)
		return false
	}
	return true
}

// message stores an advisor's message or, with KindNote, an internal note
// that only advisors and supervisors see; both are acked alike.
func (a *advisor) message(data []byte, kind chat.Kind) {
	var f protocol.Message
	if err := json.Unmarshal(data, &f); err != nil {
		a.sock.SendError(protocol.CodeBadRequest, string(kind)+" needs conversation, id and text", "", "")
		return
	}
	e, code, msg := checkMessage(f)
	if code != "" {
		a.sock.SendError(code, msg, f.ID, f.Conversation)
		return
	}
	if !a.authorized(f.ID, f.Conversation) || !a.owns(f.Conversation, f.ID, true) {
		return
	}
	_, alias := a.currentAlias()
	e.Conversation, e.From, e.Name, e.Kind = f.Conversation, chat.FromAdvisor, alias, kind
	a.srv.appendMessage(a.sock, e, f.Conversation)
}

// typing tells the visitor the advisor is typing. Checked like a message,
// since it reaches the visitor; dropped quietly when it comes too often.
func (a *advisor) typing(id string) {
	if !a.sock.TypingDue(id) {
		return
	}
	if !a.authorized("", id) || !a.owns(id, "", false) {
		return
	}
	a.sock.Typing(id)
}

// unknownTag returns the first tag that is not a configured outcome tag,
// or "".
func (a *advisor) unknownTag(tags []string) string {
	for _, t := range tags {
		if !slices.Contains(a.srv.cfg.OutcomeTags, t) {
			return t
		}
	}
	return ""
}

// finish ends one of the advisor's conversations for reason (ended by the
// advisor, or blocked: then the visitor's socket, wherever it is, stores
// the block when the ended entry reaches it; the sender's address is never
// seen here). The outcome tags are counted, and kept nowhere else.
func (a *advisor) finish(id, reason string, tags []string) {
	if !a.authorized("", id) || !a.owns(id, "", false) {
		return
	}
	ctx := a.sock.Ctx()
	// Checked again in the same atomic step that ends it: it may have gone
	// to someone else since owns looked.
	ok, err := a.srv.queue.ReleaseBy(ctx, id, a.name, reason)
	if err != nil {
		a.internal(err, id)
		return
	}
	if !ok {
		a.sock.SendError(protocol.CodeNotFound, "not one of your open conversations", "", id)
		return
	}
	if _, err := a.srv.store.End(ctx, id, reason); err != nil && !errors.Is(err, chat.ErrEnded) {
		a.internal(err, id)
		return
	}
	a.srv.metrics.ended.WithLabelValues(reason).Inc()
	for _, t := range slices.Compact(slices.Sorted(slices.Values(tags))) {
		a.srv.metrics.outcomes.WithLabelValues(t).Inc()
	}

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
	_, err := a.srv.sessions.get(a.sock.Ctx(), a.session)
	if err == nil {
		if _, ok := a.srv.accounts.Lookup(a.name); ok {
			return true
		}
	} else if !errors.Is(err, errNoSession) {
		a.internalFor(err, clientID, conv)
		return false
	}
	a.sock.SessionEnded()
	return false
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
