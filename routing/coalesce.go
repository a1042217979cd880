package routing

import (
	"context"
	"sync"
	"time"
)

// Many sockets of an instance read at once: after a routing change each
// console its queue view, and in a surge many visitors' sockets their
// state when it changed status (an assignment whose joined entry has not
// come yet; the positions of those still waiting come from a StateSet,
// not from State). Read one by one, that is a round trip per socket. The
// two coalescers below turn the reads that arrive together into one: the
// reads asked while one is under way are done together, once it is back,
// so a reader never gets an answer read before it asked. What must not
// wait behind a batch (an advisor's check of every message) reads on its
// own (Holder).

// coalesceTimeout bounds one shared read; it does not end with the context
// of any one reader, since others wait for it too.
const coalesceTimeout = 5 * time.Second

// stateReq is one conversation's state asked for.
type stateReq struct {
	id   string
	done chan struct{}
	st   ConversationState
	err  error
}

// stateBatcher gathers State calls into States calls.
type stateBatcher struct {
	mu      sync.Mutex
	pending []*stateReq
	running bool
}

// maxStateBatch bounds one States call.
const maxStateBatch = 1000

func (b *stateBatcher) get(ctx context.Context, q *Queue, id string) (ConversationState, error) {
	r := &stateReq{id: id, done: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, r)
	if !b.running {
		b.running = true
		go b.run(q)
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.st, r.err
	case <-ctx.Done():
		return ConversationState{}, ctx.Err()
	}
}

func (b *stateBatcher) run(q *Queue) {
	for {
		b.mu.Lock()
		n := min(len(b.pending), maxStateBatch)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := b.pending[:n:n]
		b.pending = b.pending[n:]
		b.mu.Unlock()
		ids := make([]string, n)
		for i, r := range batch {
			ids[i] = r.id
		}
		ctx, cancel := context.WithTimeout(context.Background(), coalesceTimeout)
		sts, err := q.States(ctx, ids)
		cancel()
		for i, r := range batch {
			if err != nil {
				r.err = err
			} else {
				r.st = sts[i]
			}
			close(r.done)
		}
	}
}

// overviewCall is one Overview read that several wait for.
type overviewCall struct {
	done chan struct{}
	ov   Overview
	err  error
}

// overviewShare lets the Overview calls that arrive together share one
// read: a call while none runs starts one; calls while one runs wait for
// the next, which starts when the running one is back.
type overviewShare struct {
	mu      sync.Mutex
	running *overviewCall
	queued  *overviewCall
}

func (s *overviewShare) get(ctx context.Context, q *Queue) (Overview, error) {
	s.mu.Lock()
	var c *overviewCall
	switch {
	case s.queued != nil:
		c = s.queued
	case s.running != nil:
		s.queued = &overviewCall{done: make(chan struct{})}
		c = s.queued
	default:
		s.running = &overviewCall{done: make(chan struct{})}
		c = s.running
		go s.run(q, c)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.ov, c.err
	case <-ctx.Done():
		return Overview{}, ctx.Err()
	}
}

func (s *overviewShare) run(q *Queue, c *overviewCall) {
	for c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), coalesceTimeout)
		c.ov, c.err = q.Overview(ctx)
		cancel()
		close(c.done)
		s.mu.Lock()
		c, s.running, s.queued = s.queued, s.queued, nil
		s.mu.Unlock()
	}
}

// SharedOverview is Overview for the many readers of one instance: the
// reads asked while one is under way are one read, done once it is back.
// Every caller gets an overview read after it called. The answer is
// shared: read it, never change it.
func (q *Queue) SharedOverview(ctx context.Context) (Overview, error) {
	return q.overviews.get(ctx, q)
}
