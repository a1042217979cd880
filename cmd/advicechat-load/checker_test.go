package main

import (
	"testing"
	"time"
)

// step is one thing a checker is told.
type step struct {
	op         string // sent, ack, stream, entry, interrupted, done
	conv, side string // side: the sender (sent, ack) or the receiver
	cid        string
	seq        int64 // ack and entry: the seq; stream: the mark
}

func entryOf(from, cid string, seq int64) inFrame {
	f := inFrame{Type: "entry", Seq: seq, Kind: "message", From: from, ID: cid, Text: "text " + cid, at: time.Now()}
	if cid == "" {
		f.Kind, f.From = "joined", "system"
	}
	return f
}

// play feeds steps to a fresh checker. "stream" starts a new socket
// stream for side; "entry" goes to the latest stream of that side.
func play(steps []step) Result {
	c := NewChecker()
	streams := map[string]*Stream{}
	now := time.Now()
	for _, s := range steps {
		switch s.op {
		case "start":
			c.Started(s.conv)
		case "sent":
			c.Sent(s.conv, s.side, s.cid, "text "+s.cid, now)
		case "ack":
			c.Acked(s.conv, s.side, s.cid, s.seq, now)
		case "stream":
			streams[s.conv+s.side] = c.Stream(s.conv, s.side, s.seq)
		case "entry":
			from := otherSide(s.side)
			if s.cid == "" || s.cid[0] == 'a' {
				from = sideAdvisor
			}
			if s.cid != "" && s.cid[0] == 'v' {
				from = sideVisitor
			}
			streams[s.conv+s.side].Entry(entryOf(from, s.cid, s.seq))
		case "interrupted":
			streams[s.conv+s.side].Interrupted(s.seq)
		case "done":
			c.Done(s.conv, s.side)
		}
	}
	return c.Result()
}

// conversation c1: joined (1), v1 (2), a1 (3), as both sides see it.
func base() []step {
	return []step{
		{op: "start", conv: "c1"},
		{op: "stream", conv: "c1", side: sideVisitor},
		{op: "stream", conv: "c1", side: sideAdvisor},
		{op: "entry", conv: "c1", side: sideVisitor, seq: 1},
		{op: "entry", conv: "c1", side: sideAdvisor, seq: 1},
		{op: "sent", conv: "c1", side: sideVisitor, cid: "v1"},
		{op: "ack", conv: "c1", side: sideVisitor, cid: "v1", seq: 2},
		{op: "entry", conv: "c1", side: sideVisitor, cid: "v1", seq: 2},
		{op: "entry", conv: "c1", side: sideAdvisor, cid: "v1", seq: 2},
		{op: "sent", conv: "c1", side: sideAdvisor, cid: "a1"},
		{op: "ack", conv: "c1", side: sideAdvisor, cid: "a1", seq: 3},
	}
}

func with(steps ...step) []step { return append(base(), steps...) }

func TestChecker(t *testing.T) {
	done := []step{{op: "done", conv: "c1", side: sideVisitor}, {op: "done", conv: "c1", side: sideAdvisor}}
	delivered := []step{
		{op: "entry", conv: "c1", side: sideVisitor, cid: "a1", seq: 3},
		{op: "entry", conv: "c1", side: sideAdvisor, cid: "a1", seq: 3},
	}
	tests := []struct {
		name  string
		steps []step
		want  Result
	}{
		{"all delivered", append(with(delivered...), done...),
			Result{Conversations: 1, Completed: 1, Sent: 2, Acked: 2, Delivered: 2}},
		{"acked, not received, conversation over: lost", with(done...),
			Result{Conversations: 1, Completed: 1, Sent: 2, Acked: 2, Delivered: 1, Lost: 1}},
		{"acked, not received yet: unverified", with(),
			Result{Conversations: 1, Unfinished: 1, Sent: 2, Acked: 2, Delivered: 1, Unverified: 1}},
		{"retry stored twice: duplicated", append(with(delivered...),
			step{op: "ack", conv: "c1", side: sideVisitor, cid: "v1", seq: 4},
			step{op: "entry", conv: "c1", side: sideAdvisor, cid: "v1", seq: 4}),
			Result{Conversations: 1, Unfinished: 1, Sent: 2, Acked: 2, Delivered: 2, Duplicated: 1}},
		{"one socket goes back: out of order", append(with(delivered...),
			step{op: "entry", conv: "c1", side: sideVisitor, cid: "v1", seq: 2}),
			Result{Conversations: 1, Unfinished: 1, Sent: 2, Acked: 2, Delivered: 2, OutOfOrder: 1}},
		{"one socket skips: gap and hole", with(
			step{op: "entry", conv: "c1", side: sideVisitor, seq: 5}),
			Result{Conversations: 1, Unfinished: 1, Sent: 2, Acked: 2, Delivered: 1, Gaps: 1, Holes: 2, Unverified: 1}},
		{"resume starts beyond the resume point: gap", append(with(delivered...),
			step{op: "stream", conv: "c1", side: sideVisitor, seq: 3},
			step{op: "entry", conv: "c1", side: sideVisitor, seq: 5}),
			Result{Conversations: 1, Unfinished: 1, Sent: 2, Acked: 2, Delivered: 2, Gaps: 1, Holes: 1}},
		{"resume repeats what the client has: server duplicates", append(with(delivered...),
			step{op: "stream", conv: "c1", side: sideAdvisor, seq: 3},
			step{op: "entry", conv: "c1", side: sideAdvisor, cid: "v1", seq: 2},
			step{op: "entry", conv: "c1", side: sideAdvisor, cid: "a1", seq: 3},
			step{op: "entry", conv: "c1", side: sideAdvisor, seq: 4}),
			Result{Conversations: 1, Unfinished: 1, Sent: 2, Acked: 2, Delivered: 2, ServerDuplicates: 2}},
		{"ack names another message's seq: mismatched", with(
			step{op: "entry", conv: "c1", side: sideVisitor, cid: "v9", seq: 3}),
			Result{Conversations: 1, Unfinished: 1, Sent: 2, Acked: 2, Delivered: 1, Mismatched: 1}},
		{"not acked but received: unacked delivered", with(
			step{op: "sent", conv: "c1", side: sideAdvisor, cid: "a2"},
			step{op: "entry", conv: "c1", side: sideVisitor, cid: "a1", seq: 3},
			step{op: "entry", conv: "c1", side: sideVisitor, cid: "a2", seq: 4}),
			Result{Conversations: 1, Unfinished: 1, Sent: 3, Acked: 2, Unacked: 1, Delivered: 3, UnackedDelivered: 1}},
		{"loss told to both sides, message sent again: reported, not lost", append(with(delivered...),
			// A failover loses a1 (seq 3); both sides are told, the advisor
			// sends a1 again and it is stored at 3 once more.
			step{op: "interrupted", conv: "c1", side: sideVisitor, seq: 2},
			step{op: "interrupted", conv: "c1", side: sideAdvisor, seq: 2},
			step{op: "ack", conv: "c1", side: sideAdvisor, cid: "a1", seq: 3},
			step{op: "entry", conv: "c1", side: sideVisitor, cid: "a1", seq: 3},
			step{op: "entry", conv: "c1", side: sideAdvisor, cid: "a1", seq: 3},
			step{op: "done", conv: "c1", side: sideVisitor}, step{op: "done", conv: "c1", side: sideAdvisor}),
			Result{Conversations: 1, Completed: 1, Sent: 2, Acked: 2, Delivered: 2, Interrupted: 2, LostReported: 1}},
		{"loss told, message not sent again: lost", append(with(delivered...),
			step{op: "interrupted", conv: "c1", side: sideVisitor, seq: 2},
			step{op: "interrupted", conv: "c1", side: sideAdvisor, seq: 2},
			step{op: "done", conv: "c1", side: sideVisitor}, step{op: "done", conv: "c1", side: sideAdvisor}),
			Result{Conversations: 1, Completed: 1, Sent: 2, Acked: 1, Unacked: 1, Delivered: 2, Interrupted: 2, LostReported: 1}},
		{"conversation the run did not start: orphaned", []step{
			{op: "stream", conv: "c2", side: sideAdvisor},
			{op: "entry", conv: "c2", side: sideAdvisor, seq: 1}},
			Result{Orphaned: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := play(tt.steps)
			got.AckLatency, got.DeliveryLatency = Latency{}, Latency{}
			if got != tt.want {
				t.Errorf("Result() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestLatencyOf(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := latencyOf(ds)
	want := Latency{Count: 100, P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Errorf("latencyOf(1..100 ms) = %+v, want %+v", got, want)
	}
	if got := latencyOf(nil); got != (Latency{}) {
		t.Errorf("latencyOf(nil) = %+v, want zero", got)
	}
}

func TestConvView(t *testing.T) {
	var v convView
	for _, tt := range []struct {
		seq      int64
		fresh    bool
		wantHigh int64
	}{
		{1, true, 1}, {3, true, 1}, {3, false, 1}, {2, true, 3}, {1, false, 3}, {4, true, 4},
	} {
		if got := v.add(tt.seq, 100*tt.seq); got != tt.fresh || v.high != tt.wantHigh {
			t.Errorf("add(%d) = %v, high %d; want %v, high %d", tt.seq, got, v.high, tt.fresh, tt.wantHigh)
		}
	}
	if v.highAt() != 400 {
		t.Errorf("highAt() = %d, want 400 (the at of seq 4)", v.highAt())
	}
	v.add(6, 600)
	v.interrupted(3)
	if v.high != 3 || v.highAt() != 300 || v.seen[6] {
		t.Errorf("after interrupted(3): high %d at %d, seen %v; want high 3 at 300, nothing after", v.high, v.highAt(), v.seen)
	}
	if !v.add(4, 450) || v.high != 4 {
		t.Errorf("after interrupted(3), seq 4 must be new again")
	}
}
