package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// The two sides of a conversation.
const (
	sideVisitor = "visitor"
	sideAdvisor = "advisor"
)

func otherSide(side string) string {
	if side == sideVisitor {
		return sideAdvisor
	}
	return sideVisitor
}

// Checker records every message sent, every ack and every entry received,
// and judges the delivery guarantee at the end (see docs/delivery.md for
// the definitions). It is safe for concurrent use.
type Checker struct {
	mu    sync.Mutex
	convs map[string]*convRec

	// Found while entries arrive.
	outOfOrder, gaps, serverDups, mismatched int
	// interrupted counts interrupted frames; reported the acked messages
	// whose loss they told their sender.
	interrupted, reported int

	ackLatency, deliveryLatency []time.Duration
}

// convRec is everything known about one conversation.
type convRec struct {
	fromRun bool                // a visitor of this run started it
	gaveUp  bool                // its visitor stopped before the end
	sent    map[string]*sentMsg // sender side + ":" + client id
	recv    map[string]*sideRec // receiving side
	done    map[string]bool     // side -> saw the end
	// trace is the last traceLen events of both sides (frames in and
	// out, connections), for the report of an unfinished conversation.
	trace []string
}

// traceLen bounds each conversation's trace.
const traceLen = 60

// sentMsg is one message the run sent, however many times it was retried.
type sentMsg struct {
	from, cid, text string
	scheduled       time.Time
	ackSeq          int64
	acked           bool
	ackSeqs         map[int64]bool
	delivered       bool
}

// sideRec is what one side (all its sockets together) received.
type sideRec struct {
	seen  map[int64]seenEntry
	byMsg map[string]map[int64]bool // sender side + ":" + client id -> seqs
	max   int64
}

type seenEntry struct {
	from, cid, kind string
}

// NewChecker returns an empty checker.
func NewChecker() *Checker {
	return &Checker{convs: make(map[string]*convRec)}
}

func (c *Checker) conv(id string) *convRec {
	r, ok := c.convs[id]
	if !ok {
		r = &convRec{sent: map[string]*sentMsg{}, recv: map[string]*sideRec{}, done: map[string]bool{}}
		c.convs[id] = r
	}
	return r
}

func (r *convRec) side(side string) *sideRec {
	s, ok := r.recv[side]
	if !ok {
		s = &sideRec{seen: map[int64]seenEntry{}, byMsg: map[string]map[int64]bool{}}
		r.recv[side] = s
	}
	return s
}

// Started records a conversation a visitor of this run started.
func (c *Checker) Started(conv string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conv(conv).fromRun = true
}

// GaveUp records that a conversation's visitor stopped before its end.
func (c *Checker) GaveUp(conv string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conv(conv).gaveUp = true
}

// Done records that side saw the end of conv (the ended entry, or the
// server saying it ended).
func (c *Checker) Done(conv, side string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conv(conv).done[side] = true
}

// Trace records an event of conv on side for the report, should conv
// not finish.
func (c *Checker) Trace(conv, side, format string, args ...any) {
	if conv == "" {
		return
	}
	line := fmt.Sprintf("%s %-7s %s", time.Now().Format("15:04:05.000"), side, fmt.Sprintf(format, args...))
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.conv(conv)
	if len(r.trace) == traceLen {
		copy(r.trace, r.trace[1:])
		r.trace = r.trace[:traceLen-1]
	}
	r.trace = append(r.trace, line)
}

// Open returns how many conversations of the run have not yet ended on
// both sides and were not given up.
func (c *Checker) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.convs {
		if r.fromRun && !r.gaveUp && !(r.done[sideVisitor] && r.done[sideAdvisor]) {
			n++
		}
	}
	return n
}

// Sent records a message before its first send; scheduled is when the
// schedule wanted it sent. A later call for the same message (a retry, or
// another advisor sending the same reply) changes nothing.
func (c *Checker) Sent(conv, from, cid, text string, scheduled time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.conv(conv)
	k := from + ":" + cid
	if _, ok := r.sent[k]; !ok {
		r.sent[k] = &sentMsg{from: from, cid: cid, text: text, scheduled: scheduled, ackSeqs: map[int64]bool{}}
	}
}

// Acked records an ack; at is when it arrived.
func (c *Checker) Acked(conv, from, cid string, seq int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.conv(conv).sent[from+":"+cid]
	if !ok {
		return
	}
	m.ackSeqs[seq] = true
	if !m.acked {
		m.acked, m.ackSeq = true, seq
		c.ackLatency = append(c.ackLatency, at.Sub(m.scheduled))
	}
}

// Stream starts checking the entries one socket receives for conv on
// behalf of side. mark is the highest seq the client already had without
// a gap when the socket started following the conversation (its resume
// point).
func (c *Checker) Stream(conv, side string, mark int64) *Stream {
	return &Stream{c: c, conv: conv, side: side, mark: mark}
}

// Stream checks one socket's entries of one conversation: the protocol
// promises them in increasing seq order, with no gap, from the resume
// point on.
type Stream struct {
	c          *Checker
	conv, side string
	mark, last int64
}

// Entry records an entry frame the socket received.
func (s *Stream) Entry(f inFrame) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	ooo := false
	switch {
	case s.last != 0 && f.Seq <= s.last:
		c.outOfOrder++
		ooo = true
	case s.last != 0 && f.Seq > s.last+1:
		c.gaps++
	case s.last == 0 && f.Seq > s.mark+1:
		c.gaps++
	}
	s.last = max(s.last, f.Seq)

	r := c.conv(s.conv)
	sr := r.side(s.side)
	if _, ok := sr.seen[f.Seq]; ok {
		if !ooo {
			c.serverDups++
		}
		return
	}
	sr.seen[f.Seq] = seenEntry{from: f.From, cid: f.ID, kind: f.Kind}
	sr.max = max(sr.max, f.Seq)
	if f.Kind != "message" || f.ID == "" {
		return
	}
	k := f.From + ":" + f.ID
	if sr.byMsg[k] == nil {
		sr.byMsg[k] = map[int64]bool{}
	}
	sr.byMsg[k][f.Seq] = true
	m, ok := r.sent[k]
	if !ok {
		return // not sent by this run
	}
	if m.text != f.Text {
		c.mismatched++
	}
	if s.side != m.from && !m.delivered {
		m.delivered = true
		c.deliveryLatency = append(c.deliveryLatency, f.at.Sub(m.scheduled))
	}
}

// Interrupted records that the server told this socket's side that the
// entries after keep are no longer stored (a failover lost them). The side
// forgets them; its messages acked after keep count as reported losses and
// are sent again, so their new seqs are not duplicates.
func (s *Stream) Interrupted(keep int64) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interrupted++
	s.last = min(s.last, keep)
	s.mark = min(s.mark, keep)
	r := c.conv(s.conv)
	sr := r.side(s.side)
	for seq := range sr.seen {
		if seq > keep {
			delete(sr.seen, seq)
		}
	}
	for _, set := range sr.byMsg {
		for seq := range set {
			if seq > keep {
				delete(set, seq)
			}
		}
	}
	sr.max = min(sr.max, keep)
	for _, m := range r.sent {
		if m.from != s.side {
			continue
		}
		for seq := range m.ackSeqs {
			if seq > keep {
				delete(m.ackSeqs, seq)
			}
		}
		if m.acked && m.ackSeq > keep {
			m.acked, m.ackSeq = false, 0
			c.reported++
		}
	}
}

// Result is the checker's verdict. See docs/delivery.md.
type Result struct {
	Conversations int `json:"conversations"`
	Completed     int `json:"completed"`
	Unfinished    int `json:"unfinished"`
	Orphaned      int `json:"orphaned"`

	Sent      int `json:"sent"`
	Acked     int `json:"acked"`
	Unacked   int `json:"unacked"`
	Delivered int `json:"delivered"`

	Lost       int `json:"lost"`
	Duplicated int `json:"duplicated"`
	OutOfOrder int `json:"out_of_order"`
	Gaps       int `json:"gaps"`
	Holes      int `json:"holes"`
	Mismatched int `json:"mismatched"`
	Unverified int `json:"unverified"`

	// UnackedDelivered counts messages the sender never got an ack for
	// (it shows them as not sent) that the other side has all the same.
	UnackedDelivered int `json:"unacked_delivered"`

	ServerDuplicates int `json:"server_duplicates"`

	// Interrupted counts the interrupted frames clients got: entries a
	// failover lost, told to both sides. LostReported counts the acked
	// messages among them; their senders sent them again. Neither is a
	// violation: the guarantee is that a loss is never silent.
	Interrupted  int `json:"interrupted"`
	LostReported int `json:"lost_reported"`

	AckLatency      Latency `json:"ack_latency_ms"`
	DeliveryLatency Latency `json:"delivery_latency_ms"`
}

// StuckConv is one conversation that did not end on both sides.
type StuckConv struct {
	ID          string   `json:"id"`
	GaveUp      bool     `json:"gave_up"`
	VisitorDone bool     `json:"visitor_done"`
	AdvisorDone bool     `json:"advisor_done"`
	VisitorMax  int64    `json:"visitor_max_seq"` // highest seq the visitor received
	AdvisorMax  int64    `json:"advisor_max_seq"`
	Unacked     []string `json:"unacked"` // side:client id, never acked
	Trace       []string `json:"trace"`
}

// Violations is the number of broken promises: it must be 0.
func (r Result) Violations() int {
	return r.Lost + r.Duplicated + r.OutOfOrder + r.Gaps + r.Holes + r.Mismatched
}

// Result judges everything recorded so far.
func (c *Checker) Result() Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := Result{
		OutOfOrder:       c.outOfOrder,
		Gaps:             c.gaps,
		ServerDuplicates: c.serverDups,
		Mismatched:       c.mismatched,
		Interrupted:      c.interrupted,
		LostReported:     c.reported,
		AckLatency:       latencyOf(c.ackLatency),
		DeliveryLatency:  latencyOf(c.deliveryLatency),
	}
	for _, r := range c.convs {
		if !r.fromRun {
			res.Orphaned++
			continue
		}
		res.Conversations++
		complete := r.done[sideVisitor] && r.done[sideAdvisor]
		if complete {
			res.Completed++
		} else {
			res.Unfinished++
		}
		// Holes: seqs below the highest a side received that it never got.
		// Both sides follow a conversation from its first entry.
		for _, sr := range r.recv {
			res.Holes += int(sr.max) - len(sr.seen)
		}
		// Duplicated: one message at more than one seq, by any account.
		seqs := map[string]map[int64]bool{}
		add := func(k string, seq int64) {
			if seqs[k] == nil {
				seqs[k] = map[int64]bool{}
			}
			seqs[k][seq] = true
		}
		for k, m := range r.sent {
			for seq := range m.ackSeqs {
				add(k, seq)
			}
		}
		for _, sr := range r.recv {
			for k, set := range sr.byMsg {
				for seq := range set {
					add(k, seq)
				}
			}
		}
		for _, set := range seqs {
			res.Duplicated += len(set) - 1
		}
		for k, m := range r.sent {
			res.Sent++
			if !m.acked {
				res.Unacked++
			}
			if m.delivered {
				res.Delivered++
			}
			if !m.acked {
				if len(r.side(otherSide(m.from)).byMsg[k]) > 0 {
					res.UnackedDelivered++
				}
				continue
			}
			res.Acked++
			other := r.side(otherSide(m.from))
			e, ok := other.seen[m.ackSeq]
			switch {
			case ok && e.from == m.from && e.cid == m.cid:
			case ok || len(other.byMsg[k]) > 0:
				res.Mismatched++
			case r.done[otherSide(m.from)]:
				res.Lost++
			default:
				res.Unverified++
			}
		}
	}
	return res
}

// Stuck describes every conversation of the run that did not end on both
// sides: what each side has, what it still waits for, its last events.
func (c *Checker) Stuck() []StuckConv {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []StuckConv
	for id, r := range c.convs {
		if r.fromRun && !(r.done[sideVisitor] && r.done[sideAdvisor]) {
			out = append(out, r.stuck(id))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (r *convRec) stuck(id string) StuckConv {
	s := StuckConv{
		ID: id, GaveUp: r.gaveUp,
		VisitorDone: r.done[sideVisitor], AdvisorDone: r.done[sideAdvisor],
		VisitorMax: r.side(sideVisitor).max, AdvisorMax: r.side(sideAdvisor).max,
		Trace: append([]string(nil), r.trace...),
	}
	for k, m := range r.sent {
		if !m.acked {
			s.Unacked = append(s.Unacked, k)
		}
	}
	sort.Strings(s.Unacked)
	return s
}

// Latency is a distribution of latencies in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

func latencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(p float64) float64 {
		i := int(p*float64(len(s))+0.5) - 1
		return ms(s[min(max(i, 0), len(s)-1)])
	}
	return Latency{Count: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(s[len(s)-1])}
}
