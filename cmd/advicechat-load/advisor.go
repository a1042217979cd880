package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/advicechat/advicechat/web/protocol"
)

// advisorClient plays one advisor's console page: log in, go on duty,
// answer every visitor message of every assigned conversation, and end
// the conversation once the visitor is done. After a disconnect it
// reconnects with hello and the highest seq it has per conversation, and
// re-sends unacked answers with the same client ids.
type advisorClient struct {
	r    *runner
	rng  *rand.Rand
	idx  int
	acct Advisor

	cookie *http.Cookie
	convs  map[string]*advConv

	conn       *wsConn
	gen        int
	dutySent   int // gen the duty frame was sent on
	onDuty     bool
	wantDuty   bool
	target     int
	failures   int
	dropAt     time.Time
	ready      chan struct{} // closed when first on duty
	isReady    bool
	stopping   bool
	offSent    int
	needLogin  bool
	stopDone   bool
	stopBefore time.Time
}

// advConv is the advisor's view of one conversation.
type advConv struct {
	id         string
	view       convView
	stream     *Stream
	owned      bool
	replies    []*outMsg
	replied    map[string]bool
	doneSeen   bool
	visitorEnd bool // the visitor said it will end
	endSentGen int
	complete   bool
}

func (r *runner) newAdvisor(idx int, acct Advisor, seed uint64) *advisorClient {
	return &advisorClient{
		r:      r,
		rng:    rand.New(rand.NewPCG(seed, uint64(1<<32+idx))),
		idx:    idx,
		acct:   acct,
		convs:  map[string]*advConv{},
		target: idx % len(r.cfg.Targets),
		ready:  make(chan struct{}),
	}
}

func (a *advisorClient) conv(id string) *advConv {
	c, ok := a.convs[id]
	if !ok {
		c = &advConv{id: id, replied: map[string]bool{}}
		a.convs[id] = c
	}
	return c
}

// login gets a session cookie. With TOTP a failure is tried again, on the
// next target and with the next TOTP step: the server takes each step
// once, so a run that starts right after another may find its first codes
// used.
func (a *advisorClient) login(ctx context.Context) error {
	var err error
	tries := 1
	if a.acct.TOTPSecret != "" {
		tries = 2
	}
	for try := range tries {
		t := a.r.cfg.Targets[(a.target+try)%len(a.r.cfg.Targets)]
		var code string
		if code, err = a.r.totp.code(ctx, a.acct); err != nil {
			return err
		}
		var ck *http.Cookie
		if ck, err = a.r.cfg.Login(ctx, t, a.acct, code); err == nil {
			a.cookie, a.needLogin = ck, false
			return nil
		}
	}
	return err
}

// stopTimeout bounds how long an advisor takes to end its conversations
// and go off duty at the end of a run.
const stopTimeout = 10 * time.Second

// run plays the advisor until stop is closed (then it ends what is open
// and goes off duty) or ctx is done.
func (a *advisorClient) run(ctx context.Context, stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() {
		if a.conn != nil {
			a.conn.drop()
			for range a.conn.frames {
			}
		}
	}()
	for !a.stopDone {
		if ctx.Err() != nil {
			return
		}
		if a.stopping && time.Now().After(a.stopBefore) {
			a.r.stats.err("advisor_stop_timeout")
			return
		}
		if a.conn == nil {
			a.connect(ctx)
			continue
		}
		a.sendDue()
		if a.stopDone {
			return
		}
		timer.Reset(max(time.Until(a.nextWake()), 0))
		select {
		case f, ok := <-a.conn.frames:
			if !ok {
				a.closed()
				continue
			}
			a.handle(f)
		case <-timer.C:
			if !a.dropAt.IsZero() && !time.Now().Before(a.dropAt) && !a.conn.dropping {
				a.r.stats.reconnect(sideAdvisor)
				a.dropAt = time.Time{}
				a.conn.drop()
			}
		case <-stop:
			stop = nil
			a.stopping, a.stopBefore, a.dropAt = true, time.Now().Add(stopTimeout), time.Time{}
		case <-ctx.Done():
		}
	}
}

func (a *advisorClient) connect(ctx context.Context) {
	if a.failures > 0 && !sleepCtx(ctx, backoff(a.r.cfg.Backoff, a.failures, a.rng)) {
		return
	}
	if a.needLogin || a.cookie == nil {
		if err := a.login(ctx); err != nil {
			a.r.stats.err("login")
			a.r.logf("advisor %s: %v", a.acct.Name, err)
			a.failures++
			return
		}
	}
	target := a.r.cfg.Targets[a.target]
	h := http.Header{"Cookie": {a.cookie.Name + "=" + a.cookie.Value}}
	c, err := dialWS(ctx, target, "/ws/advisor?acks=entry", h, nil)
	if err != nil {
		if ctx.Err() == nil {
			a.r.stats.dialFailed(err)
			a.r.logf("advisor %s: %v", a.acct.Name, err)
		}
		var de *dialError
		if errors.As(err, &de) && de.status == http.StatusUnauthorized {
			a.needLogin = true
		}
		a.failures++
		a.target = (a.target + 1) % len(a.r.cfg.Targets)
		return
	}
	a.conn, a.gen, a.onDuty = c, a.gen+1, false
	after, at := map[string]int64{}, map[string]int64{}
	for id, cv := range a.convs {
		cv.stream = nil
		if !cv.complete {
			after[id], at[id] = cv.view.high, cv.view.highAt()
		}
	}
	a.traceAll("conn %d to %s, > hello %v", a.gen, target, after)
	if err := c.send(protocol.Hello{Type: protocol.TypeHello, After: after, At: at}); err != nil {
		return
	}
	if every := a.r.cfg.ReconnectEvery; every > 0 && !a.stopping {
		a.dropAt = time.Now().Add(time.Duration(a.rng.ExpFloat64() * float64(every)))
	}
}

func (a *advisorClient) closed() {
	c := a.conn
	a.conn, a.dropAt = nil, time.Time{}
	for _, cv := range a.convs {
		cv.stream = nil
	}
	a.traceAll("conn %d ended (%q): %v", a.gen, closeKind(c), c.err)
	if kind := closeKind(c); kind != "" {
		a.r.stats.err(kind)
		a.r.logf("advisor %s: connection ended: %v", a.acct.Name, c.err)
		if kind == "close_1008" {
			a.needLogin = true
		}
		a.target = (a.target + 1) % len(a.r.cfg.Targets)
	} else {
		a.target = a.rng.IntN(len(a.r.cfg.Targets))
	}
}

// traceAll records a connection event in every conversation the advisor
// has not finished.
func (a *advisorClient) traceAll(format string, args ...any) {
	for id, cv := range a.convs {
		if !cv.complete {
			a.r.chk.Trace(id, sideAdvisor, "%s: "+format, append([]any{a.acct.Name}, args...)...)
		}
	}
}

func (a *advisorClient) handle(f inFrame) {
	a.failures = 0
	if f.conv != "" {
		traceFrame(a.r.chk, f.conv, sideAdvisor+" "+a.acct.Name, f)
	} else if f.Type == protocol.TypeError {
		a.traceAll("< error %s id=%q: %s", f.Code, f.ID, f.Text)
	}
	switch f.Type {
	case protocol.TypeStatus:
		a.onDuty = f.Duty != nil && *f.Duty
		// Off duty at the start, or after the grace period ran out.
		a.wantDuty = !a.onDuty && !a.stopping
		if a.onDuty && !a.isReady {
			a.isReady = true
			close(a.ready)
		}
	case protocol.TypeAssigned:
		cv := a.conv(f.conv)
		cv.owned = true
		cv.stream = a.r.chk.Stream(cv.id, sideAdvisor, cv.view.high)
	case protocol.TypeUnassigned:
		cv := a.conv(f.conv)
		cv.owned = false
		if f.Reason == "ended" {
			a.complete(cv)
		}
	case protocol.TypeEntry:
		a.entry(f)
	case protocol.TypeAck:
		cv, ok := a.convs[f.conv]
		if !ok {
			return
		}
		acked(a.r.chk, cv.replies, cv.id, sideAdvisor, f)
	case protocol.TypeInterrupted:
		cv, ok := a.convs[f.conv]
		if !ok {
			return
		}
		if cv.stream == nil {
			cv.stream = a.r.chk.Stream(cv.id, sideAdvisor, cv.view.high)
		}
		cv.stream.Interrupted(f.Seq)
		cv.view.interrupted(f.Seq)
		unack(cv.replies, f.Seq)
	case protocol.TypeError:
		a.r.stats.err("server_" + string(f.Code))
		a.refused(f)
	}
}

func (a *advisorClient) entry(f inFrame) {
	cv := a.conv(f.conv)
	if cv.stream == nil {
		cv.stream = a.r.chk.Stream(cv.id, sideAdvisor, cv.view.high)
	}
	cv.stream.Entry(f)
	if f.Kind == "message" && f.From == sideAdvisor {
		acked(a.r.chk, cv.replies, cv.id, sideAdvisor, f) // entry acks
	}
	if !cv.view.add(f.Seq, f.EntryAt) {
		return
	}
	switch {
	case f.Kind == "ended":
		a.complete(cv)
	case f.Kind == "message" && f.From == sideVisitor && !cv.replied[f.ID]:
		cv.replied[f.ID] = true
		// The same answer from whichever advisor has the conversation:
		// the server keeps one copy per client id.
		cv.replies = append(cv.replies, &outMsg{
			cid:  "a-" + f.ID,
			text: "answer to " + f.ID,
			due:  f.at.Add(a.r.cfg.Think),
		})
		if f.ID == visitorCID(a.r.cfg.Messages-1) {
			cv.doneSeen = true
			cv.visitorEnd = strings.Contains(f.Text, "I will close")
		}
	}
}

func (a *advisorClient) complete(cv *advConv) {
	cv.owned = false
	if !cv.complete {
		cv.complete = true
		a.r.chk.Done(cv.id, sideAdvisor)
	}
}

func (a *advisorClient) refused(f inFrame) {
	cv, ok := a.convs[f.conv]
	if !ok {
		return
	}
	var m *outMsg
	for _, x := range cv.replies {
		if f.ID != "" && x.cid == f.ID {
			m = x
		}
	}
	switch f.Code {
	case protocol.CodeRateLimited, protocol.CodeInternal:
		if m != nil {
			m.sentGen, m.notBefore = 0, time.Now().Add(200*time.Millisecond)
		} else if f.ID == "" {
			cv.endSentGen = 0 // an end that failed: again
		}
	case protocol.CodeEnded:
		if m != nil {
			m.dead = true
		}
		if f.ID == "" {
			a.complete(cv)
		}
	case protocol.CodeNotFound:
		// No longer ours (requeued); if it comes back, "assigned" says so.
		cv.owned = false
		if m != nil {
			m.sentGen = 0
		}
	}
}

// sendDue sends due answers, ends finished conversations, and at the
// end of the run ends everything and goes off duty.
func (a *advisorClient) sendDue() {
	c := a.conn
	if c == nil || c.dropping {
		return
	}
	now := time.Now()
	if a.wantDuty && !a.stopping && a.dutySent != a.gen {
		a.dutySent, a.wantDuty = a.gen, false
		if err := c.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true)}); err != nil {
			return
		}
	}
	for _, cv := range a.convs {
		if !cv.owned || cv.complete {
			continue
		}
		allAcked := true
		for _, m := range cv.replies {
			if m.acked || m.dead {
				continue
			}
			allAcked = false
			if m.sentGen == a.gen {
				continue
			}
			if now.Before(m.due) || now.Before(m.notBefore) {
				break
			}
			a.r.chk.Sent(cv.id, sideAdvisor, m.cid, m.text, m.due)
			if m.everSent {
				a.r.stats.retry()
			}
			m.sentGen, m.everSent = a.gen, true
			a.r.chk.Trace(cv.id, sideAdvisor, "%s: > message %s", a.acct.Name, m.cid)
			if err := c.send(protocol.Message{Type: protocol.TypeMessage, Conversation: cv.id, ID: m.cid, Text: m.text}); err != nil {
				return
			}
			if a.rng.Float64() < a.r.cfg.ReconnectProb && !a.stopping {
				a.r.stats.reconnect(sideAdvisor)
				c.drop()
				return
			}
		}
		wantEnd := a.stopping || (cv.doneSeen && allAcked && !cv.visitorEnd)
		if wantEnd && cv.endSentGen != a.gen {
			cv.endSentGen = a.gen
			a.r.chk.Trace(cv.id, sideAdvisor, "%s: > end", a.acct.Name)
			if err := c.send(protocol.End{Type: protocol.TypeEnd, Conversation: cv.id}); err != nil {
				return
			}
		}
	}
	if a.stopping && a.offSent != a.gen {
		a.offSent = a.gen
		_ = c.send(protocol.Duty{Type: protocol.TypeDuty, On: new(false)})
	}
	if a.stopping && a.offSent == a.gen && !a.onDuty && a.openOwned() == 0 {
		a.stopDone = true
	}
}

func (a *advisorClient) openOwned() int {
	n := 0
	for _, cv := range a.convs {
		if cv.owned && !cv.complete {
			n++
		}
	}
	return n
}

func (a *advisorClient) nextWake() time.Time {
	wake := time.Now().Add(time.Hour)
	if !a.dropAt.IsZero() {
		wake = a.dropAt
	}
	if a.stopping && a.stopBefore.Before(wake) {
		wake = a.stopBefore
	}
	for _, cv := range a.convs {
		if !cv.owned || cv.complete {
			continue
		}
		for _, m := range cv.replies {
			if m.acked || m.dead || m.sentGen == a.gen {
				continue
			}
			at := m.due
			if m.notBefore.After(at) {
				at = m.notBefore
			}
			if at.Before(wake) {
				wake = at
			}
			break
		}
	}
	return wake
}
