package routing

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Hooks are told what a worker did, so the caller can write the matching
// entries into the conversations. Each event reaches exactly one worker in
// the whole deployment: the one whose script claimed it. Any may be nil.
// The Assigned and Offered calls of one assignment round run at the same
// time, each for another conversation.
type Hooks struct {
	// Assigned: a conversation is an advisor's, directly (no offers).
	Assigned func(ctx context.Context, a Assignment)
	// Offered: a conversation was offered (a.Offer, a.Deadline); nobody
	// joined it yet, the advisor's channel has been told.
	Offered func(ctx context.Context, a Assignment)
	// Requeued: an active conversation is back in the queue because its
	// advisor was lost or stopped responding (r.Cause).
	Requeued func(ctx context.Context, r Requeue)
	// Abandoned: the visitor stayed away; routing has ended it.
	Abandoned func(ctx context.Context, conversation string)
	// OfferExpired: an offer was not accepted in time; the conversation
	// is back at its place in the queue.
	OfferExpired func(ctx context.Context, e ExpiredOffer)
	// MaxWaited: a conversation has waited Config.MaxWait and still waits;
	// the visitor may want alternatives. Once per conversation.
	MaxWaited func(ctx context.Context, conversation string)
}

// Worker assigns (or offers) waiting conversations, and fires heartbeat
// deadlines and timers. Every instance runs one; they may race freely, the
// scripts keep them apart, and a timer set by an instance that is gone
// fires on another's sweep.
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
		w.metrics.roundDuration.Observe(time.Since(start).Seconds())
		// The hooks of one batch run at once: each writes into its own
		// conversation (the joined entry), so a batch costs about one
		// round trip instead of one per conversation. The next batch waits
		// for them all.
		var wg sync.WaitGroup
		for _, a := range as {
			if a.Offer {
				if w.hooks.Offered != nil {
					wg.Go(func() { w.hooks.Offered(ctx, a) })
				}
				continue
			}
			w.metrics.assigned(a)
			if w.hooks.Assigned != nil {
				wg.Go(func() { w.hooks.Assigned(ctx, a) })
			}
		}
		wg.Wait()
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
		w.metrics.requeues.WithLabelValues(r.Cause).Inc()
		if w.hooks.Requeued != nil {
			w.hooks.Requeued(ctx, r)
		}
	}
	for _, r := range res.Withdrawn {
		w.metrics.requeues.WithLabelValues(r.Cause).Inc()
		w.metrics.offers.WithLabelValues(OfferWithdrawn).Inc()
	}
	for _, e := range res.OffersExpired {
		w.metrics.offers.WithLabelValues(OfferExpired).Inc()
		w.metrics.requeues.WithLabelValues(CauseOfferExpired).Inc()
		if w.hooks.OfferExpired != nil {
			w.hooks.OfferExpired(ctx, e)
		}
	}
	for _, a := range res.Abandonments {
		w.metrics.Released(a.Was)
		state := StatusWaiting
		if a.Was == StatusActive {
			state = StatusActive
		}
		w.metrics.abandoned.WithLabelValues(state).Inc()
		if w.hooks.Abandoned != nil {
			w.hooks.Abandoned(ctx, a.Conversation)
		}
	}
	for _, id := range res.MaxWaited {
		w.metrics.maxWaited.Inc()
		if w.hooks.MaxWaited != nil {
			w.hooks.MaxWaited(ctx, id)
		}
	}
}
