package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pquerna/otp/totp"

	"github.com/advicechat/advicechat/web/protocol"
)

// inFrame is any server frame, decoded into the fields the tool reads
// (docs/protocol.md): "conversation" is a string, or an object with an id
// in assigned.
type inFrame struct {
	Type   string          `json:"type"`
	Conv   json.RawMessage `json:"conversation"`
	Kind   string          `json:"kind"`
	From   string          `json:"from"`
	Text   string          `json:"text"`
	Token  string          `json:"token"`
	Status string          `json:"status"`
	Code   string          `json:"code"`
	Msg    string          `json:"message"`
}

func (f *inFrame) conversation() string {
	switch {
	case len(f.Conv) > 0 && f.Conv[0] == '"':
		var s string
		_ = json.Unmarshal(f.Conv, &s)
		return s
	case len(f.Conv) > 0 && f.Conv[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(f.Conv, &o)
		return o.ID
	}
	return ""
}

// received is a message from the other side of a pair: its text and
// when it was read off the socket.
type received struct {
	text string
	at   time.Time
}

// endpoint is one side of a pair that can talk: a visitor and the advisor
// who has the conversation, or two sockets of the bare relay.
type endpoint interface {
	send(text string) error
	recv() <-chan received
}

// pair is two endpoints that talk to each other.
type pair struct{ a, b endpoint }

// sourceAddr is the loopback address client i connects from: every
// address of 127.0.0.0/8 is this machine, so thousands of sockets do not
// run out of one address's ephemeral ports, and the service's
// per-address limits see several clients.
func sourceAddr(i int) net.IP {
	n := i / 500
	return net.IPv4(127, 10+byte(n/250), byte(n%250), 1)
}

const dialTimeout = 30 * time.Second

// dial opens a WebSocket to base (an http URL) at path from source.
func dial(ctx context.Context, base, path string, header http.Header, source net.IP) (*websocket.Conn, error) {
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	h.Set("Origin", base)
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: source}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, &websocket.DialOptions{
		HTTPHeader: h, HTTPClient: &http.Client{Transport: tr}, CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

func writeJSON(c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, b)
}

// ids hands out message ids unique in the run.
var ids atomic.Int64

func nextID() string { return fmt.Sprintf("m%d", ids.Add(1)) }

// visitor is one visitor socket of advicechat.
type visitor struct {
	c       *websocket.Conn
	conv    atomic.Value // string, once started
	started chan struct{}
	joined  chan struct{} // closed on the joined entry
	in      chan received
	failed  atomic.Value  // string: an error frame or a lost socket
	closed  chan struct{} // closed when the socket is
	once    sync.Once
	jonce   sync.Once
}

func dialVisitor(ctx context.Context, base string, i int) (*visitor, error) {
	c, err := dial(ctx, base, "/ws/visitor?acks=entry", nil, sourceAddr(i))
	if err != nil {
		return nil, err
	}
	v := &visitor{c: c, started: make(chan struct{}), joined: make(chan struct{}), closed: make(chan struct{}), in: make(chan received, 64)}
	go v.read()
	return v, nil
}

func (v *visitor) start() error {
	return writeJSON(v.c, protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "en"})
}

func (v *visitor) read() {
	defer close(v.closed)
	for {
		_, data, err := v.c.Read(context.Background())
		if err != nil {
			v.failed.CompareAndSwap(nil, "socket: "+err.Error())
			v.once.Do(func() { close(v.started) })
			return
		}
		at := time.Now()
		var f inFrame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch f.Type {
		case protocol.TypeStarted:
			v.conv.Store(f.conversation())
			v.once.Do(func() { close(v.started) })
		case protocol.TypeEntry:
			switch {
			case f.Kind == "joined":
				v.jonce.Do(func() { close(v.joined) })
			case f.Kind == "message" && f.From == "advisor":
				select {
				case v.in <- received{f.Text, at}:
				default: // a closed loop never has more than one in flight
				}
			}
		case protocol.TypeError:
			v.failed.CompareAndSwap(nil, "error "+f.Code+": "+f.Msg)
		}
	}
}

func (v *visitor) conversation() string { s, _ := v.conv.Load().(string); return s }

func (v *visitor) send(text string) error {
	return writeJSON(v.c, protocol.Message{Type: protocol.TypeMessage, ID: nextID(), Text: text})
}
func (v *visitor) recv() <-chan received { return v.in }
func (v *visitor) close()                { v.c.CloseNow() }

// advisor is one advisor console socket of advicechat; its conversations
// are endpoints of their own.
type advisor struct {
	c        *websocket.Conn
	mu       sync.Mutex
	convs    map[string]*advConv
	assigned chan string // conversations, as they are assigned
	joined   chan string // conversations whose joined entry arrived
	duty     chan struct{}
	dutyOnce sync.Once
	// off is closed by a status off duty after offDuty asked for it;
	// done when the socket's reader stops.
	offAsked atomic.Bool
	off      chan struct{}
	offOnce  sync.Once
	done     chan struct{}
}

type advConv struct {
	a  *advisor
	id string
	in chan received
}

func (c *advConv) send(text string) error {
	return writeJSON(c.a.c, protocol.Message{Type: protocol.TypeMessage, Conversation: c.id, ID: nextID(), Text: text})
}
func (c *advConv) recv() <-chan received { return c.in }

func (a *advisor) conv(id string) *advConv {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.convs[id]
	if !ok {
		c = &advConv{a: a, id: id, in: make(chan received, 64)}
		a.convs[id] = c
	}
	return c
}

func (a *advisor) read() {
	defer close(a.done)
	for {
		_, data, err := a.c.Read(context.Background())
		if err != nil {
			return
		}
		at := time.Now()
		var f inFrame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch f.Type {
		case protocol.TypeStatus:
			var st struct {
				Duty bool `json:"duty"`
			}
			switch {
			case json.Unmarshal(data, &st) != nil:
			case st.Duty:
				a.dutyOnce.Do(func() { close(a.duty) })
			case a.offAsked.Load():
				a.offOnce.Do(func() { close(a.off) })
			}
		case protocol.TypeAssigned:
			a.conv(f.conversation())
			select {
			case a.assigned <- f.conversation():
			default:
			}
		case protocol.TypeEntry:
			switch {
			case f.Kind == "joined":
				select {
				case a.joined <- f.conversation():
				default:
				}
			case f.Kind == "message" && f.From == "visitor":
				select {
				case a.conv(f.conversation()).in <- received{f.Text, at}:
				default:
				}
			}
		}
	}
}

// account is an advisor account the tool made, with its TOTP secret.
type account struct {
	name, password, secret string
}

const benchPassword = "quiet harbour lantern 42 tide"

// login logs in as the console's form does and returns the cookie.
func login(ctx context.Context, base string, acct account) (*http.Cookie, error) {
	code, err := totp.GenerateCode(acct.secret, time.Now())
	if err != nil {
		return nil, err
	}
	form := url.Values{"username": {acct.name}, "password": {acct.password}, "code": {code}}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/advisor/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("login %s: status %d", acct.name, resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Value != "" && strings.Contains(ck.Name, "advicechat") {
			return ck, nil
		}
	}
	return nil, fmt.Errorf("login %s: no session cookie", acct.name)
}

// dialAdvisor opens a console socket with cookie and goes on duty.
func dialAdvisor(ctx context.Context, base string, cookie *http.Cookie) (*advisor, error) {
	h := http.Header{}
	h.Set("Cookie", cookie.Name+"="+cookie.Value)
	c, err := dial(ctx, base, "/ws/advisor?acks=entry", h, net.IPv4(127, 9, 0, 1))
	if err != nil {
		return nil, err
	}
	a := &advisor{c: c, convs: map[string]*advConv{}, assigned: make(chan string, 256), joined: make(chan string, 256), duty: make(chan struct{}),
		off: make(chan struct{}), done: make(chan struct{})}
	go a.read()
	if err := writeJSON(c, protocol.Hello{Type: protocol.TypeHello, After: map[string]int64{}}); err != nil {
		c.CloseNow()
		return nil, err
	}
	on := true
	if err := writeJSON(c, protocol.Duty{Type: protocol.TypeDuty, On: &on}); err != nil {
		c.CloseNow()
		return nil, err
	}
	select {
	case <-a.duty:
	case <-ctx.Done():
		c.CloseNow()
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		c.CloseNow()
		return nil, fmt.Errorf("advisor not on duty after 30s")
	}
	return a, nil
}

// offDuty takes the advisor off duty and waits until the service says
// so: a duty frame still unread when the next phase logs the same
// account in again would take the new console off duty.
func (a *advisor) offDuty() {
	off := false
	a.offAsked.Store(true)
	if writeJSON(a.c, protocol.Duty{Type: protocol.TypeDuty, On: &off}) != nil {
		return
	}
	select {
	case <-a.off:
	case <-a.done:
	case <-time.After(30 * time.Second):
	}
}

func (a *advisor) close() { a.c.CloseNow() }

// readAccountSecrets reads the TOTP secrets from the accounts file the
// advisor command wrote.
func readAccountSecrets(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Accounts []struct {
			Username   string `json:"username"`
			TOTPSecret string `json:"totp_secret"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, a := range f.Accounts {
		out[a.Username] = a.TOTPSecret
	}
	return out, nil
}
