package routing

import (
	"context"
	"log/slog"
	"time"
)

// Hooks are told what a worker did, so the caller can write the matching
// entries into the conversations. Each event reaches exactly one worker in
// the whole deployment: the one whose script claimed it.
type Hooks struct {
	Assigned  func(ctx context.Context, a Assignment)
	Requeued  func(ctx context.Context, r Requeue)
	Abandoned func(ctx context.Context, conversation string)
}

// Worker assigns waiting conversations and fires heartbeat deadlines. Every
// instance runs one; they may race freely, the scripts keep them apart.
type Worker struct {
	q        *Queue
	hooks    Hooks
	log      *slog.Logger
	metrics  *Metrics
	interval time.Duration
	wake     chan struct{}
}

// assignBatch is how many assignments one script call makes at most; the
// worker calls again while a batch comes back full.
const assignBatch = 16

// NewWorker returns a worker that sweeps every interval and assigns on
// every wake-up and every interval.
func NewWorker(q *Queue, hooks Hooks, log *slog.Logger, m *Metrics, interval time.Duration) *Worker {
	if interval <= 0 {
		interval = time.Second
	}
	return &Worker{q: q, hooks: hooks, log: log, metrics: m, interval: interval, wake: make(chan struct{}, 1)}
}

// Wake asks for an assignment round soon. It never blocks.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Notify makes the worker a watcher of the routing channel: any change may
// make an assignment possible.
func (w *Worker) Notify(string, []byte) { w.Wake() }

// Resync wakes the worker after its subscription came back.
func (w *Worker) Resync(string) { w.Wake() }

// Run works until ctx is done.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.sweep(ctx)
			w.assign(ctx)
		case <-w.wake:
			w.assign(ctx)
		}
	}
}

func (w *Worker) assign(ctx context.Context) {
	for ctx.Err() == nil {
		start := time.Now()
		as, err := w.q.Assign(ctx, assignBatch)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("assign failed", "err", err)
			}
			return
		}
		w.metrics.assignLatency.Observe(time.Since(start).Seconds())
		now := w.q.cfg.Now()
		for _, a := range as {
			w.metrics.assignments.Inc()
			w.metrics.waitSeconds.Observe(now.Sub(a.Enqueued).Seconds())
			if w.hooks.Assigned != nil {
				w.hooks.Assigned(ctx, a)
			}
		}
		if len(as) < assignBatch {
			return
		}
	}
}

func (w *Worker) sweep(ctx context.Context) {
	res, err := w.q.Sweep(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("sweep failed", "err", err)
		}
		return
	}
	for _, r := range res.Requeued {
		w.metrics.requeues.WithLabelValues("advisor_lost").Inc()
		if w.hooks.Requeued != nil {
			w.hooks.Requeued(ctx, r)
		}
	}
	for _, id := range res.Abandoned {
		w.metrics.abandoned.Inc()
		if w.hooks.Abandoned != nil {
			w.hooks.Abandoned(ctx, id)
		}
	}
}
