package routing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// hookLog records what a worker's hooks were told, and rings changed
// (shared by the logs of a test) after each.
type hookLog struct {
	mu      sync.Mutex
	events  map[string]int // "kind id[ advisor]" -> calls
	changed chan struct{}
}

func newHookLog(changed chan struct{}) *hookLog {
	return &hookLog{events: make(map[string]int), changed: changed}
}

func (l *hookLog) add(e string) {
	l.mu.Lock()
	l.events[e]++
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

func (l *hookLog) hooks() Hooks {
	return Hooks{
		Assigned:     func(_ context.Context, a Assignment) { l.add("assigned " + a.Conversation + " " + a.Advisor) },
		Offered:      func(_ context.Context, a Assignment) { l.add("offered " + a.Conversation + " " + a.Advisor) },
		Requeued:     func(_ context.Context, r Requeue) { l.add("requeued " + r.Conversation + " " + r.Advisor) },
		Abandoned:    func(_ context.Context, id string) { l.add("abandoned " + id) },
		OfferExpired: func(_ context.Context, e ExpiredOffer) { l.add("expired " + e.Conversation + " " + e.Advisor) },
		MaxWaited:    func(_ context.Context, id string) { l.add("maxwait " + id) },
	}
}

// total sums what the logs were told, by event, of events starting with
// prefix.
func total(prefix string, logs ...*hookLog) map[string]int {
	out := make(map[string]int)
	for _, l := range logs {
		l.mu.Lock()
		for e, n := range l.events {
			if strings.HasPrefix(e, prefix) {
				out[e] += n
			}
		}
		l.mu.Unlock()
	}
	return out
}

// waitUntil waits until cond holds, checking it each time a hook is told
// something, for at most waitFor.
func waitUntil(tb testing.TB, what string, changed <-chan struct{}, cond func() bool) {
	tb.Helper()
	deadline := time.After(waitFor)
	for !cond() {
		select {
		case <-changed:
		case <-deadline:
			tb.Fatalf("%s: not within %v", what, waitFor)
		}
	}
}

// instance is one instance of the service: its own client, Queue and
// Worker, with its own metrics.
type instance struct {
	q    *Queue
	w    *Worker
	log  *hookLog
	reg  *prometheus.Registry
	stop context.CancelFunc
	done chan struct{}
}

func newInstance(q *Queue, changed chan struct{}) *instance {
	in := &instance{q: q, log: newHookLog(changed), reg: prometheus.NewRegistry()}
	in.w = NewWorker(q, in.log.hooks(), slog.New(slog.NewTextHandler(io.Discard, nil)), NewMetrics(in.reg), time.Millisecond)
	return in
}

// start runs the instance's worker until halt.
func (in *instance) start(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in.stop, in.done = cancel, make(chan struct{})
	go func() {
		defer close(in.done)
		in.w.Run(ctx)
	}()
	tb.Cleanup(in.halt)
}

// halt stops the worker, as if the instance died, and waits until it has.
func (in *instance) halt() {
	if in.stop == nil {
		return
	}
	in.stop()
	<-in.done
	in.stop = nil
}

// timerMembers lists the timers in Redis.
func timerMembers(tb testing.TB, q *Queue) []string {
	tb.Helper()
	m, err := q.rdb.ZRange(context.Background(), q.timersKey(), 0, -1).Result()
	if err != nil {
		tb.Fatalf("ZRANGE timers = %v", err)
	}
	sort.Strings(m)
	return m
}

// TestTimersFireOnceAcrossInstances: timers set by one instance fire on
// another's sweep after the first is gone, and however many instances
// sweep at once, each timer fires exactly once.
func TestTimersFireOnceAcrossInstances(t *testing.T) {
	ctx := context.Background()
	cfg := Config{OfferTimeout: offerTimeout, MaxWait: 5 * time.Minute, MissedOffers: 10, AdvisorGrace: 24 * time.Hour, VisitorGrace: 24 * time.Hour}
	q, r, clk := mustQueue(t, cfg)
	cfg = q.Config()
	changed := make(chan struct{}, 1)
	newQueue := func() *Queue {
		qi, err := New(mustClient(t, r), cfg)
		if err != nil {
			t.Fatalf("New = %v", err)
		}
		return qi
	}
	a, b := newInstance(newQueue(), changed), newInstance(newQueue(), changed)

	// Instance A: the conversations come in through it, its worker makes
	// the offer; then it dies.
	a.start(t)
	mustOnDuty(t, a.q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	for i, id := range []string{"c1", "c2", "c3"} {
		clk.Set(at(time.Duration(i) * time.Second))
		mustEnqueue(t, a.q, id, "public", 0)
	}
	a.w.Wake()
	waitUntil(t, "A offers c1 to ann", changed, func() bool { return total("offered", a.log)["offered c1 ann"] == 1 })
	a.halt()
	if got, want := timerMembers(t, q), []string{"maxwait:c1", "maxwait:c2", "maxwait:c3", "offer:c1:ann"}; !slices.Equal(got, want) {
		t.Fatalf("timers = %q, want %q", got, want)
	}

	// Instance B sweeps: the offer expires, once.
	clk.Set(at(offerTimeout + 2*time.Second))
	for range 3 {
		b.w.sweep(ctx)
	}
	if got, want := total("expired", b.log), map[string]int{"expired c1 ann": 1}; !mapsEqual(got, want) {
		t.Errorf("B's OfferExpired calls = %v, want %v", got, want)
	}
	if st := mustState(t, q, "c1"); st.Status != StatusWaiting || st.Position != 1 {
		t.Errorf("State(c1) = %+v, want waiting at 1", st)
	}
	// The maximum wait of all three passes: each is told once.
	mustOffDuty(t, q, "ann")
	clk.Set(at(5*time.Minute + 2*time.Second))
	for range 3 {
		b.w.sweep(ctx)
	}
	want := map[string]int{"maxwait c1": 1, "maxwait c2": 1, "maxwait c3": 1}
	if got := total("maxwait", b.log); !mapsEqual(got, want) {
		t.Errorf("B's MaxWaited calls = %v, want %v", got, want)
	}
	if got := len(total("expired", a.log)) + len(total("maxwait", a.log)); got != 0 {
		t.Errorf("A, stopped, was told of %d timers", got)
	}

	// Now A (restarted) and B sweep and assign at once, every
	// millisecond: new conversations wait their maximum, then are
	// offered to bob, who lets the offers expire.
	clk.Set(at(time.Hour))
	var ids []string
	for i := range 4 {
		id := fmt.Sprintf("d%d", i)
		ids = append(ids, id)
		mustEnqueue(t, b.q, id, "professional", 0)
	}
	a2 := newInstance(newQueue(), changed)
	a2.start(t)
	b.start(t)
	clk.Set(at(time.Hour + 5*time.Minute))
	waitUntil(t, "all d waited the maximum", changed, func() bool { return len(total("maxwait d", a2.log, b.log)) == 4 })
	mustOnDuty(t, b.q, Advisor{Name: "bob", Capacity: 4, Audiences: []string{"professional"}})
	waitUntil(t, "all d offered", changed, func() bool { return len(total("offered d", a2.log, b.log)) == 4 })
	// The clock jumps with both workers stopped: a pass that read the time
	// before the jump and ran its script after it would offer again with
	// a deadline already past, and that offer would expire at once.
	a2.halt()
	b.halt()
	clk.Set(at(time.Hour + 5*time.Minute + offerTimeout))
	a2.start(t)
	b.start(t)
	waitUntil(t, "all d offers expired and offered again", changed, func() bool {
		offered := total("offered d", a2.log, b.log)
		for _, id := range ids {
			if offered["offered "+id+" bob"] < 2 {
				return false
			}
		}
		return len(total("expired d", a2.log, b.log)) == 4
	})
	// More sweeps of both, then both stop: nothing fires twice.
	for range 3 {
		a2.w.sweep(ctx)
		b.w.sweep(ctx)
	}
	a2.halt()
	b.halt()
	got := total("", a2.log, b.log)
	for _, id := range ids {
		for e, n := range map[string]int{"expired " + id + " bob": 1, "maxwait " + id: 1, "offered " + id + " bob": 2} {
			if got[e] != n {
				t.Errorf("%s told %d times, want %d", e, got[e], n)
			}
		}
	}
	for _, m := range timerMembers(t, q) {
		if strings.HasPrefix(m, "maxwait:") {
			t.Errorf("timer %s left after it fired", m)
		}
	}
	// Each instance's metrics count what it did; together, each once:
	// 5 of the 9 offers expired, the last 4 are still open.
	var expired, ended float64
	for _, in := range []*instance{a, b, a2} {
		got := metricValues(t, in.reg)
		expired += got["advicechat_offers_total{outcome=expired}"]
		for _, o := range []string{OfferAccepted, OfferExpired, OfferWithdrawn} {
			ended += got["advicechat_offers_total{outcome="+o+"}"]
		}
	}
	if expired != 5 || ended != 5 {
		t.Errorf("metrics: %v offers expired, %v ended, want 5, 5", expired, ended)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestMaxWait(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{MaxWait: 10 * time.Minute, AdvisorGrace: time.Hour, VisitorGrace: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	for i, id := range []string{"active", "requeued", "ended", "waiting", "late"} {
		clk.Set(at(time.Duration(i) * time.Second))
		mustEnqueue(t, q, id, "public", 0)
	}
	mustAssign(t, q, 1) // active
	mustRelease(t, q, "ended", StatusWaiting, "", true)
	if got := timerMembers(t, q); slices.Contains(got, "maxwait:ended") {
		t.Errorf("timers = %q: an ended conversation's timer stays", got)
	}
	clk.Set(at(10*time.Minute + 3*time.Second))
	res := mustSweep(t, q)
	if want := []string{"requeued", "waiting"}; !slices.Equal(sorted(res.MaxWaited), want) {
		t.Errorf("Sweep().MaxWaited = %q, want %q: active is not waiting, late is not due", res.MaxWaited, want)
	}
	if st := mustState(t, q, "waiting"); st.Status != StatusWaiting {
		t.Errorf("State(waiting) = %+v, want still waiting", st)
	}
	clk.Set(at(time.Hour))
	_ = q.TouchAdvisors(ctx, "ann")
	if res := mustSweep(t, q); !slices.Equal(res.MaxWaited, []string{"late"}) {
		t.Errorf("Sweep().MaxWaited = %q, want only late: the others fired already", res.MaxWaited)
	}
	// The active one is not told later, even back in the queue.
	mustOffDuty(t, q, "ann")
	if res := mustSweep(t, q); len(res.MaxWaited) != 0 {
		t.Errorf("Sweep().MaxWaited = %q, want none", res.MaxWaited)
	}
	if n := r.Client.ZCard(ctx, q.timersKey()).Val(); n != 0 {
		t.Errorf("timers left = %d, want 0", n)
	}
	// Without MaxWait, no timer.
	q2, _, _ := mustQueue(t, Config{})
	mustEnqueue(t, q2, "c1", "public", 1)
	if got := timerMembers(t, q2); len(got) != 0 {
		t.Errorf("timers without MaxWait = %q, want none", got)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// TestTimersAfterOutage: an outage moves the timers on by its length, as
// it does the heartbeat deadlines: an offer made before it does not
// expire the moment Redis is back.
func TestTimersAfterOutage(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{OfferTimeout: offerTimeout, AdvisorGrace: time.Hour, VisitorGrace: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	mustAssign(t, q, 1)
	mustSweep(t, q)
	// A minute without sweeps on both clocks.
	clk.Set(at(offerTimeout + time.Second))
	tm := r.Client.Time(ctx).Val()
	r.Client.Set(ctx, q.p+"swept", fmt.Sprintf("%d %d", tm.Add(-time.Minute).UnixMilli(), clk.Now().Add(-time.Minute).UnixMilli()), 0)
	if res := mustSweep(t, q); len(res.OffersExpired) != 0 {
		t.Fatalf("Sweep() after the outage = %+v, want no offer expired", res)
	}
	// The offer still stands, until its deadline moved by the outage.
	clk.Set(at(offerTimeout + 59*time.Second))
	if _, err := q.Accept(ctx, "c1", "ann"); err != nil {
		t.Errorf("Accept(c1, ann) within the moved deadline = %v", err)
	}

	q2, r2, clk2 := mustQueue(t, Config{OfferTimeout: offerTimeout, AdvisorGrace: time.Hour, VisitorGrace: time.Hour})
	mustOnDuty(t, q2, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q2, "c1", "public", 1)
	mustAssign(t, q2, 1)
	mustSweep(t, q2)
	clk2.Set(at(offerTimeout + time.Second))
	tm = r2.Client.Time(ctx).Val()
	r2.Client.Set(ctx, q2.p+"swept", fmt.Sprintf("%d %d", tm.Add(-time.Minute).UnixMilli(), clk2.Now().Add(-time.Minute).UnixMilli()), 0)
	mustSweep(t, q2)
	clk2.Set(at(offerTimeout + 61*time.Second))
	if res := mustSweep(t, q2); !slices.Equal(res.OffersExpired, []ExpiredOffer{{"c1", "ann", false}}) {
		t.Errorf("Sweep() past the moved deadline = %+v, want c1's offer expired", res)
	}
	if _, err := q2.Accept(ctx, "c1", "ann"); !errors.Is(err, ErrOfferExpired) {
		t.Errorf("Accept after the moved deadline = %v, want %v", err, ErrOfferExpired)
	}
}
