package web

// The console's conversations: given, followed, written in and ended.

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

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

func conversationInfo(st routing.ConversationState) protocol.ConversationInfo {
	waitedUntil := st.Assigned
	if st.Status != routing.StatusActive || waitedUntil.IsZero() {
		waitedUntil = time.Now()
	}
	return protocol.ConversationInfo{ID: st.ID, Audience: st.Audience, Lang: st.Lang, Priority: st.Priority,
		Waited: max(0, int64(waitedUntil.Sub(st.Enqueued).Seconds()))}
}

// assigned shows a conversation that routing gave this advisor and follows
// its entries from after. It reports stale when the conversation is no
// longer the advisor's open one. Writer goroutine.
func (a *advisor) assigned(ctx context.Context, id string, after int64) (stale bool) {
	if a.followed(id) {
		return false
	}
	st, err := a.srv.queue.State(ctx, id)
	if err != nil || st.Status != routing.StatusActive || st.Advisor != a.name {
		return err == nil // stale event: it has moved on since
	}
	if ok, err := a.srv.auth.StillValid(ctx, a.name, a.session); err == nil && !ok {
		// Not one more conversation on a socket whose session has ended.
		a.sock.SessionEnded()
		return false
	}
	delete(a.offers, id)
	a.sock.WriteJSON(protocol.Assigned{Type: protocol.TypeAssigned, Conversation: conversationInfo(st)})
	a.earlier(ctx, id)
	delete(a.ended, id)
	var at int64
	if after == a.after[id] {
		at = a.at[id] // what the page said of its entry at after
	}
	if err := a.sock.FollowAt(id, after, at); err != nil {
		a.internal(err, id)
	}
	a.refreshStatus(ctx)
	return false
}

// resumed shows a conversation that the advisor's status listed when the
// socket opened. It may have ended (or moved on) between that read and
// this one; the page, which still shows it, then hears it as gone, with
// the visitor's last words and the end, and not nothing: the routing
// event of the end may have come before the socket followed it.
func (a *advisor) resumed(ctx context.Context, id string) {
	if !a.assigned(ctx, id, a.after[id]) {
		return
	}
	if _, shown := a.after[id]; shown {
		a.gone(ctx, id)
	}
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

// owns checks that a conversation is this advisor's, sending the error if
// not. With ended, a conversation they held that has ended counts too: a
// message sent again after a reconnect must get its first copy's ack.
func (a *advisor) owns(id, clientID string, ended bool) bool {
	if !chat.ValidID(id) {
		a.sock.SendError(protocol.CodeBadRequest, "conversation must be a conversation id", clientID, "")
		return false
	}
	gen := a.holds.generation()
	var h holding
	h.status, h.holder, h.err = a.srv.queue.Holder(a.sock.Ctx(), id)
	return a.held(h, id, clientID, ended, gen)
}

// holding is what routing says of a conversation's holder.
type holding struct {
	status, holder string
	err            error
}

// held is owns once the holder has been read, gen being the holds'
// generation before the read: an open conversation of the advisor's is
// leased (holds).
func (a *advisor) held(h holding, id, clientID string, ended bool, gen uint64) bool {
	if h.err != nil {
		a.internalFor(h.err, clientID, id)
		return false
	}
	if ended && h.status == routing.StatusEnded && h.holder == a.name {
		return true // the store acks a duplicate and refuses anything new
	}
	if h.holder != a.name || h.status != routing.StatusActive {
		code := protocol.CodeNotFound
		if h.status == routing.StatusEnded {
			code = protocol.CodeEnded
		}
		a.sock.SendError(code, "not one of your open conversations", clientID, id)
		return false
	}
	a.holds.take(id, gen, a.srv.cfg.SessionLease)
	return true
}

// mayWrite is authorized and owns together, for what the advisor writes
// into a conversation (messages, notes, typing): the session and the
// conversation's holder are read at the same time, two round trips side
// by side instead of one after the other; while the socket's lease on
// its session stands, only the holder; and while its lease on the
// conversation (holds) stands too, neither. What is said when both fail is
// what authorized says, as when they ran in turn.
func (a *advisor) mayWrite(id, clientID string, ended bool) bool {
	leased := a.leased()
	if leased && chat.ValidID(id) && a.holds.has(id) {
		return true
	}
	if !chat.ValidID(id) || leased {
		return a.authorized(clientID, id) && a.owns(id, clientID, ended)
	}
	gen := a.holds.generation()
	read := make(chan holding, 1)
	go func() {
		var h holding
		h.status, h.holder, h.err = a.srv.queue.Holder(a.sock.Ctx(), id)
		read <- h
	}()
	if !a.authorized(clientID, id) {
		<-read // nothing outlives the frame that asked
		return false
	}
	return a.held(<-read, id, clientID, ended, gen)
}

// message stores an advisor's message or, with KindNote, an internal note
// that only advisors and supervisors see; both are acked alike.
func (a *advisor) message(data []byte, kind chat.Kind) {
	f, err := protocol.DecodeMessage(data)
	if err != nil {
		a.sock.SendError(protocol.CodeBadRequest, string(kind)+" needs conversation, id and text", "", "")
		return
	}
	e, code, msg := checkMessage(f)
	if code != "" {
		a.sock.SendError(code, msg, f.ID, f.Conversation)
		return
	}
	if !a.mayWrite(f.Conversation, f.ID, true) {
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
	if !a.mayWrite(id, "", false) {
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
	// Counted once routing has ended it, before the ended entry goes out:
	// whoever hears of the end can read the counts. If storing the end
	// fails, the visitor's socket ends the content (conversations.go).
	a.srv.metrics.ended.WithLabelValues(reason).Inc()
	var outcomes []string
	for _, t := range slices.Compact(slices.Sorted(slices.Values(tags))) {
		a.srv.metrics.outcomes.WithLabelValues(t).Inc()
		outcomes = append(outcomes, routing.FieldOutcome(t))
	}
	a.srv.countReport(ctx, outcomes...)
	if _, err := a.srv.store.End(ctx, id, reason); err != nil && !errors.Is(err, chat.ErrEnded) {
		a.internal(err, id)
		return
	}

	action := auditEnded
	if reason == chat.EndedBlocked {
		action = auditBlocked
	}
	a.srv.audit(action, a.name, "conversation", id)
}
