package routing

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestWorker(t *testing.T) {
	q, _, clk := mustQueue(t, Config{AdvisorGrace: time.Minute, VisitorGrace: 5 * time.Minute})
	reg := prometheus.NewRegistry()
	assigned := make(chan Assignment, 10)
	requeued := make(chan Requeue, 10)
	abandoned := make(chan string, 10)
	w := NewWorker(q, Hooks{
		Assigned:  func(_ context.Context, a Assignment) { assigned <- a },
		Requeued:  func(_ context.Context, r Requeue) { requeued <- r },
		Abandoned: func(_ context.Context, id string) { abandoned <- id },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)), NewMetrics(reg), 5*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitFor):
			t.Errorf("Worker.Run did not return within %v of the cancel", waitFor)
		}
	}()

	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "Ann", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	w.Notify(q.ChangedChannel(), []byte("enqueue"))
	select {
	case a := <-assigned:
		if a.Conversation != "c1" || a.Advisor != "ann" || a.Alias != "Ann" || !a.Enqueued.Equal(t0) {
			t.Errorf("Assigned(%+v), want c1 to ann", a)
		}
	case <-time.After(waitFor):
		t.Fatalf("no assignment within %v", waitFor)
	}

	// ann's heartbeat stops: a later sweep puts c1 back.
	clk.Set(at(2 * time.Minute))
	select {
	case r := <-requeued:
		if r != (Requeue{"c1", "ann", CauseAdvisorLost}) {
			t.Errorf("Requeued(%+v), want c1 from ann", r)
		}
	case <-time.After(waitFor):
		t.Fatalf("no requeue within %v", waitFor)
	}

	// Then the visitor's.
	clk.Set(at(10 * time.Minute))
	select {
	case id := <-abandoned:
		if id != "c1" {
			t.Errorf("Abandoned(%s), want c1", id)
		}
	case <-time.After(waitFor):
		t.Fatalf("no abandonment within %v", waitFor)
	}

	got := metricValues(t, reg)
	for name, want := range map[string]float64{
		"advicechat_assignments_total":                  1,
		"advicechat_requeues_total{cause=advisor_lost}": 1,
		"advicechat_abandoned_total{state=waiting}":     1,
		"advicechat_wait_seconds{queue=public}":         1, // samples
	} {
		if got[name] != want {
			t.Errorf("metric %s = %v, want %v", name, got[name], want)
		}
	}
	if len(assigned)+len(requeued)+len(abandoned) != 0 {
		t.Errorf("hooks called more often than once each")
	}
}
