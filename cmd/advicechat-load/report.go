package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// Report is the outcome of one Run.
type Report struct {
	Result
	Targets []string `json:"targets"`
	// Seconds from the first scheduled start to the end of the run;
	// StartSeconds is the part in which conversations were started.
	Seconds      float64 `json:"seconds"`
	StartSeconds float64 `json:"start_seconds"`
	// Deliberate connection drops, by side.
	Reconnects map[string]int `json:"reconnects"`
	// Messages sent again after a reconnect or a refusal, same client id.
	Retries int `json:"retries"`
	// Errors by kind: dial failures, close codes of connections the
	// tool did not close itself, server error codes, lost starts.
	Errors     map[string]int `json:"errors"`
	Throughput Throughput     `json:"throughput"`
	// Stuck describes every unfinished conversation.
	Stuck []StuckConv `json:"stuck,omitempty"`
}

// Throughput is per second over Seconds.
type Throughput struct {
	Conversations float64 `json:"conversations_per_second"`
	Acked         float64 `json:"acked_per_second"`
	Delivered     float64 `json:"delivered_per_second"`
}

// OK tells whether the guarantee held for every message and every
// acked message could be checked.
func (r Report) OK() bool { return r.Violations() == 0 && r.Unverified == 0 }

func (r *runner) report(start, lastStart, end time.Time, started int) Report {
	rep := Report{
		Result:       r.chk.Result(),
		Stuck:        r.chk.Stuck(),
		Targets:      r.cfg.Targets,
		Seconds:      end.Sub(start).Seconds(),
		StartSeconds: lastStart.Sub(start).Seconds(),
	}
	r.stats.mu.Lock()
	rep.Reconnects = maps.Clone(r.stats.reconnects)
	rep.Errors = maps.Clone(r.stats.errors)
	rep.Retries = r.stats.retries
	r.stats.mu.Unlock()
	if started > rep.Conversations {
		// Visitors that never learned their conversation's id.
		rep.Errors["conversation_never_started"] = started - rep.Conversations
	}
	if rep.Seconds > 0 {
		rep.Throughput = Throughput{
			Conversations: float64(rep.Conversations) / rep.Seconds,
			Acked:         float64(rep.Acked) / rep.Seconds,
			Delivered:     float64(rep.Delivered) / rep.Seconds,
		}
	}
	return rep
}

// WriteText prints the report for people.
func (r Report) WriteText(w io.Writer) {
	verdict := "OK: every acked message reached the other side exactly once, in order"
	switch {
	case r.Violations() > 0:
		verdict = fmt.Sprintf("FAILED: %d violations of the delivery guarantee", r.Violations())
	case r.Unverified > 0:
		verdict = fmt.Sprintf("UNVERIFIED: %d acked messages in unfinished conversations", r.Unverified)
	}
	fmt.Fprintf(w, "advicechat-load against %v\n", r.Targets)
	fmt.Fprintf(w, "  time           %.1fs (starting conversations for %.1fs)\n", r.Seconds, r.StartSeconds)
	fmt.Fprintf(w, "  conversations  %d started, %d completed, %d unfinished, %d orphaned\n", r.Conversations, r.Completed, r.Unfinished, r.Orphaned)
	fmt.Fprintf(w, "  messages       %d sent, %d acked, %d unacked, %d delivered, %d retries\n", r.Sent, r.Acked, r.Unacked, r.Delivered, r.Retries)
	fmt.Fprintf(w, "  guarantee      lost %d, duplicated %d, out_of_order %d, gaps %d, holes %d, mismatched %d\n", r.Lost, r.Duplicated, r.OutOfOrder, r.Gaps, r.Holes, r.Mismatched)
	fmt.Fprintf(w, "  allowed        server_duplicates %d (dropped by seq), unverified %d, unacked_delivered %d\n", r.ServerDuplicates, r.Unverified, r.UnackedDelivered)
	if r.Interrupted > 0 {
		fmt.Fprintf(w, "  told of loss   interrupted %d, acked messages lost and sent again %d\n", r.Interrupted, r.LostReported)
	}
	fmt.Fprintf(w, "  reconnects     visitor %d, advisor %d (deliberate)\n", r.Reconnects[sideVisitor], r.Reconnects[sideAdvisor])
	fmt.Fprintf(w, "  latency ms     ack      p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%d)\n", r.AckLatency.P50, r.AckLatency.P90, r.AckLatency.P99, r.AckLatency.Max, r.AckLatency.Count)
	fmt.Fprintf(w, "                 delivery p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n=%d)\n", r.DeliveryLatency.P50, r.DeliveryLatency.P90, r.DeliveryLatency.P99, r.DeliveryLatency.Max, r.DeliveryLatency.Count)
	fmt.Fprintf(w, "  throughput     %.1f conversations/s, %.1f acked/s, %.1f delivered/s\n", r.Throughput.Conversations, r.Throughput.Acked, r.Throughput.Delivered)
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "  errors        ")
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(w, " %s=%d", k, r.Errors[k])
		}
		fmt.Fprintln(w)
	}
	for _, st := range r.Stuck {
		fmt.Fprintf(w, "  unfinished %s: visitor done %v (max seq %d), advisor done %v (max seq %d), gave up %v, unacked %v\n",
			st.ID, st.VisitorDone, st.VisitorMax, st.AdvisorDone, st.AdvisorMax, st.GaveUp, st.Unacked)
		for _, l := range st.Trace {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	fmt.Fprintf(w, "%s\n", verdict)
}
