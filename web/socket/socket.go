// Package socket is the transport of the service's WebSockets: one socket
// with exactly one writer goroutine, its bounded inbox, and the
// per-conversation cursors that make stream catch-up and live entries
// meet without gaps or duplicates. It knows the chat store and the hub,
// never the surfaces (visitor, console, supervisor view) built on it.
package socket

import (
	"bytes"
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
	"github.com/advicechat/advicechat/web/protocol"
)

const (
	// MaxFrame is the largest client frame; a larger one closes the socket
	// with 1009. 4000 characters of text fit in it even when every one
	// takes four bytes of UTF-8.
	MaxFrame = 16 << 10
	// inboxSize bounds what may wait for a socket's writer. A client that
	// lets it fill is closed (4008) and resumes later; the stream keeps
	// everything it missed.
	inboxSize = 256
	// catchUpPage is how many entries one stream read returns.
	catchUpPage = 200
)

// Variables only so that the tests can shorten them.
var (
	// writeTimeout bounds one frame write.
	writeTimeout = 10 * time.Second
	// pingInterval is how often a socket checks that its peer is alive.
	pingInterval = 25 * time.Second
	// writerLinger is how long a writer goroutine with nothing to do
	// waits for more before it ends: a conversation's next frame usually
	// comes sooner, and the goroutine's start is not paid per frame.
	writerLinger = 2 * time.Second
)

// The roles of a socket, as metrics and logs name them. A visitor's socket
// never gets an internal note.
const (
	RoleVisitor    = chat.FromVisitor
	RoleAdvisor    = chat.FromAdvisor
	RoleSupervisor = "supervisor"
)

// Metrics counts what happens to sockets.
type Metrics interface {
	// Rejected counts a refused frame or handshake by role and code.
	Rejected(role string, code protocol.Code)
	// SlowClosed counts a socket closed because its inbox was full.
	SlowClosed()
	// Interrupted counts a client told of entries lost in a failover.
	Interrupted()
}

// Deps are what a socket is built on.
type Deps struct {
	Hub     *chat.Hub
	Store   chat.Store
	Log     *slog.Logger
	Metrics Metrics
	// StartTimeout is how long a new socket may stay silent before its
	// first frame (start, resume or hello); it must be above zero.
	StartTimeout time.Duration
}

// item is one unit of work for a socket's writer goroutine.
type item struct {
	frame []byte                // a frame to write as is
	conv  string                // with entry or resync: the conversation
	entry *published            // a published entry of conv
	sync  bool                  // re-read conv's stream after the cursor
	fn    func(context.Context) // anything else that must run on the writer
}

// Socket is one WebSocket. Exactly one goroutine, the writer, writes to the
// connection; every other goroutine hands it items through the bounded
// inbox without blocking. The writer also owns the per-conversation cursors
// (the highest seq sent), which makes the overlap of stream catch-up and
// live pub/sub entries free of gaps and duplicates.
type Socket struct {
	conn  *websocket.Conn
	deps  Deps
	role  string
	inbox inbox

	// ctx ends when the socket is to close; the writer then sends the
	// close frame, and the close ends the reader's read. Reads take no
	// context of their own: coder/websocket drops the connection without
	// a close frame when a read's context ends, and registers with a
	// context that can end at every read.
	ctx    context.Context
	cancel context.CancelFunc

	closeOnce sync.Once
	closing   protocol.Close

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
	// OnEntry, when set, sees every entry after it is written (writer
	// goroutine); the visitor uses it to follow its state. BeforeEntry,
	// when set, sees it before: what must be done before the client can
	// know of the entry. Set them before the first Follow.
	OnEntry, BeforeEntry func(ctx context.Context, e chat.Entry)
	// OnChannel, when set, gets what arrives on channels other than
	// followed conversations (hub goroutine: must not block); payload is
	// nil after a resubscription. Set it before the first Watch.
	OnChannel func(channel string, payload []byte)

	// EntryAcks: the client takes its own stored entry for the ack of its
	// message (docs/protocol.md, "Entry acks"). Set before Start.
	EntryAcks bool

	// nonce tells this socket's takeover signals from others'.
	nonce string
	// claimedAt is when a visitor socket took its conversation (Unix ms,
	// set as it starts to follow it): of two sockets the one that came
	// later keeps the conversation, however late the other's takeover
	// signal arrives.
	claimedAt atomic.Int64

	writerDone chan struct{}
	// ping checks the peer; armed by Start.
	ping *time.Timer
	// stuck drops the connection when one frame's write takes longer than
	// writeTimeout: armed before each write, stopped after. Made at the
	// first write. Writer goroutine.
	stuck *time.Timer
	// pending coalesces refreshes requested while one is queued.
	pending sync.Map // key string -> *atomic.Bool
}

// New makes a socket of conn for role; it ends when parent does. Run its
// writer with Run, and call Finish once its reader is done.
func New(parent context.Context, d Deps, conn *websocket.Conn, role string) *Socket {
	ctx, cancel := context.WithCancel(parent)
	s := &Socket{
		conn:       conn,
		deps:       d,
		role:       role,
		inbox:      inbox{ready: make(chan struct{}, 1)},
		ctx:        ctx,
		cancel:     cancel,
		channels:   make(map[string]string),
		cursors:    make(map[string]int64),
		lastAt:     make(map[string]int64),
		typingAt:   make(map[string]time.Time),
		writerDone: make(chan struct{}),
		nonce:      chat.NewID(),
	}
	conn.SetReadLimit(MaxFrame)
	return s
}

// push hands an item to the writer. A full inbox means the client does not
// read fast enough: it is closed and will resume from its last seq.
func (s *Socket) push(it item) {
	if s.ctx.Err() != nil {
		return
	}
	ok, start := s.inbox.put(it)
	if !ok {
		s.deps.Metrics.SlowClosed()
		s.Close(protocol.CloseSlow)
		return
	}
	if start {
		go s.write()
	}
}

// inbox is what waits for a socket's writer, in order, at most inboxSize
// items. It holds memory only for what waits: an idle socket's inbox is
// empty and has no buffer (a buffered channel of inboxSize items would
// keep 16 KiB per socket however idle). It also knows whether a writer
// goroutine runs: one is started when an item comes and none runs, and it
// ends after writerLinger with nothing to do, so an idle socket holds no
// writer goroutine and no stack for it.
type inbox struct {
	mu    sync.Mutex
	items []item // items[head:] wait
	head  int
	// ready has a signal while items may wait.
	ready chan struct{}
	// running: a writer goroutine is on; closed: the writer has closed
	// the connection, and none starts again.
	running, closed bool
}

// put adds an item, or reports false when inboxSize already wait. start
// is true when no writer runs: the caller starts one.
func (b *inbox) put(it item) (ok, start bool) {
	b.mu.Lock()
	if len(b.items)-b.head >= inboxSize {
		b.mu.Unlock()
		return false, false
	}
	if b.head > 0 && len(b.items) == cap(b.items) {
		// Move what waits to the front rather than grow.
		n := copy(b.items, b.items[b.head:])
		clear(b.items[n:])
		b.items, b.head = b.items[:n], 0
	}
	b.items = append(b.items, it)
	start = b.claim()
	b.mu.Unlock()
	if !start {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
	return true, start
}

// claim marks a writer as running unless one runs or the socket is
// closed, and reports whether the caller is to start it. b.mu is held.
func (b *inbox) claim() bool {
	if b.running || b.closed {
		return false
	}
	b.running = true
	return true
}

// start reports whether a writer is to be started for the socket closing.
func (b *inbox) start() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.claim()
}

// stop ends the running writer unless something waits or the socket is
// closing (ctx done), and reports whether it ended. Checked under the
// lock, so an item put or a close begun after it starts a new writer.
func (b *inbox) stop(ctx context.Context) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.head < len(b.items) || ctx.Err() != nil {
		return false
	}
	b.running = false
	b.items, b.head = nil, 0 // an idle socket keeps no buffer
	return true
}

// take removes the first item waiting; ok is false when none waits. Once
// empty, a buffer grown for a burst is let go.
func (b *inbox) take() (it item, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.head == len(b.items) {
		return item{}, false
	}
	it = b.items[b.head]
	b.items[b.head] = item{}
	b.head++
	if b.head == len(b.items) {
		b.head = 0
		if cap(b.items) > inboxKeep {
			b.items = nil
		} else {
			b.items = b.items[:0]
		}
	}
	return it, true
}

// inboxKeep is the largest buffer an emptied inbox keeps.
const inboxKeep = 8

// Send queues a frame.
func (s *Socket) Send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.Log().Error("encode frame", "err", err)
		return
	}
	s.push(item{frame: b})
}

// Ack tells the client its message or note was stored as e. A
// client with entry acks gets the entry itself instead of an ack frame
// when it is the next one the socket would write (one frame where there
// were two: the ack, then the entry as it came back from the
// conversation's channel, which is then dropped by its seq), nothing
// when the entry has already been written, and the ack frame otherwise:
// when entries before it have not come yet, for a duplicate, and for a
// conversation the socket does not follow.
func (s *Socket) Ack(e chat.Entry, dup bool, conv string) {
	ack := protocol.Ack{Type: protocol.TypeAck, ID: e.ClientID, Seq: e.Seq, Conversation: conv}
	if !s.EntryAcks || dup || e.Seq < 1 {
		s.Send(ack)
		return
	}
	s.Do(func(ctx context.Context) {
		cur, ok := s.cursors[e.Conversation]
		switch {
		case ok && e.Seq == cur+1:
			s.writeEntry(ctx, e)
		case ok && e.Seq <= cur:
			// Written already, as it came back from the channel.
		default:
			s.WriteJSON(ack)
		}
	})
}

// Do runs fn on the writer goroutine.
func (s *Socket) Do(fn func(context.Context)) { s.push(item{fn: fn}) }

// DoOnce runs fn on the writer unless a run under the same key is already
// queued: a burst of routing changes costs one refresh.
func (s *Socket) DoOnce(key string, fn func(context.Context)) {
	v, _ := s.pending.LoadOrStore(key, new(atomic.Bool))
	flag := v.(*atomic.Bool)
	if !flag.CompareAndSwap(false, true) {
		return
	}
	s.Do(func(ctx context.Context) {
		flag.Store(false)
		fn(ctx)
	})
}

// CloseAfter closes the socket once the frames queued before it are
// written, so an error frame reaches the client before the close.
func (s *Socket) CloseAfter(c protocol.Close) {
	s.Do(func(context.Context) { s.Close(c) })
}

// Close ends the socket with c; the first call wins.
func (s *Socket) Close(c protocol.Close) {
	s.closeOnce.Do(func() {
		s.closing = c
		s.cancel()
	})
}

// Refuse sends an error frame and then closes the socket with c.
func (s *Socket) Refuse(code protocol.Code, msg string, c protocol.Close) {
	s.SendError(code, msg, "", "")
	s.CloseAfter(c)
}

// SessionEnded tells an advisor's or supervisor's client that its session
// is over and closes the socket: what every check of a session ends in.
func (s *Socket) SessionEnded() {
	s.Refuse(protocol.CodeUnauthorized, "your session has ended; log in again", protocol.CloseSessionEnded)
}

// Ctx ends when the socket is to close.
func (s *Socket) Ctx() context.Context { return s.ctx }

// Log is the socket's logger.
// Made when asked: a socket logs rarely, and a logger kept per socket
// would cost every idle socket its attributes.
func (s *Socket) Log() *slog.Logger { return s.deps.Log.With("role", s.role) }

// Role is the socket's role.
func (s *Socket) Role() string { return s.role }

// Done is closed when the writer has closed the connection.
func (s *Socket) Done() <-chan struct{} { return s.writerDone }

// Finish undoes what the socket set up once its reader is done: it closes
// the socket if still open, waits for the writer, and stops following
// every conversation and channel (extra are channels watched with Watch).
func (s *Socket) Finish(extra ...string) {
	s.Close(protocol.CloseNormal)
	<-s.writerDone
	s.unwatchAll(extra...)
}

// published is an entry as it came from pub/sub, decoded and encoded as
// a frame once for every socket of the instance that follows its
// conversation: the hub hands all of them the same payload.
type published struct {
	e     chat.Entry
	bad   bool   // not an entry
	frame []byte // the entry frame, as every socket but a visitor's for a note sends it
}

// lastPublished is the payload decoded last (a copy) and what it gave.
// The hub calls Notify for every watcher of a channel in turn with one
// payload, so the first socket decodes it and the others find it here.
var lastPublished struct {
	sync.Mutex
	payload []byte
	p       *published
}

func decodePublished(payload []byte) *published {
	lastPublished.Lock()
	defer lastPublished.Unlock()
	if lastPublished.p != nil && bytes.Equal(lastPublished.payload, payload) {
		return lastPublished.p
	}
	p := &published{}
	var err error
	if p.e, err = chat.DecodeEntry(payload); err != nil {
		p.bad = true
	} else if p.e.Kind != chat.KindTyping && p.e.Kind != chat.KindTakeover {
		if p.frame, err = json.Marshal(protocol.Entry{Type: protocol.TypeEntry, Entry: p.e}); err != nil {
			p.bad = true
		}
	}
	lastPublished.payload, lastPublished.p = bytes.Clone(payload), p
	return p
}

// Notify implements chat.Watcher.
func (s *Socket) Notify(channel string, payload []byte) {
	if conv, ok := s.following(channel); ok {
		s.push(item{conv: conv, entry: decodePublished(payload)})
		return
	}
	if s.OnChannel != nil {
		s.OnChannel(channel, payload)
	}
}

// Resync implements chat.Watcher.
func (s *Socket) Resync(channel string) {
	if conv, ok := s.following(channel); ok {
		s.push(item{conv: conv, sync: true})
		return
	}
	if s.OnChannel != nil {
		s.OnChannel(channel, nil)
	}
}

func (s *Socket) following(channel string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channel]
	return c, ok
}

// Follows reports whether the socket follows conv.
func (s *Socket) Follows(conv string) bool {
	_, ok := s.following(s.deps.Store.Channel(conv))
	return ok
}

// Watch subscribes the socket to a non-conversation channel.
func (s *Socket) Watch(channel string) error {
	return s.deps.Hub.Watch(s.ctx, channel, s)
}

// Follow starts sending conv's entries after seq after: live ones from now
// on, and the stream from after onwards.
func (s *Socket) Follow(conv string, after int64) error { return s.FollowAt(conv, after, 0) }

// FollowAt is Follow for a client that also said the at of its entry
// after: if the stream no longer holds that entry, the client is told what
// was lost (see verify) before it gets more.
func (s *Socket) FollowAt(conv string, after, at int64) error {
	ch := s.deps.Store.Channel(conv)
	s.mu.Lock()
	_, already := s.channels[ch]
	s.channels[ch] = conv
	s.mu.Unlock()
	if already {
		return nil
	}
	if s.role == RoleVisitor {
		s.claimedAt.CompareAndSwap(0, time.Now().UnixMilli())
	}
	if err := s.deps.Hub.Watch(s.ctx, ch, s); err != nil {
		// Followed in name only, the socket would stay deaf to this
		// conversation: close it, and the client resumes with a fresh
		// subscription.
		s.CloseAfter(protocol.CloseInternal)
		return err
	}
	s.Do(func(ctx context.Context) {
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

// Unfollow stops sending conv's entries.
func (s *Socket) Unfollow(conv string) {
	ch := s.deps.Store.Channel(conv)
	s.mu.Lock()
	_, ok := s.channels[ch]
	delete(s.channels, ch)
	s.mu.Unlock()
	if ok {
		s.deps.Hub.Unwatch(ch, s)
	}
	s.Do(func(context.Context) {
		delete(s.cursors, conv)
		delete(s.lastAt, conv)
	})
}

func (s *Socket) unwatchAll(extra ...string) {
	s.mu.Lock()
	chans := make([]string, 0, len(s.channels)+len(extra))
	for ch := range s.channels {
		chans = append(chans, ch)
	}
	s.channels = map[string]string{}
	s.mu.Unlock()
	for _, ch := range append(chans, extra...) {
		s.deps.Hub.Unwatch(ch, s)
	}
}

// Followed returns the conversations the writer follows. Writer
// goroutine.
func (s *Socket) Followed() []string {
	out := make([]string, 0, len(s.cursors))
	for id := range s.cursors {
		out = append(out, id)
	}
	return out
}

// Start makes the socket live: from now on it pings its peer every
// pingInterval, and closes the connection when its context ends. Frames
// are written by a writer goroutine that runs only while there is
// something to write (see inbox); there is never more than one.
func (s *Socket) Start() {
	// Made stopped and armed after: pingPeer, on the writer, reads s.ping.
	s.ping = time.AfterFunc(time.Hour, func() { s.Do(s.pingPeer) })
	s.ping.Reset(pingInterval)
	context.AfterFunc(s.ctx, func() {
		if s.inbox.start() {
			go s.write()
		}
	})
}

// pingPeer checks that the peer is alive, and arranges the next check.
// Writer goroutine.
func (s *Socket) pingPeer(context.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err := s.conn.Ping(ctx)
	cancel()
	if err != nil {
		s.Close(protocol.CloseNoPong)
		return
	}
	s.ping.Reset(pingInterval)
}

// write is the socket's writer goroutine: it does what the inbox holds,
// in order, and ends after writerLinger with nothing to do. Once the
// socket's context is done it closes the connection with the recorded
// code, and no writer runs again.
func (s *Socket) write() {
	// One timer for the writer's life, armed when the inbox first runs
	// dry and re-armed only when it fires: not reset for every frame of
	// a busy conversation.
	var linger *time.Timer
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	var idleSince time.Time // when the inbox last ran dry
	worked := true
	for {
		if s.ctx.Err() != nil {
			s.closeConn()
			return
		}
		if it, ok := s.inbox.take(); ok {
			s.handle(it)
			worked = true
			continue
		}
		if worked {
			idleSince, worked = time.Now(), false
		}
		if linger == nil {
			linger = time.NewTimer(writerLinger)
		}
		select {
		case <-s.inbox.ready:
		case <-s.ctx.Done():
		case <-linger.C:
			if idle := time.Since(idleSince); idle < writerLinger {
				// Armed in an earlier quiet spell.
				linger.Reset(writerLinger - idle)
				continue
			}
			if s.inbox.stop(s.ctx) {
				return
			}
			linger.Reset(writerLinger)
		}
	}
}

// closeConn closes the connection with the recorded code. Writer
// goroutine, once.
func (s *Socket) closeConn() {
	s.inbox.mu.Lock()
	s.inbox.closed, s.inbox.running = true, false
	s.inbox.mu.Unlock()
	if s.ping != nil {
		s.ping.Stop()
	}
	c := s.closing
	if c.Code == 0 {
		c = protocol.CloseGoingAway
	}
	_ = s.conn.Close(c.Code, c.Reason)
	close(s.writerDone)
}

// handle does one item of the inbox. Writer goroutine.
func (s *Socket) handle(it item) {
	switch {
	case it.frame != nil:
		s.Write(it.frame)
	case it.fn != nil:
		it.fn(s.ctx)
	case it.sync:
		s.resync(s.ctx, it.conv)
	case it.entry != nil:
		s.deliver(it.conv, it.entry)
	}
}

// Write writes a frame now. Writer goroutine.
func (s *Socket) Write(frame []byte) {
	// Not s.ctx: a write cut off by the socket closing would drop the
	// connection before the close frame. Nor a context with a timeout:
	// coder/websocket would register with each one, and the context and
	// its timer would be made for every frame; one timer per socket,
	// reset for each write, bounds it the same way (dropping the
	// connection, as coder/websocket does when a write's context ends).
	if s.stuck == nil {
		s.stuck = time.AfterFunc(writeTimeout, func() { _ = s.conn.CloseNow() })
	} else {
		s.stuck.Reset(writeTimeout)
	}
	err := s.conn.Write(context.Background(), websocket.MessageText, frame)
	s.stuck.Stop()
	if err != nil {
		s.Close(protocol.CloseWriteFailed)
	}
}

// WriteJSON writes v as a frame now. Writer goroutine.
func (s *Socket) WriteJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.Log().Error("encode frame", "err", err)
		return
	}
	s.Write(b)
}

func (s *Socket) writeEntry(ctx context.Context, e chat.Entry) { s.writeEntryFrame(ctx, e, nil) }

// writeEntryFrame writes e, as frame if that is its encoding already.
func (s *Socket) writeEntryFrame(ctx context.Context, e chat.Entry, frame []byte) {
	if s.role == RoleVisitor && e.Kind == chat.KindNote {
		// Advisors' internal notes never reach the visitor: only that
		// an entry is there, so the seqs stay gap-free.
		e = chat.Entry{Conversation: e.Conversation, Seq: e.Seq, Kind: chat.KindHidden, From: chat.FromSystem, At: e.At}
		frame = nil
	}
	if frame == nil {
		b, err := json.Marshal(protocol.Entry{Type: protocol.TypeEntry, Entry: e})
		if err != nil {
			return
		}
		frame = b
	}
	if s.BeforeEntry != nil {
		s.BeforeEntry(ctx, e)
	}
	s.Write(frame)
	s.cursors[e.Conversation] = e.Seq
	s.lastAt[e.Conversation] = e.At
	if s.OnEntry != nil {
		s.OnEntry(ctx, e)
	}
}

// deliver writes a live entry if it is the next one; an older one is a
// duplicate of what catch-up sent, a newer one means something was missed,
// which the stream fills in.
func (s *Socket) deliver(conv string, p *published) {
	e := p.e
	if !p.bad && e.Conversation == conv && e.Kind == chat.KindTakeover {
		// Before the cursor check: a signal that comes between the
		// subscription and the catch-up that sets the cursor counts too.
		if s.role == RoleVisitor && s.Follows(conv) {
			s.takeoverSignal(conv, e)
		}
		return
	}
	cur, ok := s.cursors[conv]
	if !ok {
		return
	}
	if p.bad || e.Conversation != conv {
		s.Log().Warn("bad entry on conversation channel")
		return
	}
	if e.Kind == chat.KindTyping {
		// Not an entry: the other side is typing. Never stored, so never
		// caught up: a missed one is simply missed.
		if e.From != s.role && (e.From == chat.FromVisitor || e.From == chat.FromAdvisor) {
			s.WriteJSON(protocol.Typing{Type: protocol.TypeTyping, Conversation: conv, From: e.From})
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
		s.writeEntryFrame(s.ctx, e, p.frame)
	default:
		s.CatchUp(s.ctx, conv)
	}
}

// typingEvery is how often one socket may signal typing per conversation;
// more often is dropped without an error (the page throttles too).
const typingEvery = 2 * time.Second

// TypingDue reports whether a typing signal for conv would go out now
// rather than be dropped as too soon after the last. Reader goroutine.
func (s *Socket) TypingDue(conv string) bool {
	last, ok := s.typingAt[conv]
	return !ok || time.Since(last) >= typingEvery
}

// Typing publishes that this socket's side is typing in conv, at most once
// per typingEvery. Reader goroutine.
func (s *Socket) Typing(conv string) {
	if !s.TypingDue(conv) {
		return
	}
	s.typingAt[conv] = time.Now()
	if err := s.deps.Store.Signal(s.ctx, chat.Entry{Conversation: conv, Kind: chat.KindTyping, From: s.role}); err != nil && s.ctx.Err() == nil {
		s.Log().Debug("publish typing", "err", err)
	}
}

// TakeOver tells every other visitor socket on conv, on any instance, to
// close: this one has the conversation now. Call it once following conv;
// the writer calls it again when an older socket's signal shows that one
// may have missed it (takeoverSignal).
func (s *Socket) TakeOver(conv string) {
	at := s.claimedAt.Load()
	if at == 0 {
		at = time.Now().UnixMilli()
	}
	err := s.deps.Store.Signal(s.ctx, chat.Entry{Conversation: conv, Kind: chat.KindTakeover, From: s.role, ClientID: s.nonce, At: at})
	if err != nil && s.ctx.Err() == nil {
		s.Log().Warn("publish a takeover", "err", err)
	}
}

// takeoverSignal acts on another visitor socket's takeover signal e: this
// socket closes if that one came later; if it came earlier, its signal
// went out after this socket took over, and this socket may have missed
// it (its subscription was not confirmed yet when this one's signal went
// out): it is told again, so that it closes and exactly one stays.
// Writer goroutine.
func (s *Socket) takeoverSignal(conv string, e chat.Entry) {
	switch {
	case e.ClientID == s.nonce:
	case s.takenBy(e):
		s.Close(protocol.CloseTakenOver)
	default:
		s.TakeOver(conv)
	}
}

// takenBy reports whether takeover signal e is from a socket that took
// the conversation after this one: the older socket closes, the newer
// stays, also when the older one's signal is published only after the
// newer one has subscribed (a slow start, a busy Redis). Ties go by
// nonce, so that of two sockets exactly one stays. A signal without a
// time (from an instance of an earlier version, during a rolling upgrade)
// counts as the older one: this socket stays and signals again, and that
// instance closes its socket on any signal, so one stays there too. The
// instances' clocks must agree to within the time between two tabs'
// starts; NTP keeps them within milliseconds.
func (s *Socket) takenBy(e chat.Entry) bool {
	if e.ClientID == s.nonce {
		return false
	}
	mine := s.claimedAt.Load()
	return e.At != 0 && (e.At > mine || (e.At == mine && e.ClientID > s.nonce))
}

// verifyWindow is how far back from the cursor verify looks for the last
// entry the stream and the client still share. A failover loses the
// entries of the replica lag, well under a second: a handful at most.
const verifyWindow = 64

// resync verifies the cursor and then writes every stored entry after it:
// what a socket does whenever it may have missed something (a new follow, a
// resubscription after the pub/sub connection came back).
func (s *Socket) resync(ctx context.Context, conv string) {
	if s.verify(ctx, conv) {
		s.CatchUp(ctx, conv)
	}
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
func (s *Socket) verify(ctx context.Context, conv string) bool {
	cur, ok := s.cursors[conv]
	at := s.lastAt[conv]
	if !ok || cur == 0 || at == 0 {
		return true
	}
	from := max(0, cur-verifyWindow)
	es, err := s.deps.Store.After(ctx, conv, from, int(cur-from))
	if err != nil {
		if ctx.Err() == nil {
			s.Log().Warn("verify failed", "err", err)
			s.Close(protocol.CloseInternal)
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
		last, err := s.deps.Store.LastSeq(ctx, conv)
		if err != nil {
			if ctx.Err() == nil {
				// Gone (its data lost with the primary, say): the resume
				// after the reconnect says so plainly.
				s.Log().Warn("verify: conversation unreadable", "err", err)
				s.Close(protocol.CloseInternal)
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
	s.deps.Metrics.Interrupted()
	s.Log().Warn("entries lost from a conversation's stream; client told", "kept", keep, "had", cur)
	s.WriteJSON(protocol.Interrupted{Type: protocol.TypeInterrupted, Conversation: conv, Seq: keep})
	s.cursors[conv] = keep
	if keepAt != 0 {
		s.lastAt[conv] = keepAt
	} else {
		delete(s.lastAt, conv)
	}
	return true
}

// CatchUp writes every stored entry after the cursor. Writer goroutine.
func (s *Socket) CatchUp(ctx context.Context, conv string) {
	for ctx.Err() == nil {
		cur, ok := s.cursors[conv]
		if !ok {
			return
		}
		es, err := s.deps.Store.After(ctx, conv, cur, catchUpPage)
		if err != nil {
			if ctx.Err() == nil {
				s.Log().Warn("catch up failed", "err", err)
				s.Close(protocol.CloseInternal)
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

// ReadFrame reads one client frame and decodes its type. A frame that is
// not a JSON object with a string type gets a bad_json error; the caller
// carries on.
func (s *Socket) ReadFrame() (string, []byte, error) {
	typ, data, err := s.conn.Read(context.Background())
	if err != nil {
		return "", nil, err
	}
	if typ != websocket.MessageText {
		s.SendError(protocol.CodeBadJSON, "frames must be JSON text", "", "")
		return "", nil, nil
	}
	var head protocol.Head
	if err := json.Unmarshal(data, &head); err != nil || head.Type == nil {
		s.SendError(protocol.CodeBadJSON, "frame is not a JSON object with a string type", "", "")
		return "", nil, nil
	}
	// Checked on the raw frame: encoding/json would quietly turn invalid
	// bytes into U+FFFD. In a message, note or answer only the text's
	// bytes count, and the refusal names the message or question
	// (protocol.Message.BadText, protocol.QuestionAnswer.BadText).
	if t := *head.Type; t != protocol.TypeMessage && t != protocol.TypeNote && t != protocol.TypeQuestionAnswer && !utf8.Valid(data) {
		s.SendError(protocol.CodeBadUTF8, "frame is not valid UTF-8", "", "")
		return "", nil, nil
	}
	return *head.Type, data, nil
}

// SendError queues an error frame; clientID and conv name the message and
// conversation it is about, if any.
func (s *Socket) SendError(code protocol.Code, msg, clientID, conv string) {
	s.deps.Metrics.Rejected(s.role, code)
	s.Send(protocol.Error{Type: protocol.TypeError, Code: code, Message: msg, ID: clientID, Conversation: conv})
}

// GoneAway tells whether a read error is the client going away, which is
// not worth a log line.
func GoneAway(err error) bool {
	return websocket.CloseStatus(err) != -1 || errors.Is(err, context.Canceled)
}

// ExpectStart closes the socket unless started is called within the
// start timeout: a connection that never says who it is holds nothing for
// long.
func (s *Socket) ExpectStart() (started func()) {
	t := time.AfterFunc(s.deps.StartTimeout, func() {
		s.deps.Metrics.Rejected(s.role, protocol.CodeStartTimeout)
		s.CloseAfter(protocol.CloseNoStart)
	})
	return func() { t.Stop() }
}

// SetSession records the session an advisor socket was opened with.
func (s *Socket) SetSession(id string) {
	s.mu.Lock()
	s.session = id
	s.mu.Unlock()
}

// Session is the session an advisor socket was opened with.
func (s *Socket) Session() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.session
}

// SetPresence records whom the socket keeps present in routing: the
// visitor's conversation or the advisor's name.
func (s *Socket) SetPresence(id string) {
	s.mu.Lock()
	s.present = id
	s.mu.Unlock()
}

// Presence is whom the socket keeps present: "" for nobody yet.
func (s *Socket) Presence() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.present
}
