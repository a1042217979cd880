package routing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// estimateBasis is what the wait estimates are made of.
type estimateBasis struct {
	now time.Time
	// handling is the mean of the recent handling times, or
	// Config.DefaultHandling without any.
	handling time.Duration
	// capacity is, per queue, the summed capacity of the advisors on
	// duty who serve it; free the part of it not held or offered.
	capacity, free map[string]int
	// waiting is, per queue, how many wait in it.
	waiting map[string]int
	// spoken is, per queue, the languages of the advisors on duty who
	// serve it ("*": every language).
	spoken map[string]map[string]bool
	// fallbackAfter and fallbackLangs are the configuration's.
	fallbackAfter time.Duration
	fallbackLangs []string
}

// want is what a conversation needs, for its estimate.
type want struct {
	queue, lang string
	// fallback: the visitor accepts an advisor who speaks a fallback
	// language; enqueued: since when it waits (the fallback counts from
	// there).
	fallback bool
	enqueued time.Time
}

// wait estimates the wait of the conversation at position (1 is next) in
// its queue. The free places of the advisors serving the queue take the
// first ones at once; beyond them, it takes as many handling times as the
// advisors need to free that many places: (position - free) * handling /
// capacity. If nobody on duty speaks its language it can only go to a
// fallback speaker, once the fallback time is up: it waits at least until
// then, and nobody can say if it may not fall back or nobody speaks a
// fallback language either. It ignores other queues sharing those advisors
// and the time current conversations have already run: a rough guide, not
// a promise. ok is false when nobody can say.
func (b estimateBasis) wait(w want, position int) (time.Duration, bool) {
	c := b.capacity[w.queue]
	if c <= 0 {
		return 0, false
	}
	ahead := max(0, position-b.free[w.queue])
	d := time.Duration(int64(ahead) * int64(b.handling) / int64(c))
	spoken := b.spoken[w.queue]
	if w.lang == "" || spoken["*"] || spoken[w.lang] {
		return d, true
	}
	if !w.fallback || b.fallbackAfter <= 0 || !slices.ContainsFunc(b.fallbackLangs, func(l string) bool { return spoken[l] }) {
		return 0, false
	}
	return max(d, w.enqueued.Add(b.fallbackAfter).Sub(b.now)), true
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
	if len(res) != 2+4*len(q.cfg.Queues) {
		return estimateBasis{}, fmt.Errorf("wait estimate: unexpected reply %v", res)
	}
	b := estimateBasis{now: q.cfg.Now(), handling: q.cfg.DefaultHandling, capacity: make(map[string]int), free: make(map[string]int),
		waiting: make(map[string]int), spoken: make(map[string]map[string]bool),
		fallbackAfter: q.cfg.FallbackAfter, fallbackLangs: q.cfg.FallbackLanguages}
	if sum, n := num(res[0]), num(res[1]); n > 0 {
		b.handling = time.Duration(sum/n) * time.Millisecond
	}
	for i, name := range q.cfg.Queues {
		b.capacity[name] = int(num(res[2+4*i]))
		b.waiting[name] = int(num(res[3+4*i]))
		b.free[name] = int(num(res[4+4*i]))
		b.spoken[name] = map[string]bool{}
		if l, _ := res[5+4*i].(string); l != "" {
			for _, x := range strings.Split(l, ",") {
				b.spoken[name][x] = true
			}
		}
	}
	return b, nil
}

// ExpectedWait estimates how long a conversation of normal priority
// enqueued now in queue would wait, whatever its language (see
// ExpectedWaitFor); ok is false when no advisor on duty serves the queue,
// so nobody can say. The caller decides what is too long (a "busy, come
// back later" cap).
func (q *Queue) ExpectedWait(ctx context.Context, queue string) (d time.Duration, ok bool, err error) {
	return q.ExpectedWaitFor(ctx, Need{Audience: queue})
}

// ExpectedWaitFor estimates how long a conversation of normal priority
// with need n enqueued now would wait, as ConversationState.EstimatedWait
// does for one waiting: also by its language, when n has one. ok is false
// when nobody can say: no advisor on duty serves the queue, or none speaks
// the language and it may not (or cannot) fall back.
func (q *Queue) ExpectedWaitFor(ctx context.Context, n Need) (d time.Duration, ok bool, err error) {
	if !q.HasQueue(n.Audience) {
		return 0, false, fmt.Errorf("expected wait: %w %q", ErrUnknownQueue, n.Audience)
	}
	b, err := q.estimateBasis(ctx)
	if err != nil {
		return 0, false, err
	}
	d, ok = b.wait(want{queue: n.Audience, lang: n.Lang, fallback: !n.NoFallback, enqueued: b.now}, b.waiting[n.Audience]+1)
	return d, ok, nil
}
