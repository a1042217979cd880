package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The strongest peer the issue compares with: Centrifugo v6 on a Redis
// engine of its own, with history on (each channel keeps its last 100
// publications for 5 minutes and clients recover from it, as
// advicechat's stream does). Built from the Go module proxy by `make
// bench` (CentrifugoVersion); the tool runs it when -centrifugo names the
// binary.
const CentrifugoVersion = "v6.9.1"

// centrifugoConfig is Centrifugo's configuration for the benchmark:
// anonymous clients may connect, subscribe and publish (insecure client
// mode: the benchmark's clients are all this machine), join pushes tell
// a pair's first side that the second is there, as advicechat's joined
// entry does, and nothing but errors is logged.
func centrifugoConfig(port int, redisAddr string) ([]byte, error) {
	return json.MarshalIndent(map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "error"},
		"engine": map[string]any{
			"type":  "redis",
			"redis": map[string]any{"address": []string{"redis://" + redisAddr}, "prefix": "centrifugo"},
		},
		"client": map[string]any{"insecure": true, "allowed_origins": []string{"*"}},
		"channel": map[string]any{"without_namespace": map[string]any{
			"history_size":          100,
			"history_ttl":           "300s",
			"force_recovery":        true,
			"join_leave":            true,
			"force_push_join_leave": true,
		}},
		"usage_stats": map[string]any{"disabled": true},
	}, "", "  ")
}

type centrifugo struct {
	proc *proc
	rds  *redisServer
	url  string
}

// startCentrifugo starts bin with a redis-server of its own, so that its
// CPU and Redis commands are counted apart from advicechat's.
func startCentrifugo(bin, redisBin, dir string) (*centrifugo, error) {
	rds, err := startRedis(redisBin, dir)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		rds.stop()
		return nil, err
	}
	cfg, err := centrifugoConfig(port, rds.addr)
	if err != nil {
		rds.stop()
		return nil, err
	}
	path := filepath.Join(dir, "centrifugo.json")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		rds.stop()
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p, err := startProc("centrifugo "+addr, baseEnv(), bin, "-c", path)
	if err != nil {
		rds.stop()
		return nil, err
	}
	c := &centrifugo{proc: p, rds: rds, url: "http://" + addr}
	if err := waitListening(p, addr, 20*time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *centrifugo) stop() {
	c.proc.stop()
	c.rds.stop()
}

// ---- Centrifugo's client protocol (JSON over WebSocket): commands with
// an id get a reply with that id; pushes have none; several may share a
// frame, one JSON object per line; an empty object is the server's ping,
// answered with an empty object.

type cfReply struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Connect *struct {
		Client string `json:"client"`
	} `json:"connect"`
	Push *struct {
		Pub *struct {
			Data cfData `json:"data"`
		} `json:"pub"`
		Join *struct {
			Info struct {
				Client string `json:"client"`
			} `json:"info"`
		} `json:"join"`
	} `json:"push"`
}

// cfData is what a pair's sides publish: the text, and which side sent
// it (every subscriber gets every publication, the sender too).
type cfData struct {
	Text string `json:"text"`
	From string `json:"from"`
}

// cfEnd is one side of a pair on Centrifugo: connected, and subscribed to
// the pair's channel.
type cfEnd struct {
	c       *websocket.Conn
	side    string
	channel string
	in      chan received
	joined  chan struct{}
	joinOne sync.Once
	client  atomic.Value // string: this connection's client id
	ids     atomic.Uint32
	replies sync.Map // id -> chan error
	wmu     sync.Mutex
}

// dialCentrifugo connects and subscribes one side of pair pairID.
func dialCentrifugo(ctx context.Context, base string, pairID int, side string, i int) (*cfEnd, error) {
	c, err := dial(ctx, base, "/connection/websocket", nil, sourceAddr(i))
	if err != nil {
		return nil, err
	}
	e := &cfEnd{c: c, side: side, channel: fmt.Sprintf("pair%d", pairID), in: make(chan received, 64), joined: make(chan struct{})}
	go e.read()
	if err := e.call(ctx, "connect", map[string]any{}); err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("centrifugo connect: %w", err)
	}
	if err := e.call(ctx, "subscribe", map[string]any{"channel": e.channel}); err != nil {
		c.CloseNow()
		return nil, fmt.Errorf("centrifugo subscribe: %w", err)
	}
	return e, nil
}

func (e *cfEnd) write(b []byte) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.c.Write(ctx, websocket.MessageText, b)
}

// call sends command method with params and waits for its reply.
func (e *cfEnd) call(ctx context.Context, method string, params any) error {
	id := e.ids.Add(1)
	done := make(chan error, 1)
	e.replies.Store(id, done)
	b, err := json.Marshal(map[string]any{"id": id, method: params})
	if err != nil {
		return err
	}
	if err := e.write(b); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(dialTimeout):
		return errors.New("no reply within " + dialTimeout.String())
	}
}

func (e *cfEnd) read() {
	for {
		_, data, err := e.c.Read(context.Background())
		if err != nil {
			e.replies.Range(func(k, v any) bool {
				select {
				case v.(chan error) <- err:
				default:
				}
				return true
			})
			return
		}
		at := time.Now()
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var r cfReply
			if json.Unmarshal(line, &r) != nil {
				continue
			}
			switch {
			case r.ID != 0:
				if r.Connect != nil {
					e.client.Store(r.Connect.Client)
				}
				if v, ok := e.replies.LoadAndDelete(r.ID); ok {
					var err error
					if r.Error != nil {
						err = fmt.Errorf("error %d: %s", r.Error.Code, r.Error.Message)
					}
					v.(chan error) <- err
				}
			case r.Push != nil && r.Push.Pub != nil:
				if r.Push.Pub.Data.From == e.side {
					continue // one's own publication, as advicechat echoes a message to its sender
				}
				select {
				case e.in <- received{r.Push.Pub.Data.Text, at}:
				default:
				}
			case r.Push != nil && r.Push.Join != nil:
				if me, _ := e.client.Load().(string); r.Push.Join.Info.Client != me {
					e.joinOne.Do(func() { close(e.joined) })
				}
			case r.Push == nil && r.Error == nil:
				// The server's ping.
				_ = e.write([]byte("{}"))
			}
		}
	}
}

// send publishes text on the pair's channel; Centrifugo's reply (the
// publication is stored in the history and sent) is not waited for, as
// the other clients do not wait for their acks.
func (e *cfEnd) send(text string) error {
	id := e.ids.Add(1)
	b, err := json.Marshal(map[string]any{"id": id, "publish": map[string]any{"channel": e.channel, "data": cfData{Text: text, From: e.side}}})
	if err != nil {
		return err
	}
	return e.write(b)
}

func (e *cfEnd) recv() <-chan received { return e.in }
func (e *cfEnd) close()                { e.c.CloseNow() }

// ---- the system

type centrifugoSystem struct{ c *centrifugo }

func (s *centrifugoSystem) name() string        { return "Centrifugo" }
func (s *centrifugoSystem) procs() []*proc      { return []*proc{s.c.proc, s.c.rds.proc} }
func (s *centrifugoSystem) redis() *redisServer { return s.c.rds }

func (s *centrifugoSystem) pairs(ctx context.Context, n int) ([]pair, func(), error) {
	base := pairSeq
	pairSeq += n
	as, bs := make([]*cfEnd, n), make([]*cfEnd, n)
	done := func() { closeEnds(as, bs) }
	g, gctx := newGroup(ctx, dialers)
	for i := range n {
		g.Go(func() (err error) {
			if as[i], err = dialCentrifugo(gctx, s.c.url, base+i, "a", 2*i); err != nil {
				return err
			}
			bs[i], err = dialCentrifugo(gctx, s.c.url, base+i, "b", 2*i+1)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		done()
		return nil, nil, err
	}
	for i := range n {
		if err := waitJoined(ctx, as[i].joined); err != nil {
			done()
			return nil, nil, err
		}
	}
	ps := make([]pair, n)
	for i := range n {
		ps[i] = pair{as[i], bs[i]}
	}
	return ps, done, nil
}

// admit for Centrifugo: n peers connected and subscribed first, then n
// sockets connect and subscribe at once; a pair is done when the new
// side's subscription is confirmed and the peer has its join push.
func (s *centrifugoSystem) admit(ctx context.Context, n, _ int) (time.Duration, int, error) {
	dial := func(ctx context.Context, i int, side string, seq int) (*cfEnd, error) {
		return dialCentrifugo(ctx, s.c.url, i, side, seq)
	}
	return admitPeers(ctx, n, dial, func(peer, _ *cfEnd) []chan struct{} { return []chan struct{}{peer.joined} })
}

func (s *centrifugoSystem) idle(ctx context.Context, n, step int, perStep func(int)) (func(), error) {
	base := pairSeq
	pairSeq += n
	socks, err := openInSteps(ctx, n, step, func(ctx context.Context, i int) (*cfEnd, error) {
		return dialCentrifugo(ctx, s.c.url, base+i, "a", i)
	}, perStep)
	done := func() { closeEnds(socks) }
	if err != nil {
		done()
		return nil, err
	}
	return done, nil
}
