package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// t0 is where the tests' clocks start; whole milliseconds, as Redis keeps
// them.
var t0 = time.UnixMilli(1_760_000_000_000)

// waitFor bounds every wait for pub/sub traffic.
const waitFor = 5 * time.Second

// clock is a time the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// mustQueue returns a queue under the test's own prefix with a clock set
// to t0. cfg's Prefix and Now are filled in; Queues defaults to public and
// professional.
func mustQueue(tb testing.TB, cfg Config) (*Queue, *redistest.Redis, *clock) {
	tb.Helper()
	r := redistest.New(tb)
	clk := &clock{t: t0}
	cfg.Prefix, cfg.Now = r.Prefix, clk.Now
	if cfg.Queues == nil {
		cfg.Queues = []string{"public", "professional"}
	}
	q, err := New(r.Client, cfg)
	if err != nil {
		tb.Fatalf("New(%+v) = %v", cfg, err)
	}
	return q, r, clk
}

// mustClient returns a client of its own on r, as another instance would
// have, closed when the test ends.
func mustClient(tb testing.TB, r *redistest.Redis) redis.UniversalClient {
	tb.Helper()
	c, err := redisstore.Connect(r.URL)
	if err != nil {
		tb.Fatalf("Connect(%s) = %v", r.URL, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// testLang is the language of the tests' conversations, and of their
// advisors unless they say otherwise.
const testLang = "nl"

// mustEnqueue enqueues id in testLang and checks its position, unless
// wantPos is 0.
func mustEnqueue(tb testing.TB, q *Queue, id, audience string, wantPos int) {
	tb.Helper()
	pos, err := q.Enqueue(context.Background(), id, Need{Audience: audience, Lang: testLang})
	if err != nil || pos < 1 || (wantPos > 0 && pos != wantPos) {
		tb.Fatalf("Enqueue(%s, %s) = %d, %v, want %d, nil", id, audience, pos, err, wantPos)
	}
}

// mustOnDuty puts a on duty; with no languages, a speaks testLang.
func mustOnDuty(tb testing.TB, q *Queue, a Advisor) {
	tb.Helper()
	if a.Languages == nil {
		a.Languages = []string{testLang}
	}
	if err := q.OnDuty(context.Background(), a); err != nil {
		tb.Fatalf("OnDuty(%+v) = %v", a, err)
	}
}

func mustOffDuty(tb testing.TB, q *Queue, name string) []string {
	tb.Helper()
	ids, err := q.OffDuty(context.Background(), name)
	if err != nil {
		tb.Fatalf("OffDuty(%s) = %v", name, err)
	}
	sort.Strings(ids)
	return ids
}

func mustAssign(tb testing.TB, q *Queue, max int) []Assignment {
	tb.Helper()
	as, err := q.Assign(context.Background(), max)
	if err != nil {
		tb.Fatalf("Assign(%d) = %v", max, err)
	}
	return as
}

// pairs renders assignments as "conversation>advisor", in order.
func pairs(as []Assignment) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Conversation + ">" + a.Advisor
	}
	return out
}

func mustState(tb testing.TB, q *Queue, id string) ConversationState {
	tb.Helper()
	st, err := q.State(context.Background(), id)
	if err != nil {
		tb.Fatalf("State(%s) = %v", id, err)
	}
	return st
}

func mustRelease(tb testing.TB, q *Queue, id, wantWas, wantAdvisor string, wantOK bool) {
	tb.Helper()
	was, adv, ok, err := q.Release(context.Background(), id)
	if err != nil || was != wantWas || adv != wantAdvisor || ok != wantOK {
		tb.Fatalf("Release(%s) = %q, %q, %v, %v, want %q, %q, %v, nil", id, was, adv, ok, err, wantWas, wantAdvisor, wantOK)
	}
}

func mustSweep(tb testing.TB, q *Queue) SweepResult {
	tb.Helper()
	res, err := q.Sweep(context.Background())
	if err != nil {
		tb.Fatalf("Sweep() = %v", err)
	}
	sort.Slice(res.Requeued, func(i, j int) bool { return res.Requeued[i].Conversation < res.Requeued[j].Conversation })
	sort.Strings(res.Abandoned)
	return res
}

func TestNewConfig(t *testing.T) {
	r := redistest.New(t)
	tests := []struct {
		queues []string
		ok     bool
	}{
		{[]string{"public"}, true},
		{[]string{"public", "professional", "de_1", "x-y"}, true},
		{nil, false},
		{[]string{}, false},
		{[]string{""}, false},
		{[]string{"Public"}, false},
		{[]string{"1st"}, false},
		{[]string{"a{b}"}, false},
		{[]string{"a:b"}, false},
		{[]string{"public", "a b"}, false},
	}
	for _, tt := range tests {
		q, err := New(r.Client, Config{Prefix: r.Prefix, Queues: tt.queues})
		if (err == nil) != tt.ok {
			t.Errorf("New(Queues: %q) = %v, want ok %v", tt.queues, err, tt.ok)
		}
		if err == nil {
			c := q.Config()
			if c.Now == nil || c.AdvisorGrace <= 0 || c.VisitorGrace <= 0 || c.Retention <= 0 || c.IdleTTL <= 0 || c.Policy != DefaultPolicy() {
				t.Errorf("New(Queues: %q).Config() = %+v, want defaults filled in", tt.queues, c)
			}
		}
	}
}

func TestEnqueueErrors(t *testing.T) {
	ctx := context.Background()
	q, _, _ := mustQueue(t, Config{})
	mustEnqueue(t, q, "c1", "public", 1)
	if _, err := q.Enqueue(ctx, "c2", Need{Audience: "police", Lang: testLang}); !errors.Is(err, ErrUnknownQueue) {
		t.Errorf("Enqueue(c2, police) = %v, want %v", err, ErrUnknownQueue)
	}
	if _, err := q.Enqueue(ctx, "c1", Need{Audience: "public", Lang: testLang}); err == nil {
		t.Errorf("Enqueue(c1) twice = nil error, want an error")
	}
	if _, err := q.Enqueue(ctx, "c1", Need{Audience: "professional", Lang: testLang}); err == nil {
		t.Errorf("Enqueue(c1) twice in another queue = nil error, want an error")
	}
	for _, lang := range []string{"", "nl,en", "NL"} {
		if _, err := q.Enqueue(ctx, "c3", Need{Audience: "public", Lang: lang}); err == nil {
			t.Errorf("Enqueue(c3, lang %q) = nil error, want an error", lang)
		}
	}
	for _, a := range []Advisor{
		{Name: "ann", Capacity: 0, Audiences: []string{"public"}, Languages: []string{"nl"}},
		{Name: "ann", Capacity: 1, Audiences: []string{"public"}},
		{Name: "ann", Capacity: 1, Audiences: []string{"public"}, Languages: []string{"nl,en"}},
	} {
		if err := q.OnDuty(ctx, a); err == nil {
			t.Errorf("OnDuty(%+v) = nil error, want an error", a)
		}
	}
	stats, err := q.Snapshot(ctx)
	if err != nil || stats[0].Waiting != 1 || stats[1].Waiting != 0 {
		t.Errorf("Snapshot() = %+v, %v, want only c1 waiting", stats, err)
	}
}

func TestOffDutyRequeuesAtOriginalTime(t *testing.T) {
	q, _, clk := mustQueue(t, Config{})
	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "Ann", Capacity: 2, Audiences: []string{"public"}})
	clk.Set(at(1 * time.Second))
	mustEnqueue(t, q, "c1", "public", 1)
	clk.Set(at(2 * time.Second))
	mustEnqueue(t, q, "c2", "public", 2)
	clk.Set(at(3 * time.Second))
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann", "c2>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	clk.Set(at(4 * time.Second))
	mustEnqueue(t, q, "c3", "public", 1)
	clk.Set(at(5 * time.Second))
	mustEnqueue(t, q, "c4", "public", 2)

	clk.Set(at(10 * time.Second))
	if got, want := mustOffDuty(t, q, "ann"), []string{"c1", "c2"}; !slices.Equal(got, want) {
		t.Fatalf("OffDuty(ann) = %q, want %q", got, want)
	}
	// Back at the front: before c3 and c4, which came later.
	checkStates(t, q, []string{"c1", "c2", "c3", "c4"}, []ConversationState{
		{ID: "c1", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 1, Enqueued: at(1 * time.Second)},
		{ID: "c2", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 2, Enqueued: at(2 * time.Second)},
		{ID: "c3", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 3, Enqueued: at(4 * time.Second)},
		{ID: "c4", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 4, Enqueued: at(5 * time.Second)},
	})
	ctx := context.Background()
	if s, err := q.AdvisorStatus(ctx, "ann"); err != nil || s.Duty || len(s.Conversations) != 0 {
		t.Errorf("AdvisorStatus(ann) = %+v, %v, want off duty with no conversations", s, err)
	}
	if got := mustOffDuty(t, q, "ann"); len(got) != 0 {
		t.Errorf("OffDuty(ann) again = %q, want none", got)
	}
	if got := mustAssign(t, q, 10); len(got) != 0 {
		t.Errorf("Assign with nobody on duty = %q, want none", pairs(got))
	}

	clk.Set(at(20 * time.Second))
	mustOnDuty(t, q, Advisor{Name: "bob", Alias: "Bob", Capacity: 1, Audiences: []string{"public"}})
	as := mustAssign(t, q, 10)
	want := Assignment{Conversation: "c1", Advisor: "bob", Alias: "Bob", Enqueued: at(time.Second)}
	if len(as) != 1 || as[0].Conversation != want.Conversation || as[0].Advisor != want.Advisor || as[0].Alias != want.Alias || !as[0].Enqueued.Equal(want.Enqueued) {
		t.Errorf("Assign after OffDuty = %+v, want [%+v]", as, want)
	}
}

func TestRelease(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{Retention: 5 * time.Minute, IdleTTL: time.Hour})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	clk.Set(at(time.Second))
	mustEnqueue(t, q, "c2", "public", 2)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}
	if ttl := r.Client.TTL(ctx, q.convKey("c2")).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL(conv c2) while waiting = %v, want in (0, 1h]", ttl)
	}

	// A waiting conversation leaves the queue.
	mustRelease(t, q, "c2", StatusWaiting, "", true)
	if st := mustState(t, q, "c2"); st.Status != StatusEnded || st.Position != 0 {
		t.Errorf("State(c2) after Release = %+v, want ended, no position", st)
	}
	if stats, err := q.Snapshot(ctx); err != nil || stats[0].Waiting != 0 {
		t.Errorf("Snapshot() after Release = %+v, %v, want nobody waiting", stats, err)
	}

	// An active one frees its advisor's capacity.
	clk.Set(at(2 * time.Second))
	mustEnqueue(t, q, "c3", "public", 1)
	if got := mustAssign(t, q, 10); len(got) != 0 {
		t.Fatalf("Assign with ann full = %q, want none", pairs(got))
	}
	mustRelease(t, q, "c1", StatusActive, "ann", true)
	if s, err := q.AdvisorStatus(ctx, "ann"); err != nil || !s.Duty || len(s.Conversations) != 0 {
		t.Errorf("AdvisorStatus(ann) after Release = %+v, %v, want on duty with no conversations", s, err)
	}
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c3>ann"}; !slices.Equal(got, want) {
		t.Errorf("Assign after Release = %q, want %q", got, want)
	}

	// Twice, or unknown: nothing to do.
	mustRelease(t, q, "c1", "", "", false)
	mustRelease(t, q, "c2", "", "", false)
	mustRelease(t, q, "nope", "", "", false)
	for _, id := range []string{"c1", "c2"} {
		if ttl := r.Client.TTL(ctx, q.convKey(id)).Val(); ttl <= 0 || ttl > 5*time.Minute {
			t.Errorf("TTL(conv %s) after Release = %v, want in (0, 5m]", id, ttl)
		}
	}
	if got := mustState(t, q, "nope"); got.Status != "" {
		t.Errorf("State(nope) = %+v, want unknown", got)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	q, _, clk := mustQueue(t, Config{AdvisorGrace: 30 * time.Second, VisitorGrace: 2 * time.Minute})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	mustEnqueue(t, q, "c2", "public", 2)
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann", "c2>bob"}; !slices.Equal(got, want) {
		t.Fatalf("Assign = %q, want %q", got, want)
	}

	steps := []struct {
		name      string
		now       time.Duration
		before    func() // at now, before the sweep
		requeued  []Requeue
		abandoned []string
	}{
		{"all fresh", 20 * time.Second, func() {
			if err := q.TouchAdvisors(ctx, "ann"); err != nil {
				t.Fatalf("TouchAdvisors = %v", err)
			}
			if err := q.TouchVisitors(ctx, "c1", "c2"); err != nil {
				t.Fatalf("TouchVisitors = %v", err)
			}
		}, nil, nil},
		{"bob lost, ann touched", 31 * time.Second, nil, []Requeue{{"c2", "bob", CauseAdvisorLost}}, nil},
		{"claimed once", 32 * time.Second, nil, nil, nil},
		{"touching bob off duty does not bring him back", 40 * time.Second, func() {
			if err := q.TouchAdvisors(ctx, "bob"); err != nil {
				t.Fatalf("TouchAdvisors = %v", err)
			}
		}, nil, nil},
		{"ann just within grace", 49 * time.Second, func() {
			mustEnqueue(t, q, "c3", "public", 2)
		}, nil, nil},
		{"ann lost", 51 * time.Second, nil, []Requeue{{"c1", "ann", CauseAdvisorLost}}, nil},
		{"touching an ended advisor again", 90 * time.Second, func() {
			_ = q.TouchAdvisors(ctx, "ann", "bob")
		}, nil, nil},
		{"visitors of c1 and c2 gone", 141 * time.Second, nil, nil, []string{"c1", "c2"}},
		{"c3 touched", 160 * time.Second, func() {
			if err := q.TouchVisitors(ctx, "c3", "c1"); err != nil {
				t.Fatalf("TouchVisitors = %v", err)
			}
		}, nil, nil},
		{"c3 gone", 281 * time.Second, nil, nil, []string{"c3"}},
		{"nothing left", time.Hour, nil, nil, nil},
	}
	for _, st := range steps {
		clk.Set(at(st.now))
		if st.before != nil {
			st.before()
		}
		res := mustSweep(t, q)
		if !slices.Equal(res.Requeued, st.requeued) || !slices.Equal(res.Abandoned, st.abandoned) {
			t.Errorf("%s: Sweep() = %+v, want {Requeued:%v Abandoned:%v}", st.name, res, st.requeued, st.abandoned)
		}
		switch st.name {
		case "bob lost, ann touched":
			if s, _ := q.AdvisorStatus(ctx, "bob"); s.Duty || len(s.Conversations) != 0 {
				t.Errorf("AdvisorStatus(bob) after sweep = %+v, want off duty, no conversations", s)
			}
			if s, _ := q.AdvisorStatus(ctx, "ann"); !s.Duty || !slices.Equal(s.Conversations, []string{"c1"}) {
				t.Errorf("AdvisorStatus(ann) after sweep = %+v, want on duty with c1", s)
			}
			if got := mustState(t, q, "c2"); got.Status != StatusWaiting || got.Position != 1 || !got.Enqueued.Equal(t0) {
				t.Errorf("State(c2) after sweep = %+v, want waiting at 1 since t0", got)
			}
		case "ann lost":
			if got := mustState(t, q, "c1"); got.Status != StatusWaiting || got.Position != 1 {
				t.Errorf("State(c1) after sweep = %+v, want waiting at 1", got)
			}
			if on, active, err := q.Counts(ctx); on != 0 || active != 0 || err != nil {
				t.Errorf("Counts() = %d, %d, %v, want 0, 0, nil", on, active, err)
			}
		case "visitors of c1 and c2 gone":
			for _, id := range []string{"c1", "c2"} {
				if got := mustState(t, q, id); got.Status != StatusEnded {
					t.Errorf("State(%s) = %+v, want ended", id, got)
				}
			}
			if got := mustState(t, q, "c3"); got.Status != StatusWaiting || got.Position != 1 {
				t.Errorf("State(c3) = %+v, want waiting at 1", got)
			}
		}
	}
}

func TestSweepAbandonsActiveConversation(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{AdvisorGrace: time.Hour, VisitorGrace: time.Minute})
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 1, Audiences: []string{"public"}})
	mustEnqueue(t, q, "c1", "public", 1)
	mustAssign(t, q, 1)
	sub := r.Client.Subscribe(ctx, q.AdvisorChannel("ann"))
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		t.Fatalf("subscribe: %v", err)
	}
	clk.Set(at(2 * time.Minute))
	if err := q.TouchAdvisors(ctx, "ann"); err != nil {
		t.Fatalf("TouchAdvisors = %v", err)
	}
	res := mustSweep(t, q)
	if !slices.Equal(res.Abandoned, []string{"c1"}) || len(res.Requeued) != 0 {
		t.Fatalf("Sweep() = %+v, want c1 abandoned", res)
	}
	if want := []Abandonment{{Conversation: "c1", Was: StatusActive, Advisor: "ann"}}; !slices.Equal(res.Abandonments, want) {
		t.Errorf("Sweep().Abandonments = %+v, want %+v", res.Abandonments, want)
	}
	if s, err := q.AdvisorStatus(ctx, "ann"); err != nil || !s.Duty || len(s.Conversations) != 0 {
		t.Errorf("AdvisorStatus(ann) = %+v, %v, want on duty with capacity free", s, err)
	}
	want := advisorEvent{Type: "unassigned", Conversation: "c1", Reason: "ended"}
	if got := receiveEvent(t, sub); got != want {
		t.Errorf("advisor event = %+v, want %+v", got, want)
	}
}

func TestConcurrentSweepsClaimOnce(t *testing.T) {
	ctx := context.Background()
	cfg := Config{AdvisorGrace: 30 * time.Second, VisitorGrace: 90 * time.Second}
	q, r, clk := mustQueue(t, cfg)
	var active []string
	wantRequeued := make(map[Requeue]bool)
	for i := range 10 {
		name := fmt.Sprintf("adv%02d", i)
		mustOnDuty(t, q, Advisor{Name: name, Capacity: 1, Audiences: []string{"public"}})
		id := fmt.Sprintf("a%02d", i)
		mustEnqueue(t, q, id, "public", 1)
		as := mustAssign(t, q, 1)
		if len(as) != 1 || as[0].Advisor != name {
			t.Fatalf("Assign = %+v, want %s to %s", as, id, name)
		}
		active = append(active, id)
		wantRequeued[Requeue{id, name, CauseAdvisorLost}] = true
	}
	wantAbandoned := make(map[string]bool)
	for i := range 20 {
		id := fmt.Sprintf("w%02d", i)
		mustEnqueue(t, q, id, "public", i+1)
		wantAbandoned[id] = true
	}
	clk.Set(at(60 * time.Second))
	if err := q.TouchVisitors(ctx, active...); err != nil {
		t.Fatalf("TouchVisitors = %v", err)
	}
	// Every advisor lost (100 s > 30 s), every waiting visitor gone
	// (100 s > 90 s), the active ones' visitors not (40 s).
	clk.Set(at(100 * time.Second))

	const sweepers, rounds = 4, 10
	start := make(chan struct{})
	results := make(chan SweepResult, sweepers*rounds)
	var wg sync.WaitGroup
	for range sweepers {
		// Each sweeper is an instance: its own client, its own Queue.
		cfg := q.Config()
		qi, err := New(mustClient(t, r), cfg)
		if err != nil {
			t.Fatalf("New = %v", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range rounds {
				res, err := qi.Sweep(ctx)
				if err != nil {
					t.Errorf("Sweep() = %v", err)
					return
				}
				results <- res
			}
		}()
	}
	close(start)
	wg.Wait()
	close(results)

	gotRequeued := make(map[Requeue]int)
	gotAbandoned := make(map[string]int)
	for res := range results {
		for _, rq := range res.Requeued {
			gotRequeued[rq]++
		}
		for _, id := range res.Abandoned {
			gotAbandoned[id]++
		}
	}
	for rq := range wantRequeued {
		if gotRequeued[rq] != 1 {
			t.Errorf("requeue %+v claimed %d times, want once", rq, gotRequeued[rq])
		}
	}
	for rq, n := range gotRequeued {
		if !wantRequeued[rq] {
			t.Errorf("unexpected requeue %+v claimed %d times", rq, n)
		}
	}
	for id := range wantAbandoned {
		if gotAbandoned[id] != 1 {
			t.Errorf("abandoned %s claimed %d times, want once", id, gotAbandoned[id])
		}
	}
	for id, n := range gotAbandoned {
		if !wantAbandoned[id] {
			t.Errorf("unexpected abandoned %s claimed %d times", id, n)
		}
	}
	// The requeued ones wait again, in their old order.
	for i, id := range active {
		if st := mustState(t, q, id); st.Status != StatusWaiting || st.Position != i+1 {
			t.Errorf("State(%s) = %+v, want waiting at %d", id, st, i+1)
		}
	}
}

func TestStatesAndSnapshot(t *testing.T) {
	ctx := context.Background()
	q, _, clk := mustQueue(t, Config{Queues: []string{"public", "professional", "empty"}})
	for i := 1; i <= 5; i++ {
		clk.Set(at(time.Duration(i) * time.Second))
		mustEnqueue(t, q, fmt.Sprint("p", i), "public", i)
		if i == 2 {
			clk.Set(at(2500 * time.Millisecond))
			mustEnqueue(t, q, "f1", "professional", 1)
		}
	}
	clk.Set(at(time.Minute))

	ids := []string{"p1", "p2", "p3", "p4", "p5", "f1", "unknown"}
	want := []ConversationState{
		{ID: "p1", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 1, Enqueued: at(1 * time.Second)},
		{ID: "p2", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 2, Enqueued: at(2 * time.Second)},
		{ID: "p3", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 3, Enqueued: at(3 * time.Second)},
		{ID: "p4", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 4, Enqueued: at(4 * time.Second)},
		{ID: "p5", Status: StatusWaiting, Queue: "public", Audience: "public", Lang: testLang, Position: 5, Enqueued: at(5 * time.Second)},
		{ID: "f1", Status: StatusWaiting, Queue: "professional", Audience: "professional", Lang: testLang, Position: 1, Enqueued: at(2500 * time.Millisecond)},
		{ID: "unknown"},
	}
	checkStates(t, q, ids, want)
	checkSnapshot(t, q, []QueueStat{
		{Name: "public", Waiting: 5, Oldest: at(time.Second)},
		{Name: "professional", Waiting: 1, Oldest: at(2500 * time.Millisecond)},
		{Name: "empty"},
	})
	if on, active, err := q.Counts(ctx); on != 0 || active != 0 || err != nil {
		t.Errorf("Counts() = %d, %d, %v, want 0, 0, nil", on, active, err)
	}

	// p1 goes to ann, p3 ends: the others move up.
	mustOnDuty(t, q, Advisor{Name: "ann", Alias: "A.", Capacity: 1, Audiences: []string{"public"}})
	mustAssign(t, q, 10)
	mustRelease(t, q, "p3", StatusWaiting, "", true)
	want[0] = ConversationState{ID: "p1", Status: StatusActive, Queue: "public", Audience: "public", Lang: testLang, Advisor: "ann", Enqueued: at(1 * time.Second), Assigned: at(time.Minute)}
	want[1].Position = 1
	want[2] = ConversationState{ID: "p3", Status: StatusEnded, Queue: "public", Audience: "public", Lang: testLang, Enqueued: at(3 * time.Second)}
	want[3].Position = 2
	want[4].Position = 3
	checkStates(t, q, ids, want)
	checkSnapshot(t, q, []QueueStat{
		{Name: "public", Waiting: 3, Oldest: at(2 * time.Second)},
		{Name: "professional", Waiting: 1, Oldest: at(2500 * time.Millisecond)},
		{Name: "empty"},
	})
	if on, active, err := q.Counts(ctx); on != 1 || active != 1 || err != nil {
		t.Errorf("Counts() = %d, %d, %v, want 1, 1, nil", on, active, err)
	}
	if s, err := q.AdvisorStatus(ctx, "ann"); err != nil || !s.Duty || s.Alias != "A." || s.Capacity != 1 || !slices.Equal(s.Conversations, []string{"p1"}) {
		t.Errorf("AdvisorStatus(ann) = %+v, %v, want on duty, A., capacity 1, [p1]", s, err)
	}
	if err := q.SetAlias(ctx, "ann", "Ann K."); err != nil {
		t.Fatalf("SetAlias = %v", err)
	}
	if s, _ := q.AdvisorStatus(ctx, "ann"); s.Alias != "Ann K." {
		t.Errorf("AdvisorStatus(ann).Alias after SetAlias = %q, want %q", s.Alias, "Ann K.")
	}
	if s, err := q.AdvisorStatus(ctx, "nobody"); err != nil || s.Duty || s.Capacity != 0 || len(s.Conversations) != 0 {
		t.Errorf("AdvisorStatus(nobody) = %+v, %v, want zero", s, err)
	}
	if got, err := q.States(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("States(nil) = %+v, %v, want none", got, err)
	}
}

func checkStates(tb testing.TB, q *Queue, ids []string, want []ConversationState) {
	tb.Helper()
	got, err := q.States(context.Background(), ids)
	if err != nil {
		tb.Fatalf("States(%q) = %v", ids, err)
	}
	if len(got) != len(want) {
		tb.Fatalf("States(%q) = %d states, want %d", ids, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		// Times of unknown fields are not specified.
		sameTime := func(g, w time.Time) bool { return w.IsZero() || g.Equal(w) }
		if g.ID != w.ID || g.Status != w.Status || g.Queue != w.Queue || g.Audience != w.Audience || g.Lang != w.Lang ||
			g.Advisor != w.Advisor || g.Position != w.Position || !sameTime(g.Enqueued, w.Enqueued) || !sameTime(g.Assigned, w.Assigned) {
			tb.Errorf("States(...)[%d] = %+v, want %+v", i, g, w)
		}
	}
}

func checkSnapshot(tb testing.TB, q *Queue, want []QueueStat) {
	tb.Helper()
	got, err := q.Snapshot(context.Background())
	if err != nil {
		tb.Fatalf("Snapshot() = %v", err)
	}
	if len(got) != len(want) {
		tb.Fatalf("Snapshot() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Waiting != want[i].Waiting || !got[i].Oldest.Equal(want[i].Oldest) {
			tb.Errorf("Snapshot()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// advisorEvent is what the scripts publish on an advisor's channel.
type advisorEvent struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Reason       string `json:"reason"`
	Deadline     int64  `json:"deadline"`
}

// mustSubscribe subscribes to channels on r and waits for every
// confirmation, so nothing published after it returns is missed.
func mustSubscribe(tb testing.TB, r *redistest.Redis, channels ...string) *redis.PubSub {
	tb.Helper()
	sub := r.Client.Subscribe(context.Background(), channels...)
	tb.Cleanup(func() { _ = sub.Close() })
	for range channels {
		if _, err := sub.Receive(context.Background()); err != nil {
			tb.Fatalf("subscribe %q: %v", channels, err)
		}
	}
	return sub
}

// receiveEvents receives n advisor events.
func receiveEvents(tb testing.TB, sub *redis.PubSub, n int) []advisorEvent {
	tb.Helper()
	out := make([]advisorEvent, n)
	for i := range out {
		out[i] = receiveEvent(tb, sub)
	}
	return out
}

func receiveEvent(tb testing.TB, sub *redis.PubSub) advisorEvent {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	m, err := sub.ReceiveMessage(ctx)
	if err != nil {
		tb.Fatalf("no advisor event within %v: %v", waitFor, err)
	}
	var e advisorEvent
	if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
		tb.Fatalf("advisor event %s: %v", m.Payload, err)
	}
	return e
}

func TestAnnouncements(t *testing.T) {
	ctx := context.Background()
	q, r, _ := mustQueue(t, Config{})
	sub := r.Client.Subscribe(ctx, q.AdvisorChannel("ann"), q.ChangedChannel())
	defer sub.Close()
	for range 2 {
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
	}
	next := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, waitFor)
		defer cancel()
		m, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("no announcement within %v: %v", waitFor, err)
		}
		if m.Channel == q.ChangedChannel() {
			return "changed " + m.Payload
		}
		var e advisorEvent
		if err := json.Unmarshal([]byte(m.Payload), &e); err != nil {
			t.Fatalf("advisor event %s: %v", m.Payload, err)
		}
		return fmt.Sprintf("ann %s %s %s", e.Type, e.Conversation, e.Reason)
	}
	steps := []struct {
		do   func()
		want []string
	}{
		{func() { mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public"}}) }, []string{"changed duty"}},
		{func() { mustEnqueue(t, q, "c1", "public", 1) }, []string{"changed enqueue"}},
		{func() { mustEnqueue(t, q, "c2", "public", 2) }, []string{"changed enqueue"}},
		{func() { mustAssign(t, q, 10) }, []string{"ann assigned c1 ", "ann assigned c2 ", "changed assign"}},
		{func() { mustRelease(t, q, "c1", StatusActive, "ann", true) }, []string{"ann unassigned c1 ended", "changed release"}},
		{func() { mustOffDuty(t, q, "ann") }, []string{"ann unassigned c2 requeued", "changed duty"}},
		{func() { mustRelease(t, q, "c2", StatusWaiting, "", true) }, []string{"changed release"}},
	}
	for i, s := range steps {
		s.do()
		var got []string
		for range s.want {
			got = append(got, next())
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("step %d: announcements = %q, want %q", i, got, s.want)
		}
	}
}

func TestAssignDropsExpiredConversations(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{})
	mustEnqueue(t, q, "gone", "public", 1)
	clk.Set(at(time.Second))
	mustEnqueue(t, q, "c1", "public", 2)
	// As if the conversation's hash had expired.
	if err := r.Client.Del(ctx, q.convKey("gone")).Err(); err != nil {
		t.Fatalf("DEL = %v", err)
	}
	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 5, Audiences: []string{"public"}})
	if got, want := pairs(mustAssign(t, q, 10)), []string{"c1>ann"}; !slices.Equal(got, want) {
		t.Errorf("Assign = %q, want %q", got, want)
	}
	if n := r.Client.ZCard(ctx, q.queueKey("public")).Val(); n != 0 {
		t.Errorf("ZCARD public queue = %d, want 0", n)
	}
}

// metricValues gathers reg and returns each sample as name{label=value}.
func metricValues(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("Gather() = %v", err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				out[name] = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				out[name] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestCollector(t *testing.T) {
	q, r, clk := mustQueue(t, Config{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(q))
	m := NewMetrics(reg)

	mustOnDuty(t, q, Advisor{Name: "ann", Capacity: 2, Audiences: []string{"public"}})
	mustOnDuty(t, q, Advisor{Name: "bob", Capacity: 1, Audiences: []string{"professional"}})
	mustOnDuty(t, q, Advisor{Name: "cem", Capacity: 1, Audiences: []string{"public"}})
	mustOffDuty(t, q, "cem")
	for i := range 5 {
		clk.Set(at(time.Duration(i) * time.Second))
		mustEnqueue(t, q, fmt.Sprint("p", i), "public", i+1)
	}
	clk.Set(at(10 * time.Second))
	mustAssign(t, q, 10) // p0, p1 to ann
	clk.Set(at(90 * time.Second))
	m.Requeued("advisor_left", 3)

	want := map[string]float64{
		"advicechat_waiting_conversations{queue=public}":       3,
		"advicechat_waiting_conversations{queue=professional}": 0,
		"advicechat_longest_wait_seconds{queue=public}":        88, // p2 since 2 s
		"advicechat_longest_wait_seconds{queue=professional}":  0,
		"advicechat_advisors_on_duty":                          2,
		"advicechat_active_conversations":                      2,
		"advicechat_routing_state_up":                          1,
		"advicechat_requeues_total{cause=advisor_left}":        3,
		"advicechat_assignments_total":                         0,
		"advicechat_abandoned_total{state=waiting}":            0,
		"advicechat_abandoned_total{state=active}":             0,
		"advicechat_offers_total{outcome=accepted}":            0,
		"advicechat_offers_total{outcome=expired}":             0,
		"advicechat_offers_total{outcome=withdrawn}":           0,
		"advicechat_offers_total{outcome=visitor_left}":        0,
		"advicechat_max_wait_reached_total":                    0,
		"advicechat_transfers_total{to=advisor}":               0,
		"advicechat_transfers_total{to=queue}":                 0,
		"advicechat_picks_total":                               0,
	}
	for _, c := range []string{CauseAdvisorLost, CauseOffDuty, CauseOfferExpired, CauseNotResponding, CauseTransferred} {
		want["advicechat_requeues_total{cause="+c+"}"] = 0
	}
	got := metricValues(t, reg)
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("metric %s = %v (present %v), want %v", name, g, ok, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && !slices.Contains([]string{"advicechat_wait_seconds", "advicechat_routing_round_duration_seconds"}, name) {
			t.Errorf("unexpected metric %s", name)
		}
	}

	// Redis away: the collector says so instead of failing the scrape.
	c := mustClient(t, r)
	qDown, err := New(c, q.Config())
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	_ = c.Close()
	regDown := prometheus.NewRegistry()
	regDown.MustRegister(NewCollector(qDown))
	got = metricValues(t, regDown)
	if g, ok := got["advicechat_routing_state_up"]; !ok || g != 0 || len(got) != 1 {
		t.Errorf("metrics with Redis away = %v, want only advicechat_routing_state_up 0", got)
	}
}

func TestSweepForgetsExpiredConversations(t *testing.T) {
	ctx := context.Background()
	q, r, clk := mustQueue(t, Config{VisitorGrace: time.Minute})
	mustEnqueue(t, q, "gone", "public", 0)
	mustEnqueue(t, q, "c1", "public", 0)
	// As if the conversation's hash had expired before its visitor left.
	if err := r.Client.Del(ctx, q.convKey("gone")).Err(); err != nil {
		t.Fatalf("DEL = %v", err)
	}
	clk.Set(at(2 * time.Minute))
	if res := mustSweep(t, q); !slices.Equal(res.Abandoned, []string{"c1"}) || len(res.Requeued) != 0 {
		t.Errorf("Sweep() = %+v, want only c1 abandoned", res)
	}
	// Its deadline is gone too, or every sweep would find it again.
	if n := r.Client.ZCard(ctx, q.p+"vseen").Val(); n != 0 {
		t.Errorf("ZCARD vseen after the sweep = %d, want 0", n)
	}
}
