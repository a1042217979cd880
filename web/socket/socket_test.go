package socket

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/web/protocol"
)

type nopMetrics struct{}

func (nopMetrics) Rejected(string, protocol.Code) {}
func (nopMetrics) SlowClosed()                    {}
func (nopMetrics) Interrupted()                   {}

// TestInboxWriterState: a writer is started by the first item while none
// runs, never twice, ends only with nothing waiting and the socket open,
// and never starts again once the connection is closed.
func TestInboxWriterState(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := inbox{ready: make(chan struct{}, 1)}
	if ok, start := b.put(item{frame: []byte("1")}); !ok || !start {
		t.Fatalf("first put: ok %v start %v, want a writer started", ok, start)
	}
	if _, start := b.put(item{frame: []byte("2")}); start {
		t.Fatal("second put started a second writer")
	}
	if b.stop(ctx) {
		t.Fatal("the writer stopped with two items waiting")
	}
	b.take()
	b.take()
	if !b.stop(ctx) {
		t.Fatal("the writer could not stop with nothing waiting")
	}
	if _, start := b.put(item{frame: []byte("3")}); !start {
		t.Fatal("a put after the writer stopped started none")
	}
	b.take()
	cancel()
	if b.stop(ctx) {
		t.Fatal("the writer stopped although the socket is closing: nobody would close the connection")
	}
	b.mu.Lock()
	b.closed = true
	b.running = false
	b.mu.Unlock()
	if _, start := b.put(item{frame: []byte("4")}); start {
		t.Fatal("a put after the close started a writer")
	}
	if b.start() {
		t.Fatal("a closed inbox started a writer for closing")
	}
	for i := range inboxSize - 1 {
		if ok, _ := b.put(item{frame: []byte{byte(i)}}); !ok {
			t.Fatalf("put %d refused below the bound", i)
		}
	}
	if ok, _ := b.put(item{frame: []byte("x")}); ok {
		t.Fatalf("put accepted with %d items waiting", inboxSize)
	}
}

// TestWriterOnlyWhileThereIsWork: with a real connection, the socket's
// writer goes away when there is nothing to write, and everything still
// happens: frames sent later arrive, the peer is pinged and the pongs
// keep the socket open, and a close with no writer running reaches the
// peer with its code.
func TestWriterOnlyWhileThereIsWork(t *testing.T) {
	lingerWas, pingWas := writerLinger, pingInterval
	writerLinger, pingInterval = time.Millisecond, 20*time.Millisecond
	t.Cleanup(func() { writerLinger, pingInterval = lingerWas, pingWas })

	pings := make(chan struct{}, 64)
	p := connect(t, &websocket.DialOptions{
		OnPingReceived: func(context.Context, []byte) bool {
			select {
			case pings <- struct{}{}:
			default:
			}
			return true
		},
	})
	s, ctx, expect := p.s, p.ctx, p.expect

	idle := func(when string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s.inbox.mu.Lock()
			running := s.inbox.running
			s.inbox.mu.Unlock()
			if !running {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the writer still runs with nothing to write", when)
			}
			time.Sleep(time.Millisecond)
		}
	}
	s.Send(map[string]string{"type": "a"})
	expect(`{"type":"a"}`)
	idle("after a frame")

	for i := range 3 {
		select {
		case <-pings:
		case <-ctx.Done():
			t.Fatalf("ping %d never came", i+1)
		}
		idle("after a ping")
	}
	if s.Ctx().Err() != nil {
		t.Fatalf("the socket closed (%v): the pongs were not taken", s.closing)
	}

	s.Send(map[string]string{"type": "b"})
	expect(`{"type":"b"}`)
	idle("before the close")

	s.Close(protocol.CloseEnded)
	select {
	case err := <-p.readErr:
		if got := websocket.CloseStatus(err); got != protocol.CloseEnded.Code {
			t.Fatalf("peer got %v, want close %d", err, protocol.CloseEnded.Code)
		}
	case <-ctx.Done():
		t.Fatal("the close never reached the peer")
	}
	<-s.Done()
	<-p.finished
	s.Send(map[string]string{"type": "c"})
	s.inbox.mu.Lock()
	running := s.inbox.running
	s.inbox.mu.Unlock()
	if running {
		t.Fatal("a frame after the close started a writer")
	}
}

// TestStuckWriteDropsTheConnection: a frame whose write takes longer than
// writeTimeout (the client stopped reading, its buffers are full) drops
// the connection, and the socket ends.
func TestStuckWriteDropsTheConnection(t *testing.T) {
	was := writeTimeout
	writeTimeout = 300 * time.Millisecond
	t.Cleanup(func() { writeTimeout = was })
	p := connectPeer(t, nil, false)
	s := p.s
	// Quick writes first: the timer is reset for each and never fires.
	for range 5 {
		s.Send(map[string]string{"type": "small"})
	}
	big := strings.Repeat("x", 1<<20)
	for range 64 { // far more than the two ends' socket buffers hold
		s.Send(map[string]string{"type": "big", "text": big})
	}
	// The reader's read fails with the connection dropped, and the socket
	// ends (with 4008 or, when the reader's end comes first, 1000: no
	// close frame reaches this client either way).
	select {
	case <-p.finished:
	case <-p.ctx.Done():
		t.Fatal("a write to a client that reads nothing never ended")
	}
	<-s.Done()
}

// peer is a socket on a real connection, and the other end's frames.
type peer struct {
	t        *testing.T
	s        *Socket
	ctx      context.Context
	frames   chan string
	readErr  chan error
	finished chan struct{}
}

// connect makes a visitor socket on a real connection; its reader reads
// until the connection goes.
func connect(t *testing.T, opts *websocket.DialOptions) *peer {
	t.Helper()
	return connectPeer(t, opts, true)
}

// connectPeer is connect; with read false the other end never reads.
func connectPeer(t *testing.T, opts *websocket.DialOptions, read bool) *peer {
	t.Helper()
	socks := make(chan *Socket, 1)
	p := &peer{t: t, frames: make(chan string, 8), readErr: make(chan error, 1), finished: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		d := Deps{Log: slog.New(slog.DiscardHandler), Metrics: nopMetrics{}, StartTimeout: time.Minute}
		s := New(context.Background(), d, conn, RoleVisitor)
		s.Start()
		socks <- s
		for {
			if _, _, err := s.ReadFrame(); err != nil {
				break
			}
		}
		s.Finish()
		close(p.finished)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	p.ctx = ctx
	c, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):], opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if !read {
		p.s = <-socks
		return p
	}
	go func() {
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				p.readErr <- err
				return
			}
			p.frames <- string(b)
		}
	}()
	p.s = <-socks
	return p
}

// expect fails unless the next frame is want.
func (p *peer) expect(want string) {
	p.t.Helper()
	select {
	case got := <-p.frames:
		if got != want {
			p.t.Fatalf("got frame %s, want %s", got, want)
		}
	case err := <-p.readErr:
		p.t.Fatalf("read: %v, want frame %s", err, want)
	case <-p.ctx.Done():
		p.t.Fatalf("no frame %s", want)
	}
}

// TestAck: a socket with entry acks writes the client's own stored entry
// in place of the ack when it is the next entry, nothing when it was
// written already, and the ack when entries before it are missing, for a
// duplicate and for a conversation it does not follow; a socket without
// them always writes the ack.
func TestAck(t *testing.T) {
	p := connect(t, nil)
	s := p.s
	s.Do(func(context.Context) { s.cursors["c"], s.lastAt["c"] = 4, 1000 })
	entry := func(seq int64) chat.Entry {
		return chat.Entry{Conversation: "c", Seq: seq, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: fmt.Sprint("m", seq), Text: "hi", At: 1000 + seq}
	}
	frame := func(e chat.Entry) string {
		b, err := json.Marshal(protocol.Entry{Type: protocol.TypeEntry, Entry: e})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ack := func(e chat.Entry, conv string) string {
		b, _ := json.Marshal(protocol.Ack{Type: protocol.TypeAck, ID: e.ClientID, Seq: e.Seq, Conversation: conv})
		return string(b)
	}
	marker := func(name string) {
		t.Helper()
		s.Send(map[string]string{"type": name})
		p.expect(`{"type":"` + name + `"}`)
	}

	s.Ack(entry(5), false, "")
	p.expect(ack(entry(5), ""))

	s.EntryAcks = true
	s.Ack(entry(5), false, "")
	p.expect(frame(entry(5)))
	s.Ack(entry(5), false, "") // as if it had come back from the channel first
	marker("nothing for an entry written already")
	s.Ack(entry(7), false, "c")
	p.expect(ack(entry(7), "c"))
	s.Ack(entry(3), true, "c")
	p.expect(ack(entry(3), "c"))
	other := entry(1)
	other.Conversation = "d"
	s.Ack(other, false, "d")
	p.expect(ack(other, "d"))
	marker("done")
}

// TestTakenBy: of two visitor sockets on one conversation the later one
// stays, whichever signal arrives when; exactly one stays on a tie; a
// socket's own signal never closes it; a signal without a time (an
// earlier version's instance, which closes its own socket on any signal)
// counts as older, so that not both close.
func TestTakenBy(t *testing.T) {
	older := &Socket{nonce: "aaaa"}
	older.claimedAt.Store(1000)
	newer := &Socket{nonce: "bbbb"}
	newer.claimedAt.Store(1005)
	signal := func(s *Socket) chat.Entry {
		return chat.Entry{Kind: chat.KindTakeover, ClientID: s.nonce, At: s.claimedAt.Load()}
	}
	if newer.takenBy(signal(older)) {
		t.Error("the newer socket closed on the older one's late signal")
	}
	if !older.takenBy(signal(newer)) {
		t.Error("the older socket stayed on the newer one's signal")
	}
	if older.takenBy(signal(older)) || newer.takenBy(signal(newer)) {
		t.Error("a socket closed on its own signal")
	}
	tie := &Socket{nonce: "cccc"}
	tie.claimedAt.Store(1005)
	if a, b := newer.takenBy(signal(tie)), tie.takenBy(signal(newer)); a == b {
		t.Errorf("on a tie: newer taken %v, other taken %v; want exactly one taken", a, b)
	}
	if newer.takenBy(chat.Entry{Kind: chat.KindTakeover, ClientID: "dddd"}) {
		t.Error("a signal without a time took over: with the earlier version closing its own socket too, neither would stay")
	}
}
