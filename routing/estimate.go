package routing

import (
	"context"
	"fmt"
	"time"
)

// estimateBasis is what the wait estimates are made of.
type estimateBasis struct {
	// handling is the mean of the recent handling times, or
	// Config.DefaultHandling without any.
	handling time.Duration
	// capacity is, per queue, the summed capacity of the advisors on
	// duty who serve it; free the part of it not held or offered.
	capacity, free map[string]int
	// waiting is, per queue, how many wait in it.
	waiting map[string]int
}

// wait estimates the wait of the conversation at position (1 is next) in
// queue. The free places of the advisors serving the queue take the first
// ones at once; beyond them, it takes as many handling times as the
// advisors need to free that many places: (position - free) * handling /
// capacity. It ignores languages, other queues sharing those advisors and
// the time current conversations have already run: a rough guide, not a
// promise. ok is false when nobody on duty serves the queue.
func (b estimateBasis) wait(queue string, position int) (time.Duration, bool) {
	c := b.capacity[queue]
	if c <= 0 {
		return 0, false
	}
	ahead := max(0, position-b.free[queue])
	return time.Duration(int64(ahead) * int64(b.handling) / int64(c)), true
}

func (q *Queue) estimateBasis(ctx context.Context) (estimateBasis, error) {
	args := q.args()
	for _, n := range q.cfg.Queues {
		args = append(args, n)
	}
	res, err := estimateScript.Run(ctx, q.rdb, []string{q.handledKey()}, args...).Slice()
	if err != nil {
		return estimateBasis{}, fmt.Errorf("wait estimate: %w", err)
	}
	if len(res) != 2+3*len(q.cfg.Queues) {
		return estimateBasis{}, fmt.Errorf("wait estimate: unexpected reply %v", res)
	}
	b := estimateBasis{handling: q.cfg.DefaultHandling, capacity: make(map[string]int), free: make(map[string]int), waiting: make(map[string]int)}
	if sum, n := num(res[0]), num(res[1]); n > 0 {
		b.handling = time.Duration(sum/n) * time.Millisecond
	}
	for i, name := range q.cfg.Queues {
		b.capacity[name] = int(num(res[2+3*i]))
		b.waiting[name] = int(num(res[3+3*i]))
		b.free[name] = int(num(res[4+3*i]))
	}
	return b, nil
}

// ExpectedWait estimates how long a conversation of normal priority
// enqueued now in queue would wait, as ConversationState.EstimatedWait
// does for one waiting; ok is false when no advisor on duty serves the
// queue, so nobody can say. The caller decides what is too long (a "busy,
// come back later" cap).
func (q *Queue) ExpectedWait(ctx context.Context, queue string) (d time.Duration, ok bool, err error) {
	if !q.HasQueue(queue) {
		return 0, false, fmt.Errorf("expected wait: %w %q", ErrUnknownQueue, queue)
	}
	b, err := q.estimateBasis(ctx)
	if err != nil {
		return 0, false, err
	}
	d, ok = b.wait(queue, b.waiting[queue]+1)
	return d, ok, nil
}
