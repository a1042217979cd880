package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/keep"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/auth"
	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
)

// waitMinutes rounds an estimate up to whole minutes, at least 1; 0 for
// an unknown one.
func waitMinutes(d time.Duration) int {
	if d < 0 {
		return 0
	}
	return max(1, int((d+time.Minute-1)/time.Minute))
}

// visitor is the state of one visitor socket. conv is set once by the
// reader; advisor and last belong to the writer goroutine.
type visitor struct {
	srv     *Server
	sock    *socket.Socket
	conv    string
	advisor string
	last    protocol.State
	// startKey and blockKeys stand for the client's address, which the
	// socket does not keep: an HMAC for the start limit, and the block
	// keys an advisor's block is stored under.
	startKey  string
	blockKeys senderKeys
	// replayUntil is the last seq stored when the socket attached: entries
	// up to it are history being replayed, and the state comes from
	// routing, not from them.
	replayUntil int64
	// pending is the routing state the instance read last after a
	// change (statepush.go), for the writer to take.
	pending pushed
}

func (s *Server) visitorSocket(c *echo.Context) error {
	// A client a trusted proxy did not name gets no keys: it is neither
	// limited nor blockable, rather than sharing the proxy's keys.
	var startKey string
	var blockKeys senderKeys
	if addr := auth.ClientAddr(c.Request(), s.cfg.TrustedProxies); addr != "" {
		startKey, blockKeys = s.starts.keyer.Key(addr), s.blocks.keys(addr)
	}
	if !s.clientSockets.open(startKey) {
		s.metrics.Rejected(socket.RoleVisitor, protocol.CodeTooManySockets)
		return echo.NewHTTPError(http.StatusTooManyRequests, "too many open connections from your network; close some tabs")
	}
	sock, err := s.accept(c, socket.RoleVisitor, false)
	if err != nil || sock == nil {
		s.clientSockets.closed(startKey)
		return err
	}
	v := &visitor{srv: s, sock: sock, startKey: startKey, blockKeys: blockKeys}
	s.serve(sock, func() {
		defer s.clientSockets.closed(startKey)
		defer s.release(sock)
		defer func() {
			if v.conv != "" {
				s.states.untrack(v)
			}
		}()
		v.run()
	})
	return nil
}

func (v *visitor) run() {
	started := v.sock.ExpectStart()
	defer started()
	for {
		typ, data, err := v.sock.ReadFrame()
		if err != nil {
			if !socket.GoneAway(err) {
				// Connection errors name both ends' addresses.
				v.sock.Log().Debug("read", "err", RedactAddrs(err.Error()))
			}
			return
		}
		switch {
		case typ == "":
			// bad_json was sent
		case v.conv == "" && typ == protocol.TypeStart:
			v.start(data)
			if v.conv != "" {
				started()
			}
		case v.conv == "" && typ == protocol.TypeResume:
			v.resume(data)
			if v.conv != "" {
				started()
			}
		case v.conv == "" && (typ == protocol.TypeMessage || typ == protocol.TypeEnd):
			v.sock.SendError(protocol.CodeNotStarted, "send start or resume first", "", "")
		case v.conv != "" && (typ == protocol.TypeStart || typ == protocol.TypeResume):
			v.sock.SendError(protocol.CodeBadRequest, "this socket already has a conversation", "", "")
		case typ == protocol.TypeTyping:
			if v.conv == "" {
				v.sock.SendError(protocol.CodeNotStarted, "send start or resume first", "", "")
			} else {
				v.sock.Typing(v.conv)
			}
		case typ == protocol.TypeMessage:
			v.message(data)
		case typ == protocol.TypeEnd:
			v.end()
		default:
			v.sock.SendError(protocol.CodeUnknownType, "unknown frame type", "", "")
		}
	}
}

func (v *visitor) start(data []byte) {
	var f protocol.Start
	if err := json.Unmarshal(data, &f); err != nil {
		v.sock.SendError(protocol.CodeBadRequest, "start needs audience and lang", "", "")
		return
	}
	if err := chat.ValidAudience(f.Audience); err != nil {
		v.sock.SendError(protocol.CodeBadRequest, err.Error(), "", "")
		return
	}
	if !v.srv.pages.supports(f.Lang) {
		v.sock.SendError(protocol.CodeBadRequest, "lang must be one of "+strings.Join(v.srv.pages.langs, ", "), "", "")
		return
	}
	if now := v.srv.now(); !v.srv.hours.Open(now) {
		msg := "the chat is closed"
		if at, ok := v.srv.hours.NextOpen(now); ok {
			msg += "; it opens again at " + at.Format(time.RFC3339)
		}
		v.sock.SendError(protocol.CodeClosed, msg, "", "")
		return
	}
	ctx := v.sock.Ctx()
	blocked, err := v.srv.blocks.blocked(ctx, v.blockKeys)
	if err != nil {
		v.internal(err)
		return
	}
	if blocked {
		v.sock.SendError(protocol.CodeUnavailable, "this chat cannot take a conversation from you now; in danger call 112", "", "")
		return
	}
	if !f.Urgent && v.srv.cfg.BusyWait > 0 {
		// Better told now than after an hour in the queue; someone in
		// danger queues whatever the wait, before everybody else.
		wait, known, err := v.srv.queue.ExpectedWaitFor(ctx, routing.Need{Audience: f.Audience, Lang: f.Lang, NoFallback: f.Fallback != nil && !*f.Fallback})
		if err != nil {
			v.internal(err)
			return
		}
		if known && wait > v.srv.cfg.BusyWait {
			v.sock.SendError(protocol.CodeBusy, fmt.Sprintf("the chat is very busy: the wait would be about %d minutes; try again later", waitMinutes(wait)), "", "")
			return
		}
	}
	if !v.srv.starts.allow(v.startKey) {
		v.sock.SendError(protocol.CodeRateLimited, "too many new conversations; wait a few minutes", "", "")
		return
	}
	// Back with a return code: the new conversation continues the thread
	// kept under it, and prefers the advisor who had it.
	var kept keep.Keys
	var thread keep.Thread
	if f.Code != "" {
		if !v.srv.codes.allow(v.startKey) {
			v.sock.SendError(protocol.CodeRateLimited, "too many codes tried; wait a few minutes", "", "")
			return
		}
		var err error
		kept, thread, err = v.srv.vault.Open(ctx, f.Code)
		if errors.Is(err, keep.ErrUnknown) {
			v.srv.metrics.codes.WithLabelValues("unknown").Inc()
			v.sock.SendError(protocol.CodeUnknownCode, keep.ErrUnknown.Error(), "", "")
			return
		}
		if err != nil {
			v.internal(err)
			return
		}
	}
	id, token := chat.NewID(), chat.NewToken()
	conv := chat.Conversation{ID: id, Audience: f.Audience, Lang: f.Lang, Created: time.Now(), TokenHash: chat.HashToken(token)}
	if f.Code != "" {
		conv.Keep, conv.Returning = kept.Encode(), true
	}
	if err := v.srv.store.Create(ctx, conv); err != nil {
		v.internal(err)
		return
	}
	need := routing.Need{Audience: f.Audience, Lang: f.Lang, NoFallback: f.Fallback != nil && !*f.Fallback}
	if f.Urgent {
		need.Priority = routing.PriorityUrgent
		v.srv.metrics.urgent.Inc()
	}
	if f.Code != "" {
		need.Prefer, need.PreferFor = thread.Advisor, v.srv.cfg.ReturnPrefer
		v.srv.metrics.codes.WithLabelValues("started").Inc()
	}
	if _, err := v.srv.queue.Enqueue(ctx, id, need); err != nil {
		// Not in the queue, so nobody would ever answer it.
		_, _ = v.srv.store.End(context.WithoutCancel(ctx), id, chat.EndedAbandoned)
		v.internal(err)
		return
	}
	v.srv.metrics.started.Inc()
	fields := []string{routing.FieldStarted(f.Audience, f.Lang)}
	if f.Urgent {
		fields = append(fields, routing.FieldUrgent)
	}
	v.srv.countReport(ctx, fields...)
	v.sock.Send(protocol.Started{Type: protocol.TypeStarted, Conversation: id, Token: token})
	v.attach(id, 0, 0)
}

func (v *visitor) resume(data []byte) {
	if !v.srv.resumes.allow(v.startKey) {
		v.sock.Refuse(protocol.CodeRateLimited, "too many reconnects; wait a few seconds", protocol.CloseTryLater)
		return
	}
	var f protocol.Resume
	if err := json.Unmarshal(data, &f); err != nil || !chat.ValidID(f.Conversation) || f.Token == "" || f.After < 0 || f.At < 0 {
		v.sock.SendError(protocol.CodeBadRequest, "resume needs conversation, token, after >= 0 and at >= 0", "", "")
		return
	}
	ctx := v.sock.Ctx()
	conv, err := v.srv.store.Get(ctx, f.Conversation)
	if errors.Is(err, chat.ErrNotFound) {
		v.sock.SendError(protocol.CodeNotFound, "no such conversation; it may have been deleted", "", f.Conversation)
		v.sock.CloseAfter(protocol.CloseUnknownConversation)
		return
	}
	if err != nil {
		v.internal(err)
		return
	}
	if !chat.TokenMatches(f.Token, conv.TokenHash) {
		v.sock.SendError(protocol.CodeUnauthorized, "token does not match the conversation", "", "")
		v.sock.CloseAfter(protocol.CloseBadToken)
		return
	}
	last, err := v.srv.store.LastSeq(ctx, f.Conversation)
	if err != nil {
		v.internal(err)
		return
	}
	if f.After > last && f.At == 0 {
		v.sock.SendError(protocol.CodeBadRequest, "after is beyond the last entry of the conversation", "", f.Conversation)
		return
	}
	if conv.Ended && f.After == last {
		v.sock.Send(protocol.State{Type: protocol.TypeState, Status: routing.StatusEnded})
		v.sock.CloseAfter(protocol.CloseEnded)
		return
	}
	// Back within the grace period: the abandoned deadline starts again.
	if err := v.srv.queue.TouchVisitors(ctx, f.Conversation); err != nil {
		v.internal(err)
		return
	}
	v.replayUntil = last
	// With at, a client beyond the stream's last entry holds entries that a
	// failover lost: it is told so (interrupted) instead of refused.
	v.attach(f.Conversation, f.After, f.At)
}

// attach makes the socket the visitor's: it follows the conversation from
// after, keeps the visitor present, and tells the state.
func (v *visitor) attach(id string, after, at int64) {
	v.conv = id
	v.sock.SetPresence(id)
	v.sock.OnEntry = v.onEntry
	v.sock.BeforeEntry = v.beforeEntry
	// The instance reads its visitors' states after each routing change
	// and hands this socket its own when it changed (statepush.go).
	v.sock.Do(v.refresh)
	if err := v.srv.states.track(v); err != nil {
		v.internal(err)
		return
	}
	if err := v.sock.FollowAt(id, after, at); err != nil {
		v.internal(err)
		return
	}
	// One socket per conversation: an older one, on any instance, closes
	// (another tab, or a client that resumed on a new socket).
	v.sock.TakeOver(id)
}

// beforeEntry stores the sender's block before the visitor's page learns
// that an advisor ended the conversation with a block: a start right
// after it must find the block. Only this socket knows the sender's block
// keys. Stored even if the socket is closing: the block must not hang on
// the visitor staying to read it. Writer goroutine.
func (v *visitor) beforeEntry(ctx context.Context, e chat.Entry) {
	if e.Kind != chat.KindEnded || e.Reason != chat.EndedBlocked {
		return
	}
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := v.srv.blocks.block(bctx, v.blockKeys); err != nil {
		v.sock.Log().Warn("store a block", "err", err)
	}
}

// onEntry turns the conversation's system entries into state frames. It
// runs on the writer goroutine.
func (v *visitor) onEntry(ctx context.Context, e chat.Entry) {
	if e.Seq <= v.replayUntil && e.Kind != chat.KindEnded {
		return
	}
	switch e.Kind {
	case chat.KindJoined:
		v.advisor = e.Name
		v.setState(protocol.State{Type: protocol.TypeState, Status: routing.StatusActive, Advisor: e.Name})
	case chat.KindRequeued:
		v.advisor = ""
		v.refresh(ctx)
	case chat.KindTransferred:
		// To another advisor: they are in the conversation at once. To a
		// queue: waiting again, at the front.
		v.advisor = e.Name
		if e.Name != "" {
			v.setState(protocol.State{Type: protocol.TypeState, Status: routing.StatusActive, Advisor: e.Name})
		} else {
			v.refresh(ctx)
		}
	case chat.KindEnded:
		v.setState(protocol.State{Type: protocol.TypeState, Status: routing.StatusEnded, Reason: e.Reason})
		v.sock.Close(protocol.CloseEnded)
	}
}

// refresh reads the conversation's routing state and sends it if it
// changed: the queue position while waiting, above all. Writer goroutine.
func (v *visitor) refresh(ctx context.Context) {
	if v.last.Status == routing.StatusEnded {
		return
	}
	st, err := v.srv.queue.State(ctx, v.conv)
	if err != nil {
		if ctx.Err() == nil {
			v.sock.Log().Warn("read state", "err", err)
		}
		return
	}
	v.apply(ctx, st)
}

// pushState hands the writer a state the instance read after a routing
// change; a newer one replaces it if the writer has not taken it yet.
func (v *visitor) pushState(st routing.ConversationState) {
	v.pending.Store(&st)
	v.sock.DoOnce("state", v.takePushed)
}

// takePushed shows a pushed state. A new position, wait or away notice
// within the status the page shows is shown as it is; a new status (an
// assignment whose joined entry has not come, a conversation routing let
// go of) is read again here, on the writer, so that a state read before
// an entry this socket has already written never undoes it. Writer
// goroutine.
func (v *visitor) takePushed(ctx context.Context) {
	st := v.pending.Swap(nil)
	if st == nil || v.last.Status == routing.StatusEnded {
		return
	}
	same := false
	switch st.Status {
	case routing.StatusWaiting, routing.StatusOffered:
		same = v.last.Status == routing.StatusWaiting && v.advisor == ""
	case routing.StatusActive:
		same = v.last.Status == routing.StatusActive && v.advisor != ""
	}
	if !same {
		v.refresh(ctx)
		return
	}
	v.apply(ctx, *st)
}

// apply shows a state read from routing. Writer goroutine.
func (v *visitor) apply(ctx context.Context, st routing.ConversationState) {
	switch st.Status {
	case routing.StatusWaiting:
		v.setState(protocol.State{Type: protocol.TypeState, Status: st.Status, Position: st.Position, Wait: waitMinutes(st.EstimatedWait)})
	case routing.StatusOffered:
		// An advisor is about to take it: next in line, as far as the
		// visitor is concerned.
		v.setState(protocol.State{Type: protocol.TypeState, Status: routing.StatusWaiting, Position: 1, Wait: 1})
	case routing.StatusEnded, "":
		// Routing let go of it, but the conversation has not got its end
		// (an instance died between the two, or the one ending it is
		// about to write it): end it, for the reason routing kept.
		reason := st.Reason
		if reason == "" {
			reason = chat.EndedAbandoned
		}
		_, err := v.srv.store.End(ctx, v.conv, reason)
		if err != nil && !errors.Is(err, chat.ErrEnded) && !errors.Is(err, chat.ErrNotFound) && ctx.Err() == nil {
			v.sock.Log().Warn("end a conversation routing released", "err", err)
		}
	case routing.StatusActive:
		if v.advisor == "" {
			// Joined before the client's resume point, or the joined
			// entry is still on its way.
			as, err := v.srv.queue.AdvisorStatus(ctx, st.Advisor)
			if err != nil {
				return
			}
			v.advisor = as.Alias
		}
		f := protocol.State{Type: protocol.TypeState, Status: st.Status, Advisor: v.advisor}
		if st.AdvisorAway {
			// Their console is gone; they may come back within the grace,
			// or the conversation goes back to the queue.
			f.Reason = reasonAdvisorAway
		}
		v.setState(f)
	}
}

func (v *visitor) setState(f protocol.State) {
	if f == v.last {
		return
	}
	v.last = f
	v.sock.WriteJSON(f)
}

func (v *visitor) message(data []byte) {
	f, err := protocol.DecodeMessage(data)
	if err != nil {
		v.sock.SendError(protocol.CodeBadRequest, "message needs id and text", "", "")
		return
	}
	e, code, msg := checkMessage(f)
	if code != "" {
		v.sock.SendError(code, msg, f.ID, "")
		return
	}
	e.Conversation, e.From = v.conv, chat.FromVisitor
	v.srv.appendMessage(v.sock, e, "")
}

// end ends the conversation: first its content (so it can never be left
// open with nobody to read it), then its place in routing. If the second
// step fails, the visitor's heartbeats stop and the sweep releases it.
func (v *visitor) end() {
	ctx := v.sock.Ctx()
	_, err := v.srv.store.End(ctx, v.conv, chat.EndedByVisitor)
	switch {
	case errors.Is(err, chat.ErrEnded), errors.Is(err, chat.ErrNotFound):
		v.sock.Send(protocol.State{Type: protocol.TypeState, Status: routing.StatusEnded})
		v.sock.CloseAfter(protocol.CloseEnded)
	case errors.Is(err, chat.ErrNotReplicated):
		// Stored and announced, only not on a replica yet: the end stands,
		// so routing must let go too.
	case err != nil:
		v.internal(err)
		return
	default:
		v.srv.metrics.ended.WithLabelValues(chat.EndedByVisitor).Inc()
	}
	was, _, _, err := v.srv.queue.Release(context.WithoutCancel(ctx), v.conv)
	if err != nil {
		v.sock.Log().Warn("release an ended conversation", "err", err)
	}
	v.srv.routing.Released(was)
}

func (v *visitor) internal(err error) {
	if v.sock.Ctx().Err() == nil {
		v.sock.Log().Error("visitor request failed", "err", err)
	}
	v.sock.SendError(protocol.CodeInternal, "internal error; retry", "", "")
	if v.conv == "" {
		// A start or resume failed: close so the client retries with
		// backoff, instead of idling into the start timeout, whose 1008
		// would read as a bad token.
		v.sock.CloseAfter(protocol.CloseInternal)
	}
}

// bucket is a token bucket; it is used by one goroutine only. (The
// visitor's message rate is kept by the store's append script, per
// conversation, across sockets and instances.)
type bucket struct {
	tokens, burst, rate float64
	last                time.Time
}

func newBucket(burst, rate float64) bucket { return bucket{tokens: burst, burst: burst, rate: rate} }

func (b *bucket) allow(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
