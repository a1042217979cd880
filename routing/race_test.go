package routing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// EnvRoutingSeed replays TestConcurrentWorkersNeverDoubleAssign's random
// choices (the goroutines' interleaving is still the scheduler's).
const EnvRoutingSeed = "ADVICECHAT_ROUTING_SEED"

// Event kinds of a conversation's history, as the callers saw them.
const (
	evAssign         = "assign"          // Assign gave it to adv
	evRequeue        = "requeue"         // OffDuty(adv) or Sweep put it back
	evReleaseActive  = "release-active"  // Release while adv held it
	evReleaseWaiting = "release-waiting" // Release while it waited
)

// event is one call's effect on one conversation. The call ran somewhere
// in [start, end]; Redis ran its script at one instant in there.
type event struct {
	kind       string
	adv        string
	start, end time.Duration
	enqueued   time.Time // of an assignment
}

// history records every conversation's events, from all goroutines.
type history struct {
	begin time.Time

	mu       sync.Mutex
	events   map[string][]event
	enqueued map[string]time.Time
	ids      []string
}

func newHistory() *history {
	return &history{begin: time.Now(), events: make(map[string][]event), enqueued: make(map[string]time.Time)}
}

func (h *history) since() time.Duration { return time.Since(h.begin) }

func (h *history) add(id string, e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events[id] = append(h.events[id], e)
}

func (h *history) addEnqueued(id string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.enqueued[id] = at
	h.ids = append(h.ids, id)
}

// randomID picks a conversation; with assigned, one whose latest event
// recorded is an assignment, so most likely active.
func (h *history) randomID(rng *rand.Rand, assigned bool) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := h.ids
	if assigned {
		ids = nil
		for _, id := range h.ids {
			if evs := h.events[id]; len(evs) > 0 && evs[len(evs)-1].kind == evAssign {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	return ids[rng.IntN(len(ids))], true
}

// convState is where a conversation stands: waiting, active with adv, or
// ended.
type convState struct{ st, adv string }

// linearizable reports whether the events can be put in an order that
// agrees with real time (an event that ended before another started comes
// first) and that the conversation's life allows: assigned only while
// waiting, requeued or released by the advisor holding it, ending in final.
// An assignment twice without a requeue in between has no such order.
func linearizable(evs []event, final convState) bool {
	if len(evs) > 64 {
		panic("linearizable: more than 64 events")
	}
	all := uint64(1)<<len(evs) - 1
	failed := make(map[string]bool)
	var try func(done uint64, s convState) bool
	try = func(done uint64, s convState) bool {
		if done == all {
			return s == final
		}
		key := fmt.Sprint(done, s)
		if failed[key] {
			return false
		}
		// Only an event that no pending event wholly precedes may go next.
		minEnd := time.Duration(1<<63 - 1)
		for i, e := range evs {
			if done&(1<<i) == 0 && e.end < minEnd {
				minEnd = e.end
			}
		}
		for i, e := range evs {
			if done&(1<<i) != 0 || e.start > minEnd {
				continue
			}
			next, ok := step(s, e)
			if ok && try(done|1<<i, next) {
				return true
			}
		}
		failed[key] = true
		return false
	}
	return try(0, convState{st: StatusWaiting})
}

// step applies e to s, if the conversation's life allows it.
func step(s convState, e event) (convState, bool) {
	switch {
	case e.kind == evAssign && s.st == StatusWaiting:
		return convState{StatusActive, e.adv}, true
	case e.kind == evRequeue && s == convState{StatusActive, e.adv}:
		return convState{st: StatusWaiting}, true
	case e.kind == evReleaseActive && s == convState{StatusActive, e.adv}:
		return convState{st: StatusEnded}, true
	case e.kind == evReleaseWaiting && s.st == StatusWaiting:
		return convState{st: StatusEnded}, true
	}
	return s, false
}

func TestLinearizable(t *testing.T) {
	ev := func(kind, adv string, start, end int) event {
		return event{kind: kind, adv: adv, start: time.Duration(start), end: time.Duration(end)}
	}
	active := func(adv string) convState { return convState{StatusActive, adv} }
	waiting := convState{st: StatusWaiting}
	ended := convState{st: StatusEnded}
	tests := []struct {
		name  string
		evs   []event
		final convState
		want  bool
	}{
		{"nothing happened", nil, waiting, true},
		{"assigned", []event{ev(evAssign, "a", 1, 2)}, active("a"), true},
		{"assigned, other final advisor", []event{ev(evAssign, "a", 1, 2)}, active("b"), false},
		{"assigned twice in a row", []event{ev(evAssign, "a", 1, 2), ev(evAssign, "b", 3, 4)}, active("b"), false},
		{"assigned twice at once", []event{ev(evAssign, "a", 1, 4), ev(evAssign, "b", 2, 3)}, active("b"), false},
		{"requeued in between", []event{ev(evAssign, "a", 1, 2), ev(evRequeue, "a", 3, 4), ev(evAssign, "b", 5, 6)}, active("b"), true},
		{"requeue seen late", []event{ev(evAssign, "a", 1, 2), ev(evAssign, "b", 5, 6), ev(evRequeue, "a", 3, 7)}, active("b"), true},
		{"requeue after the second", []event{ev(evAssign, "a", 1, 2), ev(evAssign, "b", 3, 4), ev(evRequeue, "a", 5, 6)}, waiting, false},
		{"requeued by the wrong advisor", []event{ev(evAssign, "a", 1, 2), ev(evRequeue, "b", 3, 4), ev(evAssign, "b", 5, 6)}, active("b"), false},
		{"released while active", []event{ev(evAssign, "a", 1, 2), ev(evReleaseActive, "a", 3, 4)}, ended, true},
		{"assigned after the end", []event{ev(evReleaseWaiting, "", 1, 2), ev(evAssign, "a", 3, 4)}, active("a"), false},
		{"overlapping release and assign", []event{ev(evReleaseWaiting, "", 1, 4), ev(evAssign, "a", 2, 3)}, active("a"), false},
		{"requeue and release race", []event{ev(evAssign, "a", 1, 2), ev(evRequeue, "a", 3, 6), ev(evReleaseWaiting, "", 4, 5)}, ended, true},
	}
	for _, tt := range tests {
		if got := linearizable(tt.evs, tt.final); got != tt.want {
			t.Errorf("%s: linearizable(%v, %v) = %v, want %v", tt.name, tt.evs, tt.final, got, tt.want)
		}
	}
}

// raceAdvisor is an advisor as the goroutine owning it believes it to be.
type raceAdvisor struct {
	name string
	on   bool // false means surely off duty; true may have been swept
}

func TestConcurrentWorkersNeverDoubleAssign(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(EnvRoutingSeed); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", EnvRoutingSeed, s, err)
		}
	}
	t.Logf("seed %d (%s=%d replays the random choices)", seed, EnvRoutingSeed, seed)

	const (
		assigners     = 4
		dutyWorkers   = 3
		advisors      = 15
		phases        = 5
		perPhase      = 60 // conversations enqueued per phase
		dutyOps       = 40 // per duty worker and phase
		releaseOps    = 25 // per phase
		advisorGrace  = 40 * time.Millisecond
		conversations = phases * perPhase
	)
	r := redistest.New(t)
	// A fallback short enough that conversations reach it while advisors
	// come and go.
	cfg := Config{Prefix: r.Prefix, Queues: []string{"public", "professional"}, FallbackAfter: 200 * time.Millisecond, FallbackLanguages: []string{"en"}}
	// Each goroutine is an instance of its own: its own client and Queue.
	newQueue := func(cfg Config) *Queue {
		q, err := New(mustClient(t, r), cfg)
		if err != nil {
			t.Fatalf("New = %v", err)
		}
		return q
	}
	h := newHistory()
	var calls atomic.Int64
	ctx := context.Background()

	// The enqueuer's clock says what time each Enqueue used.
	var lastNow time.Time
	enqCfg := cfg
	enqCfg.Now = func() time.Time { lastNow = time.Now(); return lastNow }
	enqQ := newQueue(enqCfg)
	assignQs := make([]*Queue, assigners)
	for i := range assignQs {
		assignQs[i] = newQueue(cfg)
	}
	dutyQs := make([]*Queue, dutyWorkers)
	owned := make([][]*raceAdvisor, dutyWorkers)
	for i := range dutyQs {
		dutyQs[i] = newQueue(cfg)
	}
	for i := range advisors {
		w := i % dutyWorkers
		owned[w] = append(owned[w], &raceAdvisor{name: fmt.Sprintf("adv%02d", i)})
	}
	releaseQ := newQueue(cfg)
	sweepCfg := cfg
	sweepCfg.AdvisorGrace, sweepCfg.VisitorGrace = advisorGrace, time.Hour
	sweepQ := newQueue(sweepCfg)
	// The checker's clock stands still while it checks.
	checkClock := &clock{}
	checkCfg := cfg
	checkCfg.Now = checkClock.Now
	checkQ := newQueue(checkCfg)

	recordAssignments := func(as []Assignment, start time.Duration) {
		end := h.since()
		seen := make(map[string]bool)
		for _, a := range as {
			if seen[a.Conversation] {
				t.Errorf("one Assign gave %s twice: %q", a.Conversation, pairs(as))
			}
			seen[a.Conversation] = true
			h.add(a.Conversation, event{kind: evAssign, adv: a.Advisor, start: start, end: end, enqueued: a.Enqueued})
		}
	}
	recordRequeues := func(adv string, ids []string, start time.Duration) {
		end := h.since()
		for _, id := range ids {
			h.add(id, event{kind: evRequeue, adv: adv, start: start, end: end})
		}
	}

	next := 0 // next conversation number
	for phase := range phases {
		stop := make(chan struct{})
		var loops, producers sync.WaitGroup

		for i, q := range assignQs {
			rng := rand.New(rand.NewPCG(seed, uint64(100*phase+i)))
			loops.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					start := h.since()
					as, err := q.Assign(ctx, 1+rng.IntN(4))
					calls.Add(1)
					if err != nil {
						t.Errorf("Assign = %v", err)
						return
					}
					recordAssignments(as, start)
				}
			})
		}
		loops.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				start := h.since()
				res, err := sweepQ.Sweep(ctx)
				calls.Add(1)
				if err != nil {
					t.Errorf("Sweep = %v", err)
					return
				}
				end := h.since()
				for _, rq := range res.Requeued {
					h.add(rq.Conversation, event{kind: evRequeue, adv: rq.Advisor, start: start, end: end})
				}
				if len(res.Abandoned) > 0 {
					t.Errorf("Sweep abandoned %q, want none (visitor grace is an hour)", res.Abandoned)
				}
			}
		})

		first := next
		next += perPhase
		producers.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(100*phase+10)))
			for n := first; n < first+perPhase; n++ {
				id := fmt.Sprintf("c%03d", n)
				n := Need{Audience: "public", Lang: []string{"nl", "en", "ar"}[rng.IntN(3)], NoFallback: rng.IntN(4) == 0}
				if rng.IntN(3) == 0 {
					n.Audience = "professional"
				}
				if _, err := enqQ.Enqueue(ctx, id, n); err != nil {
					t.Errorf("Enqueue(%s) = %v", id, err)
					return
				}
				calls.Add(1)
				h.addEnqueued(id, time.UnixMilli(lastNow.UnixMilli()))
			}
		})
		for w, q := range dutyQs {
			producers.Go(func() {
				rng := rand.New(rand.NewPCG(seed, uint64(100*phase+20+w)))
				for range dutyOps {
					a := owned[w][rng.IntN(len(owned[w]))]
					switch {
					case !a.on:
						aud := [][]string{{"public"}, {"professional"}, {"public", "professional"}}[rng.IntN(3)]
						langs := [][]string{{"nl"}, {"en"}, {"nl", "en"}, {"ar"}}[rng.IntN(4)]
						adv := Advisor{Name: a.name, Alias: strings.ToUpper(a.name), Capacity: 1 + rng.IntN(3), Audiences: aud, Languages: langs}
						if err := q.OnDuty(ctx, adv); err != nil {
							t.Errorf("OnDuty(%+v) = %v", adv, err)
							return
						}
						a.on = true
					case rng.IntN(3) == 0:
						start := h.since()
						ids, err := q.OffDuty(ctx, a.name)
						if err != nil {
							t.Errorf("OffDuty(%s) = %v", a.name, err)
							return
						}
						recordRequeues(a.name, ids, start)
						a.on = false
					default:
						// Heartbeats of this worker's advisors, mostly:
						// now and then one misses and the sweeper claims
						// it.
						var names []string
						for _, b := range owned[w] {
							if b.on && rng.IntN(8) != 0 {
								names = append(names, b.name)
							}
						}
						if err := q.TouchAdvisors(ctx, names...); err != nil {
							t.Errorf("TouchAdvisors = %v", err)
							return
						}
					}
					calls.Add(1)
				}
			})
		}
		producers.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(100*phase+30)))
			for range releaseOps {
				id, ok := h.randomID(rng, rng.IntN(4) != 0)
				if !ok {
					continue
				}
				start := h.since()
				was, adv, ok, err := releaseQ.Release(ctx, id)
				calls.Add(1)
				if err != nil {
					t.Errorf("Release(%s) = %v", id, err)
					return
				}
				end := h.since()
				switch {
				case !ok:
				case was == StatusActive:
					h.add(id, event{kind: evReleaseActive, adv: adv, start: start, end: end})
				case was == StatusWaiting:
					h.add(id, event{kind: evReleaseWaiting, start: start, end: end})
				default:
					t.Errorf("Release(%s) = %q, %q, want waiting or active", id, was, adv)
				}
			}
		})
		producers.Wait()
		close(stop)
		loops.Wait()
		if t.Failed() {
			t.FailNow()
		}
		checkRouting(t, checkQ, checkClock, h, fmt.Sprintf("after phase %d", phase+1), true)
	}

	// Everybody leaves: all that was active waits again.
	for w, q := range dutyQs {
		for _, a := range owned[w] {
			start := h.since()
			ids, err := q.OffDuty(ctx, a.name)
			if err != nil {
				t.Fatalf("OffDuty(%s) = %v", a.name, err)
			}
			recordRequeues(a.name, ids, start)
			a.on = false
		}
	}
	checkRouting(t, checkQ, checkClock, h, "after all went off duty", false)
	for _, id := range h.ids {
		start := h.since()
		was, _, ok, err := releaseQ.Release(ctx, id)
		if err != nil {
			t.Fatalf("Release(%s) = %v", id, err)
		}
		if ok && was == StatusWaiting {
			h.add(id, event{kind: evReleaseWaiting, start: start, end: h.since()})
		} else if ok {
			t.Errorf("Release(%s) = %s, want waiting or ended with nobody on duty", id, was)
		}
	}
	checkRouting(t, checkQ, checkClock, h, "after all ended", false)

	kinds := make(map[string]int)
	for _, evs := range h.events {
		for _, e := range evs {
			kinds[e.kind]++
		}
	}
	assigned := kinds[evAssign]
	t.Logf("%d conversations, %d script calls, events %v", conversations, calls.Load(), kinds)
	if assigned == 0 {
		t.Errorf("no assignments of %d conversations, want a busy test", conversations)
	}
}

// checkRouting checks, with no call under way, the routing state read
// straight from Redis against itself and against every conversation's
// history. With drain, it first assigns all it can; clk is q's clock,
// set to now for the drain and the check of what it left.
func checkRouting(t *testing.T, q *Queue, clk *clock, h *history, when string, drain bool) {
	t.Helper()
	ctx := context.Background()
	clk.Set(time.Now())
	if drain {
		for {
			start := h.since()
			as, err := q.Assign(ctx, 1000)
			if err != nil {
				t.Fatalf("%s: Assign = %v", when, err)
			}
			for _, a := range as {
				h.add(a.Conversation, event{kind: evAssign, adv: a.Advisor, start: start, end: h.since(), enqueued: a.Enqueued})
			}
			if len(as) < 1000 {
				break
			}
		}
	}
	rdb := q.rdb
	p := q.p

	// Advisors, from their hashes and sets.
	type advState struct {
		duty  bool
		cap   int
		aud   []string
		langs []string
		convs []string
	}
	advs := make(map[string]advState)
	onduty, err := rdb.SMembers(ctx, p+"onduty").Result()
	if err != nil {
		t.Fatalf("%s: SMEMBERS onduty = %v", when, err)
	}
	holder := make(map[string][]string) // conversation -> advisors whose set has it
	for i := range 15 {
		name := fmt.Sprintf("adv%02d", i)
		m, err := rdb.HGetAll(ctx, p+"adv:"+name).Result()
		if err != nil {
			t.Fatalf("%s: HGETALL adv %s = %v", when, name, err)
		}
		convs, err := rdb.SMembers(ctx, p+"adv:"+name+":convs").Result()
		if err != nil {
			t.Fatalf("%s: SMEMBERS convs of %s = %v", when, name, err)
		}
		capacity, _ := strconv.Atoi(m["cap"])
		a := advState{duty: m["duty"] == "1", cap: capacity, aud: strings.Split(m["aud"], ","), langs: strings.Split(m["lang"], ","), convs: convs}
		advs[name] = a
		if a.duty != slices.Contains(onduty, name) {
			t.Errorf("%s: advisor %s duty %q but in on-duty set %v", when, name, m["duty"], slices.Contains(onduty, name))
		}
		if !a.duty && len(convs) > 0 {
			t.Errorf("%s: advisor %s is off duty and holds %q", when, name, convs)
		}
		if len(convs) > a.cap && len(convs) > 0 {
			t.Errorf("%s: advisor %s holds %d conversations %q, capacity %d", when, name, len(convs), convs, a.cap)
		}
		for _, c := range convs {
			holder[c] = append(holder[c], name)
		}
	}

	// Queues.
	inQueue := make(map[string][]string) // conversation -> queues it is in
	rank := make(map[string]int)         // conversation -> place in its queue, from 0
	for _, name := range q.cfg.Queues {
		ids, err := rdb.ZRange(ctx, p+"q:"+name, 0, -1).Result()
		if err != nil {
			t.Fatalf("%s: ZRANGE queue %s = %v", when, name, err)
		}
		for i, id := range ids {
			inQueue[id] = append(inQueue[id], name)
			rank[id] = i
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range holder {
		if _, ok := h.enqueued[id]; !ok {
			t.Errorf("%s: advisor set holds unknown conversation %s", when, id)
		}
	}
	for id := range inQueue {
		if _, ok := h.enqueued[id]; !ok {
			t.Errorf("%s: queue holds unknown conversation %s", when, id)
		}
	}
	ids := slices.Clone(h.ids)
	sort.Strings(ids)
	var waiting []string
	for _, id := range ids {
		c, err := rdb.HGetAll(ctx, p+"conv:"+id).Result()
		if err != nil || len(c) == 0 {
			t.Errorf("%s: HGETALL conv %s = %v, %v, want the conversation", when, id, c, err)
			continue
		}
		hs, qs := holder[id], inQueue[id]
		switch c["st"] {
		case StatusWaiting:
			waiting = append(waiting, id)
			if len(hs) != 0 || !slices.Equal(qs, []string{c["q"]}) || c["adv"] != "" {
				t.Errorf("%s: waiting %s (adv %q) is in queues %q and held by %q, want only in queue %s", when, id, c["adv"], qs, hs, c["q"])
			}
		case StatusActive:
			if len(qs) != 0 || !slices.Equal(hs, []string{c["adv"]}) {
				t.Errorf("%s: active %s (adv %q) is in queues %q and held by %q, want only held by %s", when, id, c["adv"], qs, hs, c["adv"])
			}
			a := advs[c["adv"]]
			if !a.duty {
				t.Errorf("%s: active %s is held by %s, who is off duty", when, id, c["adv"])
			}
			enq, _ := strconv.ParseInt(c["enq"], 10, 64)
			asg, _ := strconv.ParseInt(c["asg"], 10, 64)
			if !eligible(q.cfg, a.aud, a.langs, c, time.UnixMilli(asg).Sub(time.UnixMilli(enq))) {
				t.Errorf("%s: active %s (%s, %s, fallback %q, waited %dms) is held by %s (%s, %s), who was not eligible", when, id, c["aud"], c["lang"], c["fb"], asg-enq, c["adv"], a.aud, a.langs)
			}
		case StatusEnded:
			if len(qs) != 0 || len(hs) != 0 {
				t.Errorf("%s: ended %s is in queues %q and held by %q", when, id, qs, hs)
			}
		default:
			t.Errorf("%s: conversation %s has status %q", when, id, c["st"])
		}
		evs := h.events[id]
		final := convState{c["st"], c["adv"]}
		if final.st == StatusEnded {
			final.adv = "" // an ended conversation keeps the name of its last advisor
		}
		if len(evs) > 64 {
			t.Errorf("%s: history of %s has %d events, more than the checker takes (a conversation assigned over and over?):\n%s", when, id, len(evs), formatEvents(evs[:20]))
		} else if !linearizable(evs, final) {
			t.Errorf("%s: history of %s cannot be put in an order that ends %s %q:\n%s", when, id, c["st"], c["adv"], formatEvents(evs))
		}
		for _, e := range evs {
			if e.kind == evAssign && !e.enqueued.Equal(h.enqueued[id]) {
				t.Errorf("%s: assignment of %s says enqueued %v, want %v", when, id, e.enqueued, h.enqueued[id])
			}
		}
	}

	// Nothing waits, within the depth Assign looks into a queue, that an
	// advisor on duty with room could take.
	if drain {
		now := clk.Now()
		for _, id := range waiting {
			if rank[id] >= scanDepth {
				continue
			}
			c := rdb.HGetAll(ctx, p+"conv:"+id).Val()
			enq, _ := strconv.ParseInt(c["enq"], 10, 64)
			waited := now.Sub(time.UnixMilli(enq))
			for name, a := range advs {
				if a.duty && len(a.convs) < a.cap && eligible(q.cfg, a.aud, a.langs, c, waited) {
					t.Errorf("%s: %s (%s, %s, fallback %q, waited %v) waits while %s (%s, %s) has room (%d of %d)", when, id, c["aud"], c["lang"], c["fb"], waited, name, a.aud, a.langs, len(a.convs), a.cap)
				}
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// eligible reports whether an advisor with these audiences and languages
// may take conversation c (its hash) after it waited that long.
func eligible(cfg Config, audiences, langs []string, c map[string]string, waited time.Duration) bool {
	if !slices.Contains(audiences, c["aud"]) {
		return false
	}
	if slices.Contains(langs, c["lang"]) {
		return true
	}
	return cfg.FallbackAfter > 0 && c["fb"] != "0" && waited >= cfg.FallbackAfter &&
		slices.ContainsFunc(langs, func(l string) bool { return slices.Contains(cfg.FallbackLanguages, l) })
}

func formatEvents(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\t%-15s %-6s [%v, %v]\n", e.kind, e.adv, e.start, e.end)
	}
	return b.String()
}
