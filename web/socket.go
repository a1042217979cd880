package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/chat"
)

const (
	// maxFrame is the largest client frame; a larger one closes the socket
	// with 1009. 4000 characters of text fit in it even when every one
	// takes four bytes of UTF-8.
	maxFrame = 16 << 10
	// inboxSize bounds what may wait for a socket's writer. A client that
	// lets it fill is closed (4008) and resumes later; the stream keeps
	// everything it missed.
	inboxSize = 256
	// catchUpPage is how many entries one stream read returns.
	catchUpPage = 200
	// writeTimeout bounds one frame write.
	writeTimeout = 10 * time.Second
	// pingInterval is how often the writer checks that the peer is alive.
	pingInterval = 25 * time.Second
)

// Close codes besides the standard ones.
const statusSlow websocket.StatusCode = 4008

// item is one unit of work for a socket's writer goroutine.
type item struct {
	frame []byte                // a frame to write as is
	conv  string                // with entry or resync: the conversation
	entry []byte                // a published entry (JSON) of conv
	sync  bool                  // re-read conv's stream after the cursor
	fn    func(context.Context) // anything else that must run on the writer
}

// socket is one WebSocket. Exactly one goroutine, the writer, writes to the
// connection; every other goroutine hands it items through the bounded
// inbox without blocking. The writer also owns the per-conversation cursors
// (the highest seq sent), which makes the overlap of stream catch-up and
// live pub/sub entries free of gaps and duplicates.
type socket struct {
	conn  *websocket.Conn
	srv   *Server
	role  string
	log   *slog.Logger
	inbox chan item

	// ctx ends when the socket is to close; the writer then sends the
	// close frame. Reads use readCtx, which outlives ctx until the writer
	// is done: coder/websocket drops the connection without a close frame
	// when a read's context ends.
	ctx        context.Context
	cancel     context.CancelFunc
	readCtx    context.Context
	readCancel context.CancelFunc

	closeOnce   sync.Once
	closeCode   websocket.StatusCode
	closeReason string

	// channel -> conversation for the conversations followed; written by
	// the reader, read by the hub's dispatch goroutine.
	mu       sync.Mutex
	channels map[string]string
	present  string
	session  string // an advisor socket's session id

	// typingAt is when the socket last signalled typing, per
	// conversation. Reader-owned.
	typingAt map[string]time.Time

	// Writer-owned state.
	cursors map[string]int64
	// lastAt is the at of the entry at each cursor, when known: it tells
	// whether the stream still holds the entry the client got last.
	lastAt map[string]int64
	// onEntry, when set, sees every entry after it is written (writer
	// goroutine); the visitor uses it to follow its state.
	onEntry func(ctx context.Context, e chat.Entry)
	// onChannel, when set, gets what arrives on channels other than
	// followed conversations (hub goroutine: must not block); payload is
	// nil after a resubscription.
	onChannel func(channel string, payload []byte)

	writerDone chan struct{}
	// pending coalesces refreshes requested while one is queued.
	pending sync.Map // key string -> *atomic.Bool
}

func newSocket(parent context.Context, srv *Server, conn *websocket.Conn, role string) *socket {
	ctx, cancel := context.WithCancel(parent)
	readCtx, readCancel := context.WithCancel(context.WithoutCancel(parent))
	s := &socket{
		readCtx:    readCtx,
		readCancel: readCancel,
		conn:       conn,
		srv:        srv,
		role:       role,
		log:        srv.log.With("role", role),
		inbox:      make(chan item, inboxSize),
		ctx:        ctx,
		cancel:     cancel,
		channels:   make(map[string]string),
		cursors:    make(map[string]int64),
		lastAt:     make(map[string]int64),
		typingAt:   make(map[string]time.Time),
		writerDone: make(chan struct{}),
	}
	conn.SetReadLimit(maxFrame)
	return s
}

// push hands an item to the writer. A full inbox means the client does not
// read fast enough: it is closed and will resume from its last seq.
func (s *socket) push(it item) {
	select {
	case s.inbox <- it:
	case <-s.ctx.Done():
	default:
		s.srv.metrics.slowClosed.Inc()
		s.close(statusSlow, "too slow, reconnect")
	}
}

// send queues a frame.
func (s *socket) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode frame", "err", err)
		return
	}
	s.push(item{frame: b})
}

// do runs fn on the writer goroutine.
func (s *socket) do(fn func(context.Context)) { s.push(item{fn: fn}) }

// doOnce runs fn on the writer unless a run under the same key is already
// queued: a burst of routing changes costs one refresh.
func (s *socket) doOnce(key string, fn func(context.Context)) {
	v, _ := s.pending.LoadOrStore(key, new(atomic.Bool))
	flag := v.(*atomic.Bool)
	if !flag.CompareAndSwap(false, true) {
		return
	}
	s.do(func(ctx context.Context) {
		flag.Store(false)
		fn(ctx)
	})
}

// closeAfter closes the socket once the frames queued before it are
// written, so an error frame reaches the client before the close.
func (s *socket) closeAfter(code websocket.StatusCode, reason string) {
	s.do(func(context.Context) { s.close(code, reason) })
}

// close ends the socket with code; the first call wins.
func (s *socket) close(code websocket.StatusCode, reason string) {
	s.closeOnce.Do(func() {
		s.closeCode, s.closeReason = code, reason
		s.cancel()
	})
}

// Notify implements chat.Watcher.
func (s *socket) Notify(channel string, payload []byte) {
	if conv, ok := s.following(channel); ok {
		s.push(item{conv: conv, entry: payload})
		return
	}
	if s.onChannel != nil {
		s.onChannel(channel, payload)
	}
}

// Resync implements chat.Watcher.
func (s *socket) Resync(channel string) {
	if conv, ok := s.following(channel); ok {
		s.push(item{conv: conv, sync: true})
		return
	}
	if s.onChannel != nil {
		s.onChannel(channel, nil)
	}
}

func (s *socket) following(channel string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channel]
	return c, ok
}

// watch subscribes the socket to a non-conversation channel.
func (s *socket) watch(channel string) error {
	return s.srv.hub.Watch(s.ctx, channel, s)
}

// follow starts sending conv's entries after seq after: live ones from now
// on, and the stream from after onwards.
func (s *socket) follow(conv string, after int64) error { return s.followAt(conv, after, 0) }

// followAt is follow for a client that also said the at of its entry
// after: if the stream no longer holds that entry, the client is told what
// was lost (see verify) before it gets more.
func (s *socket) followAt(conv string, after, at int64) error {
	ch := s.srv.store.Channel(conv)
	s.mu.Lock()
	_, already := s.channels[ch]
	s.channels[ch] = conv
	s.mu.Unlock()
	if already {
		return nil
	}
	if err := s.srv.hub.Watch(s.ctx, ch, s); err != nil {
		// Followed in name only, the socket would stay deaf to this
		// conversation: close it, and the client resumes with a fresh
		// subscription.
		s.closeAfter(websocket.StatusInternalError, "internal error, reconnect")
		return err
	}
	s.do(func(ctx context.Context) {
		if _, ok := s.cursors[conv]; !ok {
			s.cursors[conv] = after
			if at > 0 && after > 0 {
				s.lastAt[conv] = at
			}
		}
		s.resync(ctx, conv)
	})
	return nil
}

// unfollow stops sending conv's entries.
func (s *socket) unfollow(conv string) {
	ch := s.srv.store.Channel(conv)
	s.mu.Lock()
	_, ok := s.channels[ch]
	delete(s.channels, ch)
	s.mu.Unlock()
	if ok {
		s.srv.hub.Unwatch(ch, s)
	}
	s.do(func(context.Context) {
		delete(s.cursors, conv)
		delete(s.lastAt, conv)
	})
}

func (s *socket) unwatchAll(extra ...string) {
	s.mu.Lock()
	chans := make([]string, 0, len(s.channels)+len(extra))
	for ch := range s.channels {
		chans = append(chans, ch)
	}
	s.channels = map[string]string{}
	s.mu.Unlock()
	for _, ch := range append(chans, extra...) {
		s.srv.hub.Unwatch(ch, s)
	}
}

// writeLoop is the socket's only writer. It ends when the socket's context
// is done, closing the connection with the recorded code.
func (s *socket) writeLoop() {
	defer close(s.writerDone)
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.ctx.Done():
			code, reason := s.closeCode, s.closeReason
			if code == 0 {
				code, reason = websocket.StatusGoingAway, "server going away"
			}
			_ = s.conn.Close(code, reason)
			return
		case <-ping.C:
			ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			err := s.conn.Ping(ctx)
			cancel()
			if err != nil {
				s.close(websocket.StatusGoingAway, "no pong")
			}
		case it := <-s.inbox:
			switch {
			case it.frame != nil:
				s.write(it.frame)
			case it.fn != nil:
				it.fn(s.ctx)
			case it.sync:
				s.resync(s.ctx, it.conv)
			case it.entry != nil:
				s.deliver(it.conv, it.entry)
			}
		}
	}
}

func (s *socket) write(frame []byte) {
	// Not s.ctx: a write cut off by the socket closing would drop the
	// connection before the close frame.
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, frame); err != nil {
		s.close(statusSlow, "write failed")
	}
}

// entryFrame is an entry as the protocol sends it.
type entryFrame struct {
	Type string `json:"type"`
	chat.Entry
}

func (s *socket) writeEntry(ctx context.Context, e chat.Entry) {
	if s.role == roleVisitor && e.Kind == chat.KindNote {
		// Advisors' internal notes never reach the visitor: only that
		// an entry is there, so the seqs stay gap-free.
		e = chat.Entry{Conversation: e.Conversation, Seq: e.Seq, Kind: chat.KindHidden, From: chat.FromSystem, At: e.At}
	}
	b, err := json.Marshal(entryFrame{Type: "entry", Entry: e})
	if err != nil {
		return
	}
	s.write(b)
	s.cursors[e.Conversation] = e.Seq
	s.lastAt[e.Conversation] = e.At
	if s.onEntry != nil {
		s.onEntry(ctx, e)
	}
}

// deliver writes a live entry if it is the next one; an older one is a
// duplicate of what catch-up sent, a newer one means something was missed,
// which the stream fills in.
func (s *socket) deliver(conv string, payload []byte) {
	cur, ok := s.cursors[conv]
	if !ok {
		return
	}
	var e chat.Entry
	if err := json.Unmarshal(payload, &e); err != nil || e.Conversation != conv {
		s.log.Warn("bad entry on conversation channel")
		return
	}
	if e.Kind == kindTyping {
		// Not an entry: the other side is typing. Never stored, so never
		// caught up: a missed one is simply missed.
		if e.From != s.role && (e.From == chat.FromVisitor || e.From == chat.FromAdvisor) {
			b, _ := json.Marshal(typingFrame{Type: "typing", Conversation: conv, From: e.From})
			s.write(b)
		}
		return
	}
	switch {
	case e.Seq == cur && s.lastAt[conv] != 0 && e.At != s.lastAt[conv]:
		// Another entry under the seq the client got last: the stream
		// lost entries in a failover and reused their seqs.
		s.resync(s.ctx, conv)
	case e.Seq <= cur:
	case e.Seq == cur+1:
		s.writeEntry(s.ctx, e)
	default:
		s.catchUp(s.ctx, conv)
	}
}

// kindTyping marks a typing signal on a conversation's channel. It is
// published, never stored, and has no seq.
const kindTyping chat.Kind = "typing"

// typingEvery is how often one socket may signal typing per conversation;
// more often is dropped without an error (the page throttles too).
const typingEvery = 2 * time.Second

// typingFrame tells a client that the other side is typing.
type typingFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	From         string `json:"from"`
}

// typing publishes that this socket's side is typing in conv, at most once
// per typingEvery. Reader goroutine.
func (s *socket) typing(conv string) {
	now := time.Now()
	if last, ok := s.typingAt[conv]; ok && now.Sub(last) < typingEvery {
		return
	}
	s.typingAt[conv] = now
	b, _ := json.Marshal(chat.Entry{Conversation: conv, Kind: kindTyping, From: s.role})
	if err := s.srv.rdb.Publish(s.ctx, s.srv.store.Channel(conv), b).Err(); err != nil && s.ctx.Err() == nil {
		s.log.Debug("publish typing", "err", err)
	}
}

// verifyWindow is how far back from the cursor verify looks for the last
// entry the stream and the client still share. A failover loses the
// entries of the replica lag, well under a second: a handful at most.
const verifyWindow = 64

// resync verifies the cursor and then writes every stored entry after it:
// what a socket does whenever it may have missed something (a new follow, a
// resubscription after the pub/sub connection came back).
func (s *socket) resync(ctx context.Context, conv string) {
	if s.verify(ctx, conv) {
		s.catchUp(ctx, conv)
	}
}

// interruptedFrame tells a client that the entries it holds after Seq are
// no longer stored: a Redis failover lost them (docs/delivery.md).
type interruptedFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Seq          int64  `json:"seq"`
}

// verify checks that the stream still holds the entry the client got last.
// Without replica acks (ADVICECHAT_ACK_REPLICAS=0) a failover can lose the
// newest entries, and the entries written after it take their seqs: a
// client going on from its cursor would never see those and would keep
// the lost ones as if they had been delivered. Found out, the client is
// told with an interrupted frame which seq it can keep up to, and the
// cursor moves back there so the stream's entries after it follow.
//
// Entries are appended in time order and a failover takes seconds, so the
// stream's entries up to the client's last at are the ones both still
// share; a later at under a seq the client has marks a reused seq.
// It reports whether to go on; false means the socket is closing.
func (s *socket) verify(ctx context.Context, conv string) bool {
	cur, ok := s.cursors[conv]
	at := s.lastAt[conv]
	if !ok || cur == 0 || at == 0 {
		return true
	}
	from := max(0, cur-verifyWindow)
	es, err := s.srv.store.After(ctx, conv, from, int(cur-from))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("verify failed", "err", err)
			s.close(websocket.StatusInternalError, "internal error, reconnect")
		}
		return false
	}
	if n := len(es); n > 0 && es[n-1].Seq == cur && es[n-1].At == at {
		return true
	}
	keep, keepAt := from, int64(0)
	if len(es) == 0 {
		// Nothing left in the window: the stream ends before it, or the
		// conversation is gone altogether.
		last, err := s.srv.store.LastSeq(ctx, conv)
		if err != nil {
			if ctx.Err() == nil {
				// Gone (its data lost with the primary, say): the resume
				// after the reconnect says so plainly.
				s.log.Warn("verify: conversation unreadable", "err", err)
				s.close(websocket.StatusInternalError, "internal error, reconnect")
			}
			return false
		}
		keep = min(last, from)
	}
	for _, e := range es {
		if e.Seq >= cur || e.At > at {
			break
		}
		keep, keepAt = e.Seq, e.At
	}
	s.srv.metrics.interrupted.Inc()
	s.log.Warn("entries lost from a conversation's stream; client told", "kept", keep, "had", cur)
	b, _ := json.Marshal(interruptedFrame{Type: "interrupted", Conversation: conv, Seq: keep})
	s.write(b)
	s.cursors[conv] = keep
	if keepAt != 0 {
		s.lastAt[conv] = keepAt
	} else {
		delete(s.lastAt, conv)
	}
	return true
}

// catchUp writes every stored entry after the cursor.
func (s *socket) catchUp(ctx context.Context, conv string) {
	for ctx.Err() == nil {
		cur, ok := s.cursors[conv]
		if !ok {
			return
		}
		es, err := s.srv.store.After(ctx, conv, cur, catchUpPage)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("catch up failed", "err", err)
				s.close(websocket.StatusInternalError, "internal error, reconnect")
			}
			return
		}
		for _, e := range es {
			if _, ok := s.cursors[conv]; !ok {
				return // unfollowed by an entry's handler
			}
			s.writeEntry(ctx, e)
		}
		if len(es) < catchUpPage {
			return
		}
	}
}

// readFrame reads one client frame and decodes its type. A frame that is
// not a JSON object with a string type gets a bad_json error; the caller
// carries on.
func (s *socket) readFrame() (string, []byte, error) {
	typ, data, err := s.conn.Read(s.readCtx)
	if err != nil {
		return "", nil, err
	}
	if typ != websocket.MessageText {
		s.sendError("bad_json", "frames must be JSON text", "", "")
		return "", nil, nil
	}
	// Checked on the raw frame: encoding/json would quietly turn invalid
	// bytes into U+FFFD.
	if !utf8.Valid(data) {
		s.sendError("bad_utf8", "frame is not valid UTF-8", "", "")
		return "", nil, nil
	}
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.Type == nil {
		s.sendError("bad_json", "frame is not a JSON object with a string type", "", "")
		return "", nil, nil
	}
	return *head.Type, data, nil
}

type errorFrame struct {
	Type         string `json:"type"`
	Code         string `json:"code"`
	Message      string `json:"message"`
	ID           string `json:"id,omitempty"`
	Conversation string `json:"conversation,omitempty"`
}

func (s *socket) sendError(code, msg, clientID, conv string) {
	s.srv.metrics.rejected.WithLabelValues(s.role, code).Inc()
	s.send(errorFrame{Type: "error", Code: code, Message: msg, ID: clientID, Conversation: conv})
}

type ackFrame struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Seq          int64  `json:"seq"`
	Conversation string `json:"conversation,omitempty"`
}

// readErr tells whether a read error is the client going away, which is
// not worth a log line.
func readErr(err error) bool {
	return websocket.CloseStatus(err) != -1 || errors.Is(err, context.Canceled)
}

// expectStart closes the socket unless started is called within the
// server's start timeout: a connection that never says who it is holds
// nothing for long.
func (s *socket) expectStart() (started func()) {
	t := time.AfterFunc(s.srv.cfg.StartTimeout, func() {
		s.srv.metrics.rejected.WithLabelValues(s.role, "start_timeout").Inc()
		s.closeAfter(websocket.StatusPolicyViolation, "no start frame")
	})
	return func() { t.Stop() }
}

// setSession records the session an advisor socket was opened with.
func (s *socket) setSession(id string) {
	s.mu.Lock()
	s.session = id
	s.mu.Unlock()
}

func (s *socket) sessionID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session
}

// setPresence records whom the socket keeps present in routing: the
// visitor's conversation or the advisor's name.
func (s *socket) setPresence(id string) {
	s.mu.Lock()
	s.present = id
	s.mu.Unlock()
}

func (s *socket) presence() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.present
}
