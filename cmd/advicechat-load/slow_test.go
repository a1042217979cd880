package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/protocol"

	"github.com/coder/websocket"
)

// dialSlow opens a visitor socket whose receive buffer is small, so that
// a client that stops reading backs up into the server quickly.
func dialSlow(t *testing.T, target string) *websocket.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
		}); err != nil {
			return err
		}
		return serr
	}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(target, "http")+"/ws/visitor", &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr},
		HTTPHeader: http.Header{"Origin": {target}},
	})
	if err != nil {
		t.Fatalf("dial slow visitor: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func writeJSON(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readUntil reads frames until match; a bound for a broken server.
func readUntil(t *testing.T, c *websocket.Conn, what string, match func(inFrame) bool) inFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		f, err := decodeFrame(data, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if match(f) {
			return f
		}
	}
}

// metric reads a counter from an instance's /metrics.
func metric(t *testing.T, target, name string) float64 {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := hc.Get(target + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// floodAdvisor is an advisor socket driven by the test.
type floodAdvisor struct {
	conn *wsConn
	mu   sync.Mutex
	acks map[string]int64
	conv chan string
	done chan struct{}
}

func startFloodAdvisor(t *testing.T, target string, acct Advisor) *floodAdvisor {
	t.Helper()
	var steps totpSteps
	code, err := steps.code(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := FormLogin(context.Background(), target, acct, code)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialWS(context.Background(), target, "/ws/advisor", http.Header{"Cookie": {ck.Name + "=" + ck.Value}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &floodAdvisor{conn: c, acks: map[string]int64{}, conv: make(chan string, 1), done: make(chan struct{})}
	onDuty := make(chan struct{})
	go func() {
		defer close(a.done)
		var once sync.Once
		for f := range c.frames {
			switch f.Type {
			case "status":
				if f.Duty != nil && *f.Duty {
					once.Do(func() { close(onDuty) })
				}
			case "assigned":
				a.conv <- f.conv
			case "ack":
				a.mu.Lock()
				a.acks[f.ID] = f.Seq
				a.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		c.drop()
		<-a.done
	})
	if err := c.send(protocol.Hello{Type: protocol.TypeHello, After: map[string]int64{}}); err != nil {
		t.Fatal(err)
	}
	if err := c.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-onDuty:
	case <-time.After(20 * time.Second):
		t.Fatal("flood advisor not on duty")
	}
	return a
}

func (a *floodAdvisor) acked(id string) (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	seq, ok := a.acks[id]
	return seq, ok
}

// TestFaultSlowReader: a visitor that stops reading while its advisor
// floods it with long messages is closed by the server (4008), while the
// load on the same instance goes on with every message delivered; the
// slow visitor then resumes and gets everything, in order.
func TestFaultSlowReader(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	d := newDeployment(t, r.URL)
	// The flood is far more text than a conversation may hold.
	d.env["ADVICECHAT_MAX_BYTES"] = "0"
	d.env["ADVICECHAT_MAX_ENTRIES"] = "0"
	d.start(1)
	target := d.targets()[0]
	flooder := d.addAdvisors("flood", 1, "-max", "1", "-audiences", "professional")[0]
	cfg := loadFor(t, d.targets(), d.addAdvisors("adv", 3, "-max", "20", "-audiences", "public"), soak(t, 4*time.Second))

	adv := startFloodAdvisor(t, target, flooder)
	slow := dialSlow(t, target)
	writeJSON(t, slow, protocol.Start{Type: protocol.TypeStart, Audience: "professional", Lang: "nl"})
	started := readUntil(t, slow, "started", func(f inFrame) bool { return f.Type == protocol.TypeStarted })
	conv := started.conv
	var convAssigned string
	select {
	case convAssigned = <-adv.conv:
	case <-time.After(20 * time.Second):
		t.Fatal("slow conversation not assigned to the flood advisor")
	}
	if convAssigned != conv {
		t.Fatalf("flood advisor got %s, want %s", convAssigned, conv)
	}
	joined := readUntil(t, slow, "joined entry", func(f inFrame) bool { return f.Type == protocol.TypeEntry && f.Kind == "joined" })
	read := joined.Seq // the slow visitor has everything up to here

	var (
		rep     Report
		loadErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() { rep, loadErr = Run(context.Background(), cfg) })

	// Flood while the load runs, until the server has closed a slow
	// client (or a bound is reached).
	time.Sleep(cfg.Duration / 4)
	before := metric(t, target, "advicechat_slow_clients_closed_total")
	text := strings.Repeat("x", 3900)
	sent := 0
	for sent < 3000 {
		id := fmt.Sprintf("f-%d", sent)
		if err := adv.conn.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: id, Text: text + id}); err != nil {
			t.Fatalf("flood: %v", err)
		}
		sent++
		if sent%100 == 0 && metric(t, target, "advicechat_slow_clients_closed_total") > before {
			break
		}
	}
	last := fmt.Sprintf("f-%d", sent-1)
	waitFor(t, 30*time.Second, "the flood to be acked", func() bool { _, ok := adv.acked(last); return ok })
	lastSeq, _ := adv.acked(last)
	t.Logf("flooded %d messages of %d bytes; last seq %d", sent, len(text), lastSeq)
	if closed := metric(t, target, "advicechat_slow_clients_closed_total"); closed <= before {
		t.Errorf("slow clients closed %v after the flood, want more than %v", closed, before)
	}

	// The slow visitor reads what reached it, then finds its socket closed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	var err error
	got := 0
	for {
		var data []byte
		if _, data, err = slow.Read(ctx); err != nil {
			break
		}
		f, _ := decodeFrame(data, time.Now())
		if f.Type != protocol.TypeEntry {
			continue
		}
		if f.Seq != read+1 {
			t.Fatalf("slow visitor got seq %d after %d: not in order or with a gap", f.Seq, read)
		}
		read, got = f.Seq, got+1
	}
	cancel()
	if code := websocket.CloseStatus(err); code != 4008 {
		t.Errorf("slow visitor's socket ended with %v (status %d), want close 4008", err, code)
	}
	if read >= lastSeq {
		t.Errorf("slow visitor got everything (%d entries) before being closed; the flood did not back up", got)
	}
	t.Logf("slow visitor read %d entries before the close", got)

	// It resumes and gets the rest, in order, with no gap.
	again := dialSlow(t, target)
	writeJSON(t, again, protocol.Resume{Type: protocol.TypeResume, Conversation: conv, Token: started.Token, After: read})
	for read < lastSeq {
		f := readUntil(t, again, "the rest of the flood", func(f inFrame) bool { return f.Type == protocol.TypeEntry })
		if f.Seq != read+1 {
			t.Fatalf("after resume got seq %d after %d", f.Seq, read)
		}
		if want, ok := adv.acked(f.ID); f.Kind == "message" && (!ok || want != f.Seq) {
			t.Fatalf("seq %d carries %q, acked as seq %d", f.Seq, f.ID, want)
		}
		read = f.Seq
	}

	wg.Wait()
	if loadErr != nil {
		t.Fatalf("Run: %v", loadErr)
	}
	checkGuarantee(t, rep)
	t.Logf("other visitors on the instance: delivery p50 %.1f ms, p99 %.1f ms, max %.1f ms while one slow client was flooded",
		rep.DeliveryLatency.P50, rep.DeliveryLatency.P99, rep.DeliveryLatency.Max)
}
