package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/web/protocol"
)

// The baseline: a bare coder/websocket relay. Each socket names a pair and
// a side; every text frame from one side is written as is to the other.
// No storage, no ack, no routing: what a WebSocket relay costs at least.
// The tool runs it as a process of its own (itself, with relayEnv set),
// so that its CPU and memory are measured apart from the clients'.

// relayEnv, set to an address, makes the tool's binary the relay.
const relayEnv = "ADVICECHAT_BENCH_RELAY"

type relayPair struct{ sides [2]*websocket.Conn }

func serveRelay(addr string) error {
	var mu sync.Mutex
	pairs := map[string]*relayPair{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		side := 0
		if r.URL.Query().Get("side") == "b" {
			side = 1
		}
		id := r.URL.Query().Get("pair")
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		mu.Lock()
		p := pairs[id]
		if p == nil {
			p = &relayPair{}
			pairs[id] = p
		}
		p.sides[side] = c
		peer := p.sides[1-side]
		mu.Unlock()
		if peer != nil {
			// Both sides are here: the pair can talk.
			joined := []byte(`{"type":"entry","kind":"joined"}`)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = c.Write(ctx, websocket.MessageText, joined)
			_ = peer.Write(ctx, websocket.MessageText, joined)
			cancel()
		}
		defer func() {
			mu.Lock()
			p.sides[side] = nil
			if p.sides[1-side] == nil {
				delete(pairs, id)
			}
			mu.Unlock()
			c.CloseNow()
		}()
		for {
			typ, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			mu.Lock()
			peer := p.sides[1-side]
			mu.Unlock()
			if peer != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_ = peer.Write(ctx, typ, data)
				cancel()
			}
		}
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stdout, "relay listening")
	return http.Serve(ln, h)
}

// relay is the baseline relay process.
type relay struct {
	*proc
	url string
}

func startRelay() (*relay, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProc("relay "+addr, append(baseEnv(), relayEnv+"="+addr), self)
	if err != nil {
		return nil, err
	}
	r := &relay{proc: p, url: "http://" + addr}
	if err := waitListening(p, addr, 10*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return r, nil
}

// relayEnd is one side of a relay pair.
type relayEnd struct {
	c      *websocket.Conn
	in     chan received
	joined chan struct{}
}

func dialRelay(ctx context.Context, base string, pairID int, side string, i int) (*relayEnd, error) {
	c, err := dial(ctx, base, fmt.Sprintf("/relay?pair=%d&side=%s", pairID, side), nil, sourceAddr(i))
	if err != nil {
		return nil, err
	}
	e := &relayEnd{c: c, in: make(chan received, 64), joined: make(chan struct{})}
	go func() {
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			at := time.Now()
			// Decoded as the advicechat clients decode theirs.
			var f inFrame
			if json.Unmarshal(data, &f) != nil {
				continue
			}
			if f.Kind == "joined" {
				close(e.joined)
				continue
			}
			select {
			case e.in <- received{f.Text, at}:
			default:
			}
		}
	}()
	return e, nil
}

func (e *relayEnd) send(text string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := json.Marshal(protocol.Message{Type: protocol.TypeMessage, ID: nextID(), Text: text})
	if err != nil {
		return err
	}
	return e.c.Write(ctx, websocket.MessageText, b)
}
func (e *relayEnd) recv() <-chan received { return e.in }
func (e *relayEnd) close()                { e.c.CloseNow() }
