package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/advicechat/advicechat/web/protocol"
)

// convView is what one client has of a conversation: the seqs it holds,
// and the highest one below which it has everything (its resume point).
type convView struct {
	seen map[int64]bool
	high int64
	// ats holds each seq's at: a resume names the at of its entry at
	// high, so a loss in a failover is told (docs/protocol.md).
	ats map[int64]int64
}

// add records seq with its at and tells whether it is new: a client shows
// each seq once.
func (v *convView) add(seq, at int64) bool {
	if seq <= v.high || v.seen[seq] {
		return false
	}
	if v.seen == nil {
		v.seen, v.ats = map[int64]bool{}, map[int64]int64{}
	}
	v.seen[seq], v.ats[seq] = true, at
	for v.seen[v.high+1] {
		v.high++
		delete(v.seen, v.high)
	}
	return true
}

// highAt is the at of the entry at high; 0 if none.
func (v *convView) highAt() int64 { return v.ats[v.high] }

// interrupted forgets every seq after keep: the server said they are no
// longer stored, and the seqs after keep will name other entries.
func (v *convView) interrupted(keep int64) {
	for seq := range v.seen {
		if seq > keep {
			delete(v.seen, seq)
		}
	}
	for seq := range v.ats {
		if seq > keep {
			delete(v.ats, seq)
		}
	}
	v.high = min(v.high, keep)
}

// unack makes the messages acked after keep unacked again, to be sent
// once more: the interrupted entries included them.
func unack(msgs []*outMsg, keep int64) {
	for _, m := range msgs {
		if m.acked && m.ackSeq > keep {
			m.acked, m.sentGen = false, 0
		}
	}
}

// outMsg is one message a client sends until it is acked.
type outMsg struct {
	cid, text string
	due       time.Time // when the schedule wants it sent
	notBefore time.Time // after rate_limited or internal: retry from then
	sentGen   int       // the connection it was last sent on; 0 none
	everSent  bool
	acked     bool
	ackSeq    int64
	dead      bool // refused for good (the conversation ended)
}

// visitor plays one visitor through one conversation, as a browser tab
// would: start, send, and after any disconnect resume from its last seq
// and re-send what was not acked, with the same client ids.
type visitor struct {
	r         *runner
	rng       *rand.Rand
	idx       int
	scheduled time.Time
	ends      bool // the visitor, not the advisor, ends the conversation

	conv, token string
	view        convView
	stream      *Stream
	msgs        []*outMsg
	replies     int // advisor messages received
	endSentGen  int
	ended       bool
	fatal       bool

	conn     *wsConn
	gen      int
	starting bool
	target   int
	failures int
	dropAt   time.Time
}

func (r *runner) newVisitor(idx int, scheduled time.Time, seed uint64) *visitor {
	v := &visitor{
		r:         r,
		rng:       rand.New(rand.NewPCG(seed, uint64(idx))),
		idx:       idx,
		scheduled: scheduled,
		target:    idx % len(r.cfg.Targets),
	}
	v.ends = v.rng.Float64() < r.cfg.VisitorEnds
	n := r.cfg.Messages
	for i := range n {
		text := fmt.Sprintf("visitor message %d of %d", i+1, n)
		if i == n-1 {
			text = doneText(v.ends)
		}
		v.msgs = append(v.msgs, &outMsg{
			cid:  visitorCID(i),
			text: text,
			due:  scheduled.Add(time.Duration(i+1) * r.cfg.Interval),
		})
	}
	return v
}

func visitorCID(i int) string { return fmt.Sprintf("v-%d", i) }

// The visitor's last message says it is done and who will end.
const (
	doneVisitorEnds = "done, thank you; I will close the chat"
	doneAdvisorEnds = "done, thank you; you may close the chat"
)

func doneText(visitorEnds bool) string {
	if visitorEnds {
		return doneVisitorEnds
	}
	return doneAdvisorEnds
}

// run plays the conversation until it ends or ctx is done.
func (v *visitor) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer func() {
		if v.conn != nil {
			v.conn.drop()
			for range v.conn.frames {
			}
		}
		if v.conv != "" && !v.ended {
			v.r.chk.GaveUp(v.conv)
		}
	}()
	for !v.ended && !v.fatal {
		if ctx.Err() != nil {
			return
		}
		if v.conn == nil {
			v.connect(ctx)
			continue
		}
		v.sendDue()
		wake := v.nextWake()
		timer.Reset(max(time.Until(wake), 0))
		select {
		case f, ok := <-v.conn.frames:
			if !ok {
				v.closed()
				continue
			}
			v.handle(f)
		case <-timer.C:
			if !v.dropAt.IsZero() && !time.Now().Before(v.dropAt) && !v.conn.dropping {
				v.r.stats.reconnect(sideVisitor)
				v.dropAt = time.Time{}
				v.conn.drop()
			}
		case <-ctx.Done():
		}
	}
}

// connect opens a socket and starts or resumes the conversation; after a
// failure it waits a backoff first.
func (v *visitor) connect(ctx context.Context) {
	if v.failures > 0 && !sleepCtx(ctx, backoff(v.r.cfg.Backoff, v.failures, v.rng)) {
		return
	}
	target := v.r.cfg.Targets[v.target]
	c, err := dialWS(ctx, target, "/ws/visitor?acks=entry", nil, v.r.source(target, v.idx))
	if err != nil && v.r.sourceFailed(err) {
		c, err = dialWS(ctx, target, "/ws/visitor?acks=entry", nil, nil)
	}
	if err != nil {
		if ctx.Err() == nil {
			v.r.stats.dialFailed(err)
			v.r.logf("visitor %d: %v", v.idx, err)
		}
		v.failures++
		v.target = (v.target + 1) % len(v.r.cfg.Targets)
		return
	}
	v.conn, v.gen = c, v.gen+1
	v.trace("conn %d to %s", v.gen, target)
	if v.conv == "" {
		v.starting = true
		if err := c.send(protocol.Start{Type: protocol.TypeStart, Audience: v.r.cfg.Audience, Lang: "nl"}); err != nil {
			return // the reader sees the connection end
		}
		return
	}
	v.stream = v.r.chk.Stream(v.conv, sideVisitor, v.view.high)
	v.trace("> resume after %d", v.view.high)
	if err := c.send(protocol.Resume{Type: protocol.TypeResume, Conversation: v.conv, Token: v.token, After: v.view.high, At: v.view.highAt()}); err != nil {
		return
	}
	v.armDrop()
}

func (v *visitor) armDrop() {
	if every := v.r.cfg.ReconnectEvery; every > 0 {
		v.dropAt = time.Now().Add(time.Duration(v.rng.ExpFloat64() * float64(every)))
	}
}

// closed handles the end of the current connection.
func (v *visitor) closed() {
	c := v.conn
	v.conn, v.stream, v.dropAt = nil, nil, time.Time{}
	v.trace("conn %d ended (%q): %v", v.gen, closeKind(c), c.err)
	if kind := closeKind(c); kind != "" {
		v.r.stats.err(kind)
		v.r.logf("visitor %d (%s): connection ended: %v", v.idx, v.conv, c.err)
		// Back at once, but to another instance: this one may be gone.
		v.target = (v.target + 1) % len(v.r.cfg.Targets)
	} else {
		v.target = v.rng.IntN(len(v.r.cfg.Targets))
	}
	if v.starting {
		// The conversation may exist without us knowing its id: start
		// another.
		v.starting = false
		v.r.stats.err("start_lost")
	}
}

// trace records an event of the visitor's conversation for the report.
func (v *visitor) trace(format string, args ...any) {
	v.r.chk.Trace(v.conv, sideVisitor, format, args...)
}

func (v *visitor) handle(f inFrame) {
	v.failures = 0
	traceFrame(v.r.chk, v.conv, sideVisitor, f)
	switch f.Type {
	case protocol.TypeStarted:
		if !v.starting {
			return
		}
		v.starting = false
		v.conv, v.token = f.conv, f.Token
		v.r.chk.Started(v.conv)
		v.stream = v.r.chk.Stream(v.conv, sideVisitor, 0)
		v.armDrop()
	case protocol.TypeEntry:
		if f.conv != v.conv || v.stream == nil {
			v.r.stats.err("entry_for_other_conversation")
			return
		}
		v.stream.Entry(f)
		if f.Kind == "message" && f.From == sideVisitor {
			acked(v.r.chk, v.msgs, v.conv, sideVisitor, f) // entry acks
		}
		if !v.view.add(f.Seq, f.EntryAt) {
			return
		}
		switch {
		case f.Kind == "message" && f.From == sideAdvisor:
			v.replies++
		case f.Kind == "ended":
			v.ended = true
			v.r.chk.Done(v.conv, sideVisitor)
		}
	case protocol.TypeAck:
		acked(v.r.chk, v.msgs, v.conv, sideVisitor, f)
	case protocol.TypeInterrupted:
		if f.conv != v.conv || v.stream == nil {
			return
		}
		v.stream.Interrupted(f.Seq)
		v.view.interrupted(f.Seq)
		unack(v.msgs, f.Seq)
	case protocol.TypeError:
		v.r.stats.err("server_" + string(f.Code))
		v.refused(f)
	}
}

// acked marks the message an ack is for as acked and records the ack. The
// sockets ask for entry acks, as the pages do (docs/protocol.md): the
// client's own entry acks its message, and f may be that entry.
func acked(chk *Checker, msgs []*outMsg, conv, side string, f inFrame) {
	for _, m := range msgs {
		if m.cid == f.ID {
			m.acked, m.ackSeq = true, f.Seq
			chk.Acked(conv, side, m.cid, f.Seq, f.at)
		}
	}
}

// refused handles an error frame.
func (v *visitor) refused(f inFrame) {
	var m *outMsg
	for _, x := range v.msgs {
		if f.ID != "" && x.cid == f.ID {
			m = x
		}
	}
	switch f.Code {
	case protocol.CodeRateLimited, protocol.CodeInternal:
		wait := 200 * time.Millisecond
		if f.Code == protocol.CodeRateLimited {
			wait = time.Second
		}
		if m != nil {
			m.sentGen, m.notBefore = 0, time.Now().Add(wait)
		} else if f.Code == protocol.CodeInternal && v.conn != nil {
			// A failed start or resume: try again on a fresh socket.
			v.conn.drop()
		}
	case protocol.CodeEnded:
		if m != nil {
			m.dead = true
		}
	case protocol.CodeNotFound, protocol.CodeUnauthorized:
		v.r.logf("visitor %d (%s): %s: %s", v.idx, v.conv, f.Code, f.Text)
		v.fatal = true
	}
}

// sendDue sends, in order, every message whose time has come and that is
// not in flight on this connection, then the end if it is time.
func (v *visitor) sendDue() {
	c := v.conn
	if c == nil || c.dropping || v.starting || v.conv == "" {
		return
	}
	now := time.Now()
	allAcked := true
	for i, m := range v.msgs {
		if m.acked || m.dead {
			continue
		}
		if m.sentGen == v.gen {
			allAcked = false
			continue
		}
		// The last message says "done": only once the others are stored.
		if i == len(v.msgs)-1 && !allAcked {
			return
		}
		if now.Before(m.due) || now.Before(m.notBefore) {
			return
		}
		v.r.chk.Sent(v.conv, sideVisitor, m.cid, m.text, m.due)
		if m.everSent {
			v.r.stats.retry()
		}
		m.sentGen, m.everSent = v.gen, true
		allAcked = false
		v.trace("> message %s", m.cid)
		if err := c.send(protocol.Message{Type: protocol.TypeMessage, ID: m.cid, Text: m.text}); err != nil {
			return
		}
		if v.rng.Float64() < v.r.cfg.ReconnectProb {
			v.r.stats.reconnect(sideVisitor)
			c.drop()
			return
		}
	}
	if v.ends && allAcked && v.replies >= len(v.msgs) && v.endSentGen != v.gen {
		v.endSentGen = v.gen
		v.trace("> end")
		_ = c.send(protocol.End{Type: protocol.TypeEnd})
	}
}

// nextWake is when sendDue or a drop has something to do next.
func (v *visitor) nextWake() time.Time {
	wake := time.Now().Add(time.Hour)
	if !v.dropAt.IsZero() {
		wake = v.dropAt
	}
	if v.conv == "" || v.starting {
		return wake
	}
	allAcked := true
	for i, m := range v.msgs {
		if m.acked || m.dead {
			continue
		}
		if m.sentGen == v.gen {
			allAcked = false
			continue
		}
		if i == len(v.msgs)-1 && !allAcked {
			break // the ack wakes us
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
	return wake
}

// backoff is the wait before reconnect attempt n (from 1): base doubled
// per failure up to 2 s, with jitter.
func backoff(base time.Duration, n int, rng *rand.Rand) time.Duration {
	d := base
	for i := 1; i < n && d < 2*time.Second; i++ {
		d *= 2
	}
	d = min(d, 2*time.Second)
	return d/2 + time.Duration(rng.Int64N(int64(d/2)+1))
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
