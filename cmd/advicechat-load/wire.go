package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/advicechat/advicechat/web/protocol"
)

// inFrame is any server frame, decoded into the union of the fields the
// tool reads (docs/protocol.md).
type inFrame struct {
	Type   string          `json:"type"`
	Conv   json.RawMessage `json:"conversation"`
	Seq    int64           `json:"seq"`
	Kind   string          `json:"kind"`
	From   string          `json:"from"`
	ID     string          `json:"id"`
	Text   string          `json:"text"`
	Reason string          `json:"reason"`
	Token  string          `json:"token"`
	Status string          `json:"status"`
	Code   protocol.Code   `json:"code"`
	Duty   *bool           `json:"duty"`
	// EntryAt is an entry's at (ms): with its seq, what a resume names.
	EntryAt int64 `json:"at"`

	// conv is the conversation id, from either the string form or the
	// object form ("assigned") of the conversation field.
	conv string
	// at is when the frame was read off the socket.
	at time.Time
}

func decodeFrame(data []byte, at time.Time) (inFrame, error) {
	var f inFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return f, err
	}
	f.at = at
	switch {
	case len(f.Conv) > 0 && f.Conv[0] == '"':
		_ = json.Unmarshal(f.Conv, &f.conv)
	case len(f.Conv) > 0 && f.Conv[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(f.Conv, &o)
		f.conv = o.ID
	}
	return f, nil
}

// wsConn is one client WebSocket. A reader goroutine decodes frames into
// frames and closes it when the connection ends; only the client's own
// goroutine writes.
type wsConn struct {
	c      *websocket.Conn
	target string
	frames chan inFrame
	// err is why reading stopped; valid once frames is closed.
	err error
	// dropping is set when the client cut the connection on purpose.
	dropping bool
}

// dialTimeout bounds a WebSocket handshake; an instance that does not
// answer within it is treated as down.
const dialTimeout = 5 * time.Second

// dialWS opens a WebSocket to target (an http base URL) at path, with the
// Origin a browser on that instance's page would send. A non-nil source
// is the local address to connect from: on Linux every address of
// 127.0.0.0/8 is this machine, so visitors can look like distinct
// clients to the server's per-address limits without leaving it.
func dialWS(ctx context.Context, target, path string, header http.Header, source net.IP) (*wsConn, error) {
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	h.Set("Origin", target)
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	u := "ws" + strings.TrimPrefix(target, "http") + path
	opts := &websocket.DialOptions{HTTPHeader: h, CompressionMode: websocket.CompressionDisabled}
	if source != nil {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: source}}
		tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	c, resp, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		if resp != nil {
			return nil, &dialError{status: resp.StatusCode, err: err}
		}
		return nil, &dialError{err: err}
	}
	c.SetReadLimit(1 << 20)
	// A roomy buffer: while the reader waits for the client's loop it
	// does not read, and so does not answer the server's pings either.
	w := &wsConn{c: c, target: target, frames: make(chan inFrame, 4096)}
	go w.readLoop()
	return w, nil
}

// dialError is a failed handshake; status is the HTTP status if the server
// answered.
type dialError struct {
	status int
	err    error
}

func (e *dialError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("dial: status %d: %v", e.status, e.err)
	}
	return fmt.Sprintf("dial: %v", e.err)
}

func (e *dialError) Unwrap() error { return e.err }

// kind names the failure for the report's error counts.
func (e *dialError) kind() string {
	if e.status != 0 {
		return fmt.Sprintf("dial_status_%d", e.status)
	}
	return "dial"
}

// readLoop ends when the connection does: CloseNow, a close frame or a
// broken connection.
func (w *wsConn) readLoop() {
	defer close(w.frames)
	for {
		_, data, err := w.c.Read(context.Background())
		if err != nil {
			w.err = err
			return
		}
		f, err := decodeFrame(data, time.Now())
		if err != nil {
			w.err = fmt.Errorf("decode frame: %w", err)
			w.c.CloseNow()
			return
		}
		w.frames <- f
	}
}

// writeTimeout bounds one frame write; a server that does not take a
// frame within it is treated as gone.
const writeTimeout = 5 * time.Second

func (w *wsConn) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.c.CloseNow()
		return err
	}
	return nil
}

// drop cuts the connection without a close frame, as a lost network
// would; the reader then ends.
func (w *wsConn) drop() {
	w.dropping = true
	w.c.CloseNow()
}

// closeKind names why a connection ended, for the report.
func closeKind(w *wsConn) string {
	if w.dropping {
		return ""
	}
	if code := websocket.CloseStatus(w.err); code != -1 {
		return fmt.Sprintf("close_%d", int(code))
	}
	if errors.Is(w.err, context.Canceled) {
		return ""
	}
	return "connection_lost"
}

// traceFrame records a received frame in conv's trace.
func traceFrame(chk *Checker, conv, who string, f inFrame) {
	switch f.Type {
	case protocol.TypeEntry:
		chk.Trace(conv, who, "< entry %d %s %s %s %s", f.Seq, f.Kind, f.From, f.ID, f.Reason)
	case protocol.TypeAck:
		chk.Trace(conv, who, "< ack %s %d", f.ID, f.Seq)
	case protocol.TypeError:
		chk.Trace(conv, who, "< error %s id=%q: %s", f.Code, f.ID, f.Text)
	case protocol.TypeState:
		chk.Trace(conv, who, "< state %s %s", f.Status, f.Reason)
	case protocol.TypeStarted:
		chk.Trace(f.conv, who, "< started")
	default:
		chk.Trace(conv, who, "< %s %s", f.Type, f.Reason)
	}
}

// sourceAddr is the loopback address visitor idx connects from when
// targets are on 127.0.0.0/8: 127.1.0.1, 127.1.0.2, ...
func sourceAddr(idx int) net.IP {
	n := idx % (250 * 250)
	return net.IPv4(127, 1+byte(idx/(250*250)%100), byte(n/250), byte(n%250+1))
}
