package routing

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
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
	evOffer          = "offer"           // Assign offered it to adv
	evAccept         = "accept"          // adv accepted the offer
	evExpire         = "expire"          // Sweep: adv's offer expired
	evWithdraw       = "withdraw"        // TakeOffDuty(adv) or Sweep took back adv's offer
	evRequeue        = "requeue"         // TakeOffDuty(adv) or Sweep put it back
	evMove           = "move"            // Transfer, Reassign or Pick: from adv (was) to to
	evReleaseActive  = "release-active"  // Release while adv held it
	evReleaseOffered = "release-offered" // Release while offered to adv
	evReleaseWaiting = "release-waiting" // Release while it waited
)

// event is one call's effect on one conversation. The call ran somewhere
// in [start, end]; Redis ran its script at one instant in there.
type event struct {
	kind       string
	adv        string
	start, end time.Duration
	enqueued   time.Time // of an assignment, offer, accept or move
	was, to    string    // of a move: the state it left, the advisor it went to ("" a queue)
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

// kinds counts the events of each kind.
func (h *history) kinds() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int)
	for _, evs := range h.events {
		for _, e := range evs {
			out[e.kind]++
		}
	}
	return out
}

// raceCovers are the kinds of event a run of the concurrent test must
// have seen.
var raceCovers = []string{evAssign, evOffer, evAccept, evExpire, evMove}

func coversAll(kinds map[string]int) bool {
	for _, k := range raceCovers {
		if kinds[k] == 0 {
			return false
		}
	}
	return true
}

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

// randomID picks a conversation; with kinds, one whose latest event
// recorded is one of them.
func (h *history) randomID(rng *rand.Rand, kinds ...string) (string, bool) {
	id, _, ok := h.randomLast(rng, kinds...)
	return id, ok
}

// randomLast picks a conversation whose latest event recorded is of one of
// kinds (any, without kinds), and returns that event and its index.
func (h *history) randomLast(rng *rand.Rand, kinds ...string) (string, int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := h.ids
	if len(kinds) > 0 {
		ids = nil
		for _, id := range h.ids {
			if evs := h.events[id]; len(evs) > 0 && slices.Contains(kinds, evs[len(evs)-1].kind) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return "", 0, false
	}
	id := ids[rng.IntN(len(ids))]
	return id, len(h.events[id]) - 1, true
}

// last returns the latest event recorded of id.
func (h *history) last(id string) (event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	evs := h.events[id]
	if len(evs) == 0 {
		return event{}, false
	}
	return evs[len(evs)-1], true
}

// convState is where a conversation stands: waiting, offered to adv,
// active with adv, or ended.
type convState struct{ st, adv string }

// linearizable reports whether the events can be put in an order that
// agrees with real time (an event that ended before another started comes
// first) and that the conversation's life allows: assigned, offered or
// picked only while waiting, accepted or expired only while offered to
// that advisor, requeued, transferred or released by the advisor holding
// it, ending in final. An assignment twice without a requeue in between
// has no such order, nor an offer that expires twice.
func linearizable(evs []event, final convState) bool {
	if len(evs) > maxEvents {
		panic(fmt.Sprintf("linearizable: more than %d events", maxEvents))
	}
	// done is the set of events placed so far.
	type done [maxEvents / 64]uint64
	has := func(d done, i int) bool { return d[i/64]&(1<<(i%64)) != 0 }
	type key struct {
		d done
		s convState
	}
	failed := make(map[key]bool)
	var try func(d done, n int, s convState) bool
	try = func(d done, n int, s convState) bool {
		if n == len(evs) {
			return s == final
		}
		if failed[key{d, s}] {
			return false
		}
		// Only an event that no pending event wholly precedes may go next.
		minEnd := time.Duration(1<<63 - 1)
		for i, e := range evs {
			if !has(d, i) && e.end < minEnd {
				minEnd = e.end
			}
		}
		for i, e := range evs {
			if has(d, i) || e.start > minEnd {
				continue
			}
			next, ok := step(s, e)
			nd := d
			nd[i/64] |= 1 << (i % 64)
			if ok && try(nd, n+1, next) {
				return true
			}
		}
		failed[key{d, s}] = true
		return false
	}
	return try(done{}, 0, convState{st: StatusWaiting})
}

// maxEvents is the longest history linearizable takes.
const maxEvents = 256

// step applies e to s, if the conversation's life allows it.
func step(s convState, e event) (convState, bool) {
	waiting := convState{st: StatusWaiting}
	switch {
	case e.kind == evAssign && s == waiting:
		return convState{StatusActive, e.adv}, true
	case e.kind == evOffer && s == waiting:
		return convState{StatusOffered, e.adv}, true
	case e.kind == evAccept && s == convState{StatusOffered, e.adv}:
		return convState{StatusActive, e.adv}, true
	case (e.kind == evExpire || e.kind == evWithdraw) && s == convState{StatusOffered, e.adv}:
		return waiting, true
	case e.kind == evRequeue && s == convState{StatusActive, e.adv}:
		return waiting, true
	case e.kind == evMove && s == convState{e.was, e.adv}:
		if e.to == "" {
			return waiting, true
		}
		return convState{StatusActive, e.to}, true
	case e.kind == evReleaseActive && s == convState{StatusActive, e.adv}:
		return convState{st: StatusEnded}, true
	case e.kind == evReleaseOffered && s == convState{StatusOffered, e.adv}:
		return convState{st: StatusEnded}, true
	case e.kind == evReleaseWaiting && s == waiting:
		return convState{st: StatusEnded}, true
	}
	return s, false
}

func TestLinearizable(t *testing.T) {
	ev := func(kind, adv string, start, end int) event {
		return event{kind: kind, adv: adv, start: time.Duration(start), end: time.Duration(end)}
	}
	active := func(adv string) convState { return convState{StatusActive, adv} }
	offered := func(adv string) convState { return convState{StatusOffered, adv} }
	move := func(from, was, to string, start, end int) event {
		return event{kind: evMove, adv: from, was: was, to: to, start: time.Duration(start), end: time.Duration(end)}
	}
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
		{"offered", []event{ev(evOffer, "a", 1, 2)}, offered("a"), true},
		{"offered and accepted", []event{ev(evOffer, "a", 1, 2), ev(evAccept, "a", 3, 4)}, active("a"), true},
		{"accepted by another", []event{ev(evOffer, "a", 1, 2), ev(evAccept, "b", 3, 4)}, active("b"), false},
		{"offered twice at once", []event{ev(evOffer, "a", 1, 4), ev(evOffer, "b", 2, 3)}, offered("b"), false},
		{"expired, offered again", []event{ev(evOffer, "a", 1, 2), ev(evExpire, "a", 3, 4), ev(evOffer, "b", 5, 6)}, offered("b"), true},
		{"expired twice", []event{ev(evOffer, "a", 1, 2), ev(evExpire, "a", 3, 4), ev(evExpire, "a", 5, 6)}, waiting, false},
		{"accepted after the expiry", []event{ev(evOffer, "a", 1, 2), ev(evExpire, "a", 3, 4), ev(evAccept, "a", 5, 6)}, active("a"), false},
		{"accept and expiry race", []event{ev(evOffer, "a", 1, 2), ev(evExpire, "a", 3, 6), ev(evAccept, "a", 4, 5)}, active("a"), false},
		{"withdrawn, assigned", []event{ev(evOffer, "a", 1, 2), ev(evWithdraw, "a", 3, 4), ev(evAssign, "b", 5, 6)}, active("b"), true},
		{"released while offered", []event{ev(evOffer, "a", 1, 2), ev(evReleaseOffered, "a", 3, 4)}, ended, true},
		{"transferred", []event{ev(evAssign, "a", 1, 2), move("a", StatusActive, "b", 3, 4)}, active("b"), true},
		{"transferred by the wrong advisor", []event{ev(evAssign, "a", 1, 2), move("b", StatusActive, "c", 3, 4)}, active("c"), false},
		{"transferred to a queue, assigned", []event{ev(evAssign, "a", 1, 2), move("a", StatusActive, "", 3, 4), ev(evAssign, "b", 5, 6)}, active("b"), true},
		{"picked while offered", []event{ev(evOffer, "a", 1, 2), move("", StatusWaiting, "b", 3, 4)}, active("b"), false},
		{"reassigned while offered", []event{ev(evOffer, "a", 1, 2), move("a", StatusOffered, "b", 3, 4)}, active("b"), true},
		{"picked and assigned at once", []event{move("", StatusWaiting, "b", 1, 4), ev(evAssign, "a", 2, 3)}, active("a"), false},
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
	adv  Advisor
}

// raceConfig is the configuration every instance of the concurrency test
// shares, but for the offers: half the assigners make them.
const (
	raceAdvisors     = 15
	raceOfferTimeout = 60 * time.Millisecond
	raceMaxWait      = 150 * time.Millisecond
)

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
		assigners    = 4 // even ones offer, odd ones assign directly
		sweepers     = 2
		dutyWorkers  = 3
		phases       = 5
		perPhase     = 60 // conversations enqueued per phase
		dutyOps      = 40 // per duty worker and phase
		releaseOps   = 25 // per phase
		moveOps      = 40 // transfers, reassignments, picks and priorities per phase
		advisorGrace = 40 * time.Millisecond
		// Past phases, more phases run while one of the kinds of event
		// the test must cover has not happened yet (an offer runs out only
		// when its advisor's heartbeats and the accepter leave it alone
		// for the whole offer timeout, which some runs' timing never
		// gives), up to maxPhases.
		maxPhases = 4 * phases
	)
	r := redistest.New(t)
	// A fallback short enough that conversations reach it while advisors
	// come and go; offers and a maximum wait that expire within a phase.
	cfg := Config{Prefix: r.Prefix, Queues: []string{"public", "professional"}, FallbackAfter: 200 * time.Millisecond, FallbackLanguages: []string{"en"},
		MaxWait: raceMaxWait}
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
	offerCfg := cfg
	offerCfg.OfferTimeout = raceOfferTimeout
	assignQs := make([]*Queue, assigners)
	for i := range assignQs {
		if i%2 == 0 {
			assignQs[i] = newQueue(offerCfg)
		} else {
			assignQs[i] = newQueue(cfg)
		}
	}
	dutyQs := make([]*Queue, dutyWorkers)
	owned := make([][]*raceAdvisor, dutyWorkers)
	for i := range dutyQs {
		dutyQs[i] = newQueue(cfg)
	}
	var names []string
	for i := range raceAdvisors {
		w := i % dutyWorkers
		names = append(names, fmt.Sprintf("adv%02d", i))
		owned[w] = append(owned[w], &raceAdvisor{name: names[i]})
	}
	releaseQ := newQueue(cfg)
	acceptQ := newQueue(cfg)
	moveQ := newQueue(cfg)
	sweepCfg := cfg
	sweepCfg.AdvisorGrace, sweepCfg.VisitorGrace = advisorGrace, time.Hour
	sweepQs := make([]*Queue, sweepers)
	for i := range sweepQs {
		sweepQs[i] = newQueue(sweepCfg)
	}
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
			kind := evAssign
			if a.Offer {
				kind = evOffer
			}
			h.add(a.Conversation, event{kind: kind, adv: a.Advisor, start: start, end: end, enqueued: a.Enqueued})
		}
	}
	recordOffDuty := func(adv string, res OffDutyResult, start time.Duration) {
		end := h.since()
		for _, id := range res.Requeued {
			h.add(id, event{kind: evRequeue, adv: adv, start: start, end: end})
		}
		for _, id := range res.Withdrawn {
			h.add(id, event{kind: evWithdraw, adv: adv, start: start, end: end})
		}
	}
	var maxWaitedMu sync.Mutex
	maxWaited := make(map[string]int)

	next := 0 // next conversation number
	for phase := 0; phase < phases || (phase < maxPhases && !coversAll(h.kinds())); phase++ {
		stop := make(chan struct{})
		stopped := func() bool {
			select {
			case <-stop:
				return true
			default:
				return false
			}
		}
		var loops, producers sync.WaitGroup

		for i, q := range assignQs {
			rng := rand.New(rand.NewPCG(seed, uint64(100*phase+i)))
			loops.Go(func() {
				for !stopped() {
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
		for _, q := range sweepQs {
			loops.Go(func() {
				for !stopped() {
					start := h.since()
					res, err := q.Sweep(ctx)
					calls.Add(1)
					if err != nil {
						t.Errorf("Sweep = %v", err)
						return
					}
					end := h.since()
					for _, rq := range res.Requeued {
						h.add(rq.Conversation, event{kind: evRequeue, adv: rq.Advisor, start: start, end: end})
					}
					for _, rq := range res.Withdrawn {
						h.add(rq.Conversation, event{kind: evWithdraw, adv: rq.Advisor, start: start, end: end})
					}
					for _, e := range res.OffersExpired {
						h.add(e.Conversation, event{kind: evExpire, adv: e.Advisor, start: start, end: end})
					}
					if len(res.Abandoned) > 0 {
						t.Errorf("Sweep abandoned %q, want none (visitor grace is an hour)", res.Abandoned)
					}
					maxWaitedMu.Lock()
					for _, id := range res.MaxWaited {
						maxWaited[id]++
					}
					maxWaitedMu.Unlock()
				}
			})
		}
		// The accepter decides once per offer whether to accept it (most)
		// or let it expire.
		loops.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(100*phase+40)))
			decided := make(map[string]bool)
			for !stopped() {
				id, i, ok := h.randomLast(rng, evOffer)
				key := fmt.Sprint(id, "/", i)
				if !ok || decided[key] {
					runtime.Gosched()
					continue
				}
				decided[key] = true
				e, _ := h.last(id)
				if e.kind != evOffer || rng.IntN(4) == 0 {
					continue
				}
				start := h.since()
				a, err := acceptQ.Accept(ctx, id, e.adv)
				calls.Add(1)
				switch {
				case errors.Is(err, ErrOfferExpired):
				case err != nil:
					t.Errorf("Accept(%s, %s) = %v", id, e.adv, err)
					return
				default:
					h.add(id, event{kind: evAccept, adv: e.adv, start: start, end: h.since(), enqueued: a.Enqueued})
				}
			}
		})

		first := next
		next += perPhase
		producers.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(100*phase+10)))
			for n := first; n < first+perPhase; n++ {
				id := fmt.Sprintf("c%03d", n)
				n := Need{Audience: "public", Lang: []string{"nl", "en", "ar"}[rng.IntN(3)], NoFallback: rng.IntN(4) == 0,
					Priority: []int{PriorityNormal, PriorityNormal, PriorityNormal, PriorityHigh, PriorityUrgent}[rng.IntN(5)]}
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
						a.adv = Advisor{Name: a.name, Alias: strings.ToUpper(a.name), Capacity: 1 + rng.IntN(3), Audiences: aud, Languages: langs}
						if err := q.OnDuty(ctx, a.adv); err != nil {
							t.Errorf("OnDuty(%+v) = %v", a.adv, err)
							return
						}
						a.on = true
					case rng.IntN(3) == 0:
						start := h.since()
						res, err := q.TakeOffDuty(ctx, a.name)
						if err != nil {
							t.Errorf("TakeOffDuty(%s) = %v", a.name, err)
							return
						}
						recordOffDuty(a.name, res, start)
						a.on = false
					case rng.IntN(6) == 0 && a.adv.Capacity < 4:
						// More room while on duty (or back on duty, if a
						// sweep had taken them off).
						a.adv.Capacity++
						if err := q.OnDuty(ctx, a.adv); err != nil {
							t.Errorf("OnDuty(%+v) = %v", a.adv, err)
							return
						}
					default:
						// Heartbeats of this worker's advisors, mostly:
						// now and then one misses and a sweeper claims
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
				var id string
				var ok bool
				if rng.IntN(4) != 0 {
					id, ok = h.randomID(rng, evAssign, evAccept, evMove)
				} else {
					id, ok = h.randomID(rng)
				}
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
				case was == StatusOffered:
					h.add(id, event{kind: evReleaseOffered, adv: adv, start: start, end: end})
				case was == StatusWaiting:
					h.add(id, event{kind: evReleaseWaiting, start: start, end: end})
				default:
					t.Errorf("Release(%s) = %q, %q, want waiting, offered or active", id, was, adv)
				}
			}
		})
		producers.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(100*phase+50)))
			// Mostly advisors on duty and conversations waiting, as the
			// people choosing them would see in the overview.
			someAdvisor := func() string {
				on := moveQ.rdb.SMembers(ctx, moveQ.p+"onduty").Val()
				if len(on) == 0 || rng.IntN(8) == 0 {
					return names[rng.IntN(len(names))]
				}
				return on[rng.IntN(len(on))]
			}
			someWaiting := func() (string, bool) {
				ids := moveQ.rdb.ZRange(ctx, moveQ.queueKey(cfg.Queues[rng.IntN(len(cfg.Queues))]), 0, -1).Val()
				if len(ids) == 0 || rng.IntN(8) == 0 {
					return h.randomID(rng)
				}
				return ids[rng.IntN(len(ids))], true
			}
			for range moveOps {
				to := Target{Advisor: someAdvisor()}
				if rng.IntN(3) == 0 {
					to = Target{Queue: cfg.Queues[rng.IntN(len(cfg.Queues))]}
				}
				var (
					id  string
					ok  bool
					a   Assignment
					err error
				)
				start := h.since()
				switch op := rng.IntN(4); op {
				case 0: // the holder transfers
					id, ok = h.randomID(rng, evAssign, evAccept, evMove)
					if !ok {
						continue
					}
					e, _ := h.last(id)
					from := e.adv
					if e.kind == evMove {
						from = e.to
					}
					a, err = moveQ.Transfer(ctx, id, from, to)
				case 1: // a supervisor reassigns
					if rng.IntN(2) == 0 {
						id, ok = someWaiting()
					} else {
						id, ok = h.randomID(rng, evAssign, evOffer, evAccept, evMove)
					}
					if !ok {
						continue
					}
					a, err = moveQ.Reassign(ctx, id, to)
				case 2: // an advisor picks
					if id, ok = someWaiting(); !ok {
						continue
					}
					a, err = moveQ.Pick(ctx, id, someAdvisor())
				default: // a supervisor changes the priority
					if id, ok = h.randomID(rng); !ok {
						continue
					}
					err = moveQ.SetPriority(ctx, id, rng.IntN(PriorityUrgent+1))
					calls.Add(1)
					if err != nil && !errors.Is(err, ErrEnded) {
						t.Errorf("SetPriority(%s) = %v", id, err)
						return
					}
					continue
				}
				calls.Add(1)
				end := h.since()
				switch {
				case errors.Is(err, ErrNotHeld), errors.Is(err, ErrNotWaiting), errors.Is(err, ErrEnded), errors.Is(err, ErrAdvisorOffDuty),
					errors.Is(err, ErrAdvisorFull), errors.Is(err, ErrNotSkilled), errors.Is(err, ErrBadTarget):
				case err != nil:
					t.Errorf("move %s to %+v = %v", id, to, err)
					return
				default:
					h.add(id, event{kind: evMove, adv: a.From, was: a.Was, to: a.Advisor, start: start, end: end, enqueued: a.Enqueued})
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

	// Everybody leaves: all that was active or offered waits again.
	for w, q := range dutyQs {
		for _, a := range owned[w] {
			start := h.since()
			res, err := q.TakeOffDuty(ctx, a.name)
			if err != nil {
				t.Fatalf("TakeOffDuty(%s) = %v", a.name, err)
			}
			recordOffDuty(a.name, res, start)
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
	if n := r.Client.ZCard(ctx, checkQ.timersKey()).Val(); n != 0 {
		t.Errorf("%d timers left after all ended, want none", n)
	}

	for id, n := range maxWaited {
		if n != 1 {
			t.Errorf("maximum wait of %s reported %d times, want once", id, n)
		}
	}
	kinds := h.kinds()
	t.Logf("%d conversations, %d script calls, %d reached the maximum wait, events %v", next, calls.Load(), len(maxWaited), kinds)
	for _, k := range raceCovers {
		if kinds[k] == 0 {
			t.Errorf("no %s events of %d conversations, want a busy test", k, next)
		}
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
		duty   bool
		cap    int
		aud    []string
		langs  []string
		convs  []string
		offers []string
	}
	advs := make(map[string]advState)
	onduty, err := rdb.SMembers(ctx, p+"onduty").Result()
	if err != nil {
		t.Fatalf("%s: SMEMBERS onduty = %v", when, err)
	}
	holder := make(map[string][]string) // conversation -> advisors whose sets (held or offered) have it
	for i := range raceAdvisors {
		name := fmt.Sprintf("adv%02d", i)
		m, err := rdb.HGetAll(ctx, p+"adv:"+name).Result()
		if err != nil {
			t.Fatalf("%s: HGETALL adv %s = %v", when, name, err)
		}
		convs, err := rdb.SMembers(ctx, q.convsKey(name)).Result()
		if err != nil {
			t.Fatalf("%s: SMEMBERS convs of %s = %v", when, name, err)
		}
		offers, err := rdb.SMembers(ctx, q.offersKey(name)).Result()
		if err != nil {
			t.Fatalf("%s: SMEMBERS offers of %s = %v", when, name, err)
		}
		capacity, _ := strconv.Atoi(m["cap"])
		a := advState{duty: m["duty"] == "1", cap: capacity, aud: strings.Split(m["aud"], ","), langs: strings.Split(m["lang"], ","), convs: convs, offers: offers}
		advs[name] = a
		if a.duty != slices.Contains(onduty, name) {
			t.Errorf("%s: advisor %s duty %q but in on-duty set %v", when, name, m["duty"], slices.Contains(onduty, name))
		}
		if !a.duty && len(convs)+len(offers) > 0 {
			t.Errorf("%s: advisor %s is off duty and holds %q, has offers %q", when, name, convs, offers)
		}
		if n := len(convs) + len(offers); n > a.cap && n > 0 {
			t.Errorf("%s: advisor %s holds %q and has offers %q, capacity %d", when, name, convs, offers, a.cap)
		}
		for _, c := range slices.Concat(convs, offers) {
			holder[c] = append(holder[c], name)
		}
	}

	// Queues.
	inQueue := make(map[string][]string) // conversation -> queues it is in
	rank := make(map[string]int)         // conversation -> place in its queue, from 0
	score := make(map[string]float64)    // conversation -> its queue score
	for _, name := range q.cfg.Queues {
		zs, err := rdb.ZRangeWithScores(ctx, p+"q:"+name, 0, -1).Result()
		if err != nil {
			t.Fatalf("%s: ZRANGE queue %s = %v", when, name, err)
		}
		for i, z := range zs {
			id := z.Member.(string)
			inQueue[id] = append(inQueue[id], name)
			rank[id] = i
			score[id] = z.Score
		}
	}
	timers, err := rdb.ZRange(ctx, q.timersKey(), 0, -1).Result()
	if err != nil {
		t.Fatalf("%s: ZRANGE timers = %v", when, err)
	}
	offerTimers := make(map[string]bool) // "id:advisor"
	for _, m := range timers {
		if rest, ok := strings.CutPrefix(m, "offer:"); ok {
			offerTimers[rest] = true
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
		enq, _ := strconv.ParseInt(c["enq"], 10, 64)
		pri, _ := strconv.Atoi(c["pri"])
		evs := h.events[id]
		// Moved by hand to its holder: their skills were a person's call.
		moved := slices.ContainsFunc(evs, func(e event) bool { return e.kind == evMove && e.to != "" && e.to == c["adv"] })
		if c["st"] != StatusOffered && offerTimers[id+":"+c["adv"]] {
			t.Errorf("%s: %s %s has an offer timer for %q", when, c["st"], id, c["adv"])
		}
		switch c["st"] {
		case StatusWaiting:
			waiting = append(waiting, id)
			if len(hs) != 0 || !slices.Equal(qs, []string{c["q"]}) || c["adv"] != "" {
				t.Errorf("%s: waiting %s (adv %q) is in queues %q and held by %q, want only in queue %s", when, id, c["adv"], qs, hs, c["q"])
			}
			// Its place: by priority, then its real waiting time.
			if want := float64(enq - int64(pri)*priorityShift); score[id] != want {
				t.Errorf("%s: waiting %s (enqueued %d, priority %d) has score %v, want %v", when, id, enq, pri, score[id], want)
			}
		case StatusOffered:
			if len(qs) != 0 || !slices.Equal(hs, []string{c["adv"]}) || !slices.Contains(advs[c["adv"]].offers, id) {
				t.Errorf("%s: offered %s (adv %q) is in queues %q and held by %q, want only offered by %s", when, id, c["adv"], qs, hs, c["adv"])
			}
			if !offerTimers[id+":"+c["adv"]] {
				t.Errorf("%s: offered %s (adv %q) has no timer", when, id, c["adv"])
			}
			odl, _ := strconv.ParseInt(c["odl"], 10, 64)
			a := advs[c["adv"]]
			if offered := odl - raceOfferTimeout.Milliseconds(); !moved && !eligible(q.cfg, a.aud, a.langs, c, time.UnixMilli(offered).Sub(time.UnixMilli(enq))) {
				t.Errorf("%s: offered %s (%s, %s, fallback %q) to %s (%s, %s), who was not eligible", when, id, c["aud"], c["lang"], c["fb"], c["adv"], a.aud, a.langs)
			}
		case StatusActive:
			if len(qs) != 0 || !slices.Equal(hs, []string{c["adv"]}) || !slices.Contains(advs[c["adv"]].convs, id) {
				t.Errorf("%s: active %s (adv %q) is in queues %q and held by %q, want only held by %s", when, id, c["adv"], qs, hs, c["adv"])
			}
			a := advs[c["adv"]]
			if !a.duty {
				t.Errorf("%s: active %s is held by %s, who is off duty", when, id, c["adv"])
			}
			asg, _ := strconv.ParseInt(c["asg"], 10, 64)
			if !moved && !eligible(q.cfg, a.aud, a.langs, c, time.UnixMilli(asg).Sub(time.UnixMilli(enq))) {
				t.Errorf("%s: active %s (%s, %s, fallback %q, waited %dms) is held by %s (%s, %s), who was not eligible", when, id, c["aud"], c["lang"], c["fb"], asg-enq, c["adv"], a.aud, a.langs)
			}
		case StatusEnded:
			if len(qs) != 0 || len(hs) != 0 {
				t.Errorf("%s: ended %s is in queues %q and held by %q", when, id, qs, hs)
			}
		default:
			t.Errorf("%s: conversation %s has status %q", when, id, c["st"])
		}
		final := convState{c["st"], c["adv"]}
		if final.st == StatusEnded {
			final.adv = "" // an ended conversation keeps the name of its last advisor
		}
		if len(evs) > maxEvents {
			t.Errorf("%s: history of %s has %d events, more than the checker takes (a conversation assigned over and over?):\n%s", when, id, len(evs), formatEvents(evs[:20]))
		} else if !linearizable(evs, final) {
			t.Errorf("%s: history of %s cannot be put in an order that ends %s %q:\n%s", when, id, c["st"], c["adv"], formatEvents(evs))
		}
		for _, e := range evs {
			if !e.enqueued.IsZero() && !e.enqueued.Equal(h.enqueued[id]) {
				t.Errorf("%s: %s of %s says enqueued %v, want %v", when, e.kind, id, e.enqueued, h.enqueued[id])
			}
		}
	}
	for m := range offerTimers {
		id, adv, _ := strings.Cut(m, ":")
		if c := rdb.HMGet(ctx, p+"conv:"+id, "st", "adv").Val(); c[0] != StatusOffered || c[1] != adv {
			t.Errorf("%s: offer timer %s left behind, conversation %v", when, m, c)
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
				if a.duty && len(a.convs)+len(a.offers) < a.cap && eligible(q.cfg, a.aud, a.langs, c, waited) {
					t.Errorf("%s: %s (%s, %s, fallback %q, waited %v) waits while %s (%s, %s) has room (%d+%d of %d)", when, id, c["aud"], c["lang"], c["fb"], waited, name, a.aud, a.langs, len(a.convs), len(a.offers), a.cap)
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
		fmt.Fprintf(&b, "\t%-15s %-6s %-8s %-6s [%v, %v]\n", e.kind, e.adv, e.was, e.to, e.start, e.end)
	}
	return b.String()
}
