package routing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// advisorSpec is an advisor as a policy case sees it when the round starts.
type advisorSpec struct {
	name     string
	capacity int
	audience []string
	langs    []string      // testLang if nil
	load     int           // conversations already held
	idle     time.Duration // since the last assignment; 0 if never assigned
}

// waitingSpec is a conversation waiting since t0 plus at.
type waitingSpec struct {
	id, audience string
	at           time.Duration
}

// mustPolicySetup builds the state of a policy case through the public
// API: each advisor with load or idle time first gets conversations from a
// queue only they serve, at t0 minus idle (releasing one again if the load
// is 0); then the waiting conversations are enqueued, each in its language
// in langs (testLang if absent), refusing the fallback if in noFallback,
// with its priority in priorities (normal if absent).
// It returns the queue and its clock, at t0 plus the last wait.
func mustPolicySetup(tb testing.TB, cfg Config, advisors []advisorSpec, waiting []waitingSpec, langs map[string]string, noFallback []string, priorities map[string]int) (*Queue, *clock) {
	tb.Helper()
	cfg.Queues = []string{"public", "professional"}
	for _, a := range advisors {
		cfg.Queues = append(cfg.Queues, "pre-"+a.name)
	}
	q, _, clk := mustQueue(tb, cfg)
	clk.Set(t0.Add(-24 * time.Hour))
	for _, a := range advisors {
		aud := append(slices.Clone(a.audience), "pre-"+a.name)
		mustOnDuty(tb, q, Advisor{Name: a.name, Alias: "alias of " + a.name, Capacity: a.capacity, Audiences: aud, Languages: a.langs})
	}
	// Oldest assignment first, so each preload is the advisor's last.
	pre := slices.Clone(advisors)
	sort.SliceStable(pre, func(i, j int) bool { return pre[i].idle > pre[j].idle })
	for _, a := range pre {
		if a.load > 0 && a.idle == 0 {
			tb.Fatalf("advisor %s: a load needs an idle time (its last assignment)", a.name)
		}
		if a.idle == 0 {
			continue
		}
		clk.Set(t0.Add(-a.idle))
		n := max(a.load, 1)
		lang := testLang
		if len(a.langs) > 0 {
			lang = a.langs[0]
		}
		for i := range n {
			id := fmt.Sprintf("pre-%s-%d", a.name, i)
			if pos, err := q.Enqueue(context.Background(), id, Need{Audience: "pre-" + a.name, Lang: lang}); err != nil || pos != i+1 {
				tb.Fatalf("Enqueue(%s) = %d, %v, want %d, nil", id, pos, err, i+1)
			}
		}
		as := mustAssign(tb, q, n)
		if len(as) != n {
			tb.Fatalf("preload of %s: Assign = %q, want %d conversations", a.name, pairs(as), n)
		}
		for _, x := range as {
			if x.Advisor != a.name {
				tb.Fatalf("preload of %s: Assign = %q, want all to %s", a.name, pairs(as), a.name)
			}
		}
		if a.load == 0 {
			mustRelease(tb, q, as[0].Conversation, StatusActive, a.name, true)
		}
	}
	for _, w := range waiting {
		clk.Set(t0.Add(w.at))
		n := Need{Audience: w.audience, Lang: testLang, NoFallback: slices.Contains(noFallback, w.id), Priority: priorities[w.id]}
		if l, ok := langs[w.id]; ok {
			n.Lang = l
		}
		pos, err := q.Enqueue(context.Background(), w.id, n)
		if err != nil || pos < 1 {
			tb.Fatalf("Enqueue(%s, %+v) = %d, %v", w.id, n, pos, err)
		}
	}
	return q, clk
}

// waitingFrom returns n conversations id1...idn waiting one second apart
// from t0 plus at.
func waitingFrom(id, audience string, at time.Duration, n int) []waitingSpec {
	out := make([]waitingSpec, n)
	for i := range out {
		out[i] = waitingSpec{fmt.Sprint(id, i+1), audience, at + time.Duration(i)*time.Second}
	}
	return out
}

// allLang gives every conversation of ws the language lang.
func allLang(lang string, ws ...[]waitingSpec) map[string]string {
	m := make(map[string]string)
	for _, w := range slices.Concat(ws...) {
		m[w.id] = lang
	}
	return m
}

func TestAssignPolicy(t *testing.T) {
	both := []string{"public", "professional"}
	pub := []string{"public"}
	pro := []string{"professional"}
	tests := []struct {
		name       string
		policy     string // DefaultPolicy if empty
		advisors   []advisorSpec
		waiting    []waitingSpec
		langs      map[string]string // conversation -> language; testLang if absent
		noFallback []string          // conversations whose visitor declined the fallback
		priority   map[string]int    // conversation -> priority; normal if absent
		// fallback is Config.FallbackAfter, with FallbackLanguages en and nl.
		fallback time.Duration
		assignAt time.Duration // clock at Assign, from t0; an hour if 0
		max      int
		want     []string // conversation>advisor, in the order given
	}{
		{
			name:    "nobody on duty",
			waiting: []waitingSpec{{"c1", "public", 0}, {"c2", "professional", 0}},
			max:     10,
			want:    nil,
		},
		{
			name:     "nobody waiting",
			advisors: []advisorSpec{{name: "ann", capacity: 3, audience: both}},
			max:      10,
			want:     nil,
		},
		{
			name:     "longest waiting first across queues",
			advisors: []advisorSpec{{name: "ann", capacity: 1, audience: both}},
			waiting:  []waitingSpec{{"p1", "public", 20 * time.Second}, {"f1", "professional", 10 * time.Second}, {"p2", "public", 30 * time.Second}},
			max:      10,
			want:     []string{"f1>ann"},
		},
		{
			name:     "all in waiting order",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: both}},
			waiting: []waitingSpec{
				{"p1", "public", 20 * time.Second}, {"f1", "professional", 10 * time.Second},
				{"p2", "public", 30 * time.Second}, {"f2", "professional", 25 * time.Second}, {"p0", "public", 5 * time.Second},
			},
			max:  10,
			want: []string{"p0>ann", "f1>ann", "p1>ann", "f2>ann", "p2>ann"},
		},
		{
			name: "lowest load ratio wins over idle time",
			advisors: []advisorSpec{
				{name: "ann", capacity: 3, audience: pub, load: 1, idle: 100 * time.Second}, // 1/3
				{name: "bob", capacity: 2, audience: pub, load: 1, idle: 200 * time.Second}, // 1/2
			},
			waiting: []waitingSpec{{"c1", "public", 0}},
			max:     10,
			want:    []string{"c1>ann"},
		},
		{
			name: "ratio, not count",
			advisors: []advisorSpec{
				{name: "ann", capacity: 10, audience: pub, load: 3, idle: time.Second},    // 0.3
				{name: "bob", capacity: 2, audience: pub, load: 1, idle: time.Minute},     // 0.5
				{name: "cem", capacity: 4, audience: pub, load: 2, idle: 2 * time.Minute}, // 0.5
			},
			waiting: []waitingSpec{{"c1", "public", 0}},
			max:     1,
			want:    []string{"c1>ann"},
		},
		{
			name: "load changes within a round",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub},
				{name: "bob", capacity: 4, audience: pub, load: 1, idle: time.Minute},
			},
			waiting: []waitingSpec{{"c1", "public", 1 * time.Second}, {"c2", "public", 2 * time.Second}, {"c3", "public", 3 * time.Second}, {"c4", "public", 4 * time.Second}},
			max:     10,
			// c1: ann 0 < bob 1/4. c2: bob 1/4 < ann 1/2. c3: both 1/2,
			// both last assigned now: by name. c4: bob 2/4 < ann 2/2 (full).
			want: []string{"c1>ann", "c2>bob", "c3>ann", "c4>bob"},
		},
		{
			name: "equal ratio: idle longest wins",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub, load: 1, idle: time.Minute},
				{name: "bob", capacity: 2, audience: pub, load: 1, idle: 2 * time.Minute},
				{name: "cem", capacity: 4, audience: pub, load: 2, idle: 90 * time.Second},
			},
			waiting: []waitingSpec{{"c1", "public", 0}},
			max:     1,
			want:    []string{"c1>bob"},
		},
		{
			name: "never assigned counts as idle longest",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub, idle: time.Hour},
				{name: "bob", capacity: 2, audience: pub},
			},
			waiting: []waitingSpec{{"c1", "public", 0}},
			max:     1,
			want:    []string{"c1>bob"},
		},
		{
			name: "equal ratio and idle: by name",
			advisors: []advisorSpec{
				{name: "dan", capacity: 1, audience: pub},
				{name: "bob", capacity: 3, audience: pub},
				{name: "cem", capacity: 2, audience: pub},
			},
			waiting: []waitingSpec{{"c1", "public", 0}, {"c2", "public", time.Second}, {"c3", "public", 2 * time.Second}},
			max:     10,
			want:    []string{"c1>bob", "c2>cem", "c3>dan"},
		},
		{
			name: "audience skill",
			advisors: []advisorSpec{
				{name: "ann", capacity: 5, audience: pub},
				{name: "bob", capacity: 5, audience: pro},
			},
			waiting: []waitingSpec{{"p1", "public", 10 * time.Second}, {"f1", "professional", 5 * time.Second}, {"p2", "public", 20 * time.Second}},
			max:     10,
			want:    []string{"f1>bob", "p1>ann", "p2>ann"},
		},
		{
			name:     "oldest has no skilled advisor: the next is served",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub}},
			waiting:  []waitingSpec{{"f1", "professional", 0}, {"p1", "public", 10 * time.Second}},
			max:      10,
			want:     []string{"p1>ann"},
		},
		{
			name: "skill before load",
			advisors: []advisorSpec{
				{name: "ann", capacity: 5, audience: pub},
				{name: "bob", capacity: 5, audience: both, load: 4, idle: time.Second},
			},
			waiting: []waitingSpec{{"f1", "professional", 0}},
			max:     10,
			want:    []string{"f1>bob"},
		},
		{
			name: "never over capacity",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub},
				{name: "bob", capacity: 1, audience: pub},
			},
			waiting: []waitingSpec{{"c1", "public", 1 * time.Second}, {"c2", "public", 2 * time.Second}, {"c3", "public", 3 * time.Second}, {"c4", "public", 4 * time.Second}, {"c5", "public", 5 * time.Second}},
			max:     10,
			want:    []string{"c1>ann", "c2>bob", "c3>ann"},
		},
		{
			name: "full advisors get nothing",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: both, load: 2, idle: time.Minute},
				{name: "bob", capacity: 1, audience: both, load: 1, idle: time.Hour},
			},
			waiting: []waitingSpec{{"c1", "public", 0}},
			max:     10,
			want:    nil,
		},
		{
			name:     "max bounds a round",
			advisors: []advisorSpec{{name: "ann", capacity: 3, audience: pub}},
			waiting:  []waitingSpec{{"c1", "public", 1 * time.Second}, {"c2", "public", 2 * time.Second}, {"c3", "public", 3 * time.Second}},
			max:      2,
			want:     []string{"c1>ann", "c2>ann"},
		},

		// Languages and the fallback (en, nl).
		{
			name: "language skill",
			advisors: []advisorSpec{
				{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}},
				{name: "bob", capacity: 5, audience: pub, langs: []string{"en"}},
			},
			waiting: []waitingSpec{{"e1", "public", 0}, {"n1", "public", time.Second}, {"e2", "public", 2 * time.Second}},
			langs:   map[string]string{"e1": "en", "e2": "en"},
			max:     10,
			want:    []string{"e1>bob", "n1>ann", "e2>bob"},
		},
		{
			name: "audience and language, both",
			advisors: []advisorSpec{
				{name: "ann", capacity: 5, audience: pro, langs: []string{"nl"}},
				{name: "bob", capacity: 5, audience: pub, langs: []string{"en"}},
			},
			waiting: []waitingSpec{{"n1", "public", 0}},
			max:     10,
			want:    nil,
		},
		{
			name:     "before the fallback only its own language",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  []waitingSpec{{"e1", "public", 0}},
			langs:    map[string]string{"e1": "en"},
			fallback: 2 * time.Minute,
			assignAt: 2*time.Minute - time.Millisecond,
			max:      10,
			want:     nil,
		},
		{
			name:     "from the fallback a fallback language too",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  []waitingSpec{{"e1", "public", 0}},
			langs:    map[string]string{"e1": "en"},
			fallback: 2 * time.Minute,
			assignAt: 2 * time.Minute,
			max:      10,
			want:     []string{"e1>ann"},
		},
		{
			name: "the fallback counts for each conversation",
			advisors: []advisorSpec{
				{name: "ann", capacity: 5, audience: pub, langs: []string{"en"}},
			},
			waiting:  []waitingSpec{{"a1", "public", 0}, {"a2", "public", time.Minute}},
			langs:    map[string]string{"a1": "ar", "a2": "ar"},
			fallback: 2 * time.Minute,
			assignAt: 150 * time.Second,
			max:      10,
			want:     []string{"a1>ann"},
		},
		{
			name: "fallback only to the fallback languages",
			advisors: []advisorSpec{
				{name: "ann", capacity: 5, audience: pub, langs: []string{"tr", "pl"}},
			},
			waiting:  []waitingSpec{{"a1", "public", 0}},
			langs:    map[string]string{"a1": "ar"},
			fallback: 2 * time.Minute,
			max:      10,
			want:     nil,
		},
		{
			name:       "the visitor declined the fallback",
			advisors:   []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"en", "nl"}}},
			waiting:    []waitingSpec{{"a1", "public", 0}, {"a2", "public", time.Second}},
			langs:      map[string]string{"a1": "ar", "a2": "ar"},
			noFallback: []string{"a1"},
			fallback:   2 * time.Minute,
			max:        10,
			want:       []string{"a2>ann"},
		},
		{
			name:     "fallback 0 never falls back",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  []waitingSpec{{"e1", "public", 0}},
			langs:    map[string]string{"e1": "en"},
			max:      10,
			want:     nil,
		},
		{
			name: "after the fallback the policy chooses, not the language",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub, langs: []string{"ar"}, load: 1, idle: time.Minute},
				{name: "bob", capacity: 2, audience: pub, langs: []string{"en"}},
			},
			waiting:  []waitingSpec{{"a1", "public", 0}},
			langs:    map[string]string{"a1": "ar"},
			fallback: 2 * time.Minute,
			max:      10,
			want:     []string{"a1>bob"},
		},

		// Looking past the head of a queue.
		{
			name:     "head ineligible: a later one is given, the head keeps its place",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  []waitingSpec{{"e1", "public", 0}, {"n1", "public", 10 * time.Second}, {"e2", "public", 20 * time.Second}, {"n2", "public", 30 * time.Second}},
			langs:    map[string]string{"e1": "en", "e2": "en"},
			fallback: 2 * time.Minute,
			assignAt: time.Minute,
			max:      10,
			want:     []string{"n1>ann", "n2>ann"},
		},
		{
			name:     "oldest eligible across queues",
			advisors: []advisorSpec{{name: "ann", capacity: 1, audience: both, langs: []string{"nl"}}},
			waiting:  []waitingSpec{{"e1", "public", 0}, {"f1", "professional", 20 * time.Second}, {"n1", "public", 10 * time.Second}},
			langs:    map[string]string{"e1": "en"},
			max:      10,
			want:     []string{"n1>ann"},
		},
		{
			name:     "49 ineligible ahead: the 50th is seen",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  append(waitingFrom("e", "public", 0, 49), waitingSpec{"n1", "public", time.Minute}),
			langs:    allLang("en", waitingFrom("e", "public", 0, 49)),
			max:      10,
			want:     []string{"n1>ann"},
		},
		{
			name:     "50 ineligible ahead: the 51st is not seen",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  append(waitingFrom("e", "public", 0, 50), waitingSpec{"n1", "public", time.Minute}),
			langs:    allLang("en", waitingFrom("e", "public", 0, 50)),
			max:      10,
			want:     nil,
		},

		// Priorities: the highest first, then the longest waiting.
		{
			name:     "urgent before those waiting longer",
			advisors: []advisorSpec{{name: "ann", capacity: 1, audience: pub}},
			waiting:  []waitingSpec{{"p1", "public", 0}, {"p2", "public", 10 * time.Second}, {"u1", "public", time.Minute}},
			priority: map[string]int{"u1": PriorityUrgent},
			max:      10,
			want:     []string{"u1>ann"},
		},
		{
			name:     "by priority, then waiting time, across queues",
			advisors: []advisorSpec{{name: "ann", capacity: 10, audience: both}},
			waiting: []waitingSpec{
				{"p1", "public", 0}, {"f1", "professional", 5 * time.Second}, {"h1", "public", 10 * time.Second},
				{"u1", "professional", 20 * time.Second}, {"h2", "professional", 8 * time.Second}, {"u2", "public", 15 * time.Second},
				{"p2", "public", 30 * time.Second},
			},
			priority: map[string]int{"h1": PriorityHigh, "h2": PriorityHigh, "u1": PriorityUrgent, "u2": PriorityUrgent},
			max:      10,
			want:     []string{"u2>ann", "u1>ann", "h2>ann", "h1>ann", "p1>ann", "f1>ann", "p2>ann"},
		},
		{
			name:     "an urgent one nobody can take does not hold up the rest",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  []waitingSpec{{"u1", "professional", 0}, {"u2", "public", time.Second}, {"p1", "public", 2 * time.Second}},
			langs:    map[string]string{"u2": "ar"},
			priority: map[string]int{"u1": PriorityUrgent, "u2": PriorityUrgent},
			max:      10,
			want:     []string{"p1>ann"},
		},
		{
			name: "priority picks the conversation, the policy the advisor",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub, load: 1, idle: time.Minute},
				{name: "bob", capacity: 2, audience: both},
			},
			waiting:  []waitingSpec{{"p1", "public", 0}, {"h1", "professional", time.Second}, {"u1", "public", 2 * time.Second}},
			priority: map[string]int{"h1": PriorityHigh, "u1": PriorityUrgent},
			max:      10,
			// u1: bob 0 < ann 1/2. h1: only bob. p1: ann 1/2, bob full.
			want: []string{"u1>bob", "h1>bob", "p1>ann"},
		},
		{
			name:     "the fallback counts from the real waiting time, not the priority",
			advisors: []advisorSpec{{name: "ann", capacity: 5, audience: pub, langs: []string{"nl"}}},
			waiting:  []waitingSpec{{"u1", "public", 0}, {"u2", "public", time.Minute}},
			langs:    map[string]string{"u1": "ar", "u2": "ar"},
			priority: map[string]int{"u1": PriorityUrgent, "u2": PriorityUrgent},
			fallback: 2 * time.Minute,
			assignAt: 2*time.Minute + 30*time.Second,
			max:      10,
			want:     []string{"u1>ann"},
		},

		// Policy round-robin, beside longest-waiting on the same state.
		{
			name:   "round-robin: by last assignment, not load",
			policy: "round-robin",
			advisors: []advisorSpec{
				{name: "ann", capacity: 10, audience: pub, load: 3, idle: time.Minute},    // 0.3
				{name: "bob", capacity: 2, audience: pub, load: 1, idle: 2 * time.Minute}, // 0.5
			},
			waiting: []waitingSpec{{"c1", "public", 0}},
			max:     1,
			want:    []string{"c1>bob"},
		},
		{
			name:   "longest-waiting: by load, not last assignment",
			policy: "longest-waiting",
			advisors: []advisorSpec{
				{name: "ann", capacity: 10, audience: pub, load: 3, idle: time.Minute},
				{name: "bob", capacity: 2, audience: pub, load: 1, idle: 2 * time.Minute},
			},
			waiting: []waitingSpec{{"c1", "public", 0}},
			max:     1,
			want:    []string{"c1>ann"},
		},
		{
			name:   "round-robin: the rotation goes on in assignment order",
			policy: "round-robin",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub, idle: time.Minute},
				{name: "bob", capacity: 2, audience: pub, idle: 2 * time.Minute},
				{name: "cem", capacity: 2, audience: pub, idle: 3 * time.Minute},
			},
			waiting: waitingFrom("c", "public", 0, 7),
			max:     10,
			// All of c1-c3 are given at one instant; the rotation still
			// knows their order.
			want: []string{"c1>cem", "c2>bob", "c3>ann", "c4>cem", "c5>bob", "c6>ann"},
		},
		{
			name:   "longest-waiting: equal load and instant go by name",
			policy: "longest-waiting",
			advisors: []advisorSpec{
				{name: "ann", capacity: 2, audience: pub, idle: time.Minute},
				{name: "bob", capacity: 2, audience: pub, idle: 2 * time.Minute},
				{name: "cem", capacity: 2, audience: pub, idle: 3 * time.Minute},
			},
			waiting: waitingFrom("c", "public", 0, 7),
			max:     10,
			want:    []string{"c1>cem", "c2>bob", "c3>ann", "c4>ann", "c5>bob", "c6>cem"},
		},
		{
			name:   "round-robin: never over capacity",
			policy: "round-robin",
			advisors: []advisorSpec{
				{name: "ann", capacity: 1, audience: pub},
				{name: "bob", capacity: 3, audience: pub, load: 2, idle: time.Minute},
				{name: "cem", capacity: 3, audience: pub},
			},
			waiting: waitingFrom("c", "public", 0, 5),
			max:     10,
			// Never assigned first (ann, then cem, by name), then bob,
			// whose last came before cem's; then only cem has room.
			want: []string{"c1>ann", "c2>cem", "c3>bob", "c4>cem", "c5>cem"},
		},
		{
			name:   "round-robin: skills and languages still decide who may",
			policy: "round-robin",
			advisors: []advisorSpec{
				{name: "ann", capacity: 5, audience: pub, langs: []string{"en"}},
				{name: "bob", capacity: 5, audience: pro, langs: []string{"nl"}},
				{name: "cem", capacity: 5, audience: pub, langs: []string{"nl"}, idle: time.Hour},
			},
			waiting: []waitingSpec{{"n1", "public", 0}, {"f1", "professional", time.Second}, {"n2", "public", 2 * time.Second}},
			max:     10,
			want:    []string{"n1>cem", "f1>bob", "n2>cem"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{FallbackAfter: tt.fallback, FallbackLanguages: []string{"en", "nl"}}
			if tt.policy != "" {
				p, err := ParsePolicy(tt.policy)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Policy = p
			}
			q, clk := mustPolicySetup(t, cfg, tt.advisors, tt.waiting, tt.langs, tt.noFallback, tt.priority)
			clk.Set(t0.Add(cmp.Or(tt.assignAt, time.Hour)))
			as := mustAssign(t, q, tt.max)
			if got := pairs(as); !slices.Equal(got, tt.want) {
				t.Errorf("Assign(%d) = %q, want %q", tt.max, got, tt.want)
			}
			// Those not given keep their order, by priority, then
			// waiting time: nobody passed them in their queue.
			assigned := make(map[string]bool)
			for _, a := range as {
				assigned[a.Conversation] = true
			}
			ahead := make(map[string]int)
			left := slices.Clone(tt.waiting)
			slices.SortStableFunc(left, func(a, b waitingSpec) int {
				return cmp.Or(cmp.Compare(tt.priority[b.id], tt.priority[a.id]), cmp.Compare(a.at, b.at), cmp.Compare(a.id, b.id))
			})
			for _, w := range left {
				if assigned[w.id] {
					continue
				}
				ahead[w.audience]++
				if st := mustState(t, q, w.id); st.Status != StatusWaiting || st.Position != ahead[w.audience] {
					t.Errorf("after Assign(%d): State(%s) = %s at %d, want waiting at %d", tt.max, w.id, st.Status, st.Position, ahead[w.audience])
				}
			}
			enqueued := make(map[string]time.Time)
			for _, w := range tt.waiting {
				enqueued[w.id] = t0.Add(w.at)
			}
			for _, a := range as {
				if !a.Enqueued.Equal(enqueued[a.Conversation]) || a.Alias != "alias of "+a.Advisor || a.Priority != tt.priority[a.Conversation] {
					t.Errorf("Assign(%d) gave %+v, want enqueued at %v, alias %q, priority %d", tt.max, a, enqueued[a.Conversation], "alias of "+a.Advisor, tt.priority[a.Conversation])
				}
			}
			// Whatever was given, nobody holds more than their capacity.
			for _, a := range tt.advisors {
				s, err := q.AdvisorStatus(context.Background(), a.name)
				if err != nil || len(s.Conversations) > a.capacity || s.Capacity != a.capacity {
					t.Errorf("AdvisorStatus(%s) = %+v, %v, want at most %d conversations", a.name, s, err, a.capacity)
				}
			}
			if len(as) < tt.max {
				// The round stopped because nothing more could be given.
				if again := mustAssign(t, q, tt.max); len(again) != 0 {
					t.Errorf("second Assign(%d) = %q, want none", tt.max, pairs(again))
				}
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	for _, name := range PolicyNames() {
		if p, err := ParsePolicy(name); err != nil || p.Name() != name {
			t.Errorf("ParsePolicy(%q) = %v, %v, want the policy", name, p, err)
		}
	}
	if !slices.Equal(PolicyNames(), []string{"longest-waiting", "round-robin"}) {
		t.Errorf("PolicyNames() = %q, want longest-waiting, round-robin", PolicyNames())
	}
	for _, name := range []string{"", "Round-Robin", "random"} {
		if p, err := ParsePolicy(name); err == nil {
			t.Errorf("ParsePolicy(%q) = %v, nil, want an error", name, p)
		}
	}
}

func TestNewFallbackConfig(t *testing.T) {
	r := redistest.New(t)
	tests := []struct {
		after time.Duration
		langs []string
		ok    bool
	}{
		{0, nil, true},
		{2 * time.Minute, []string{"en", "nl"}, true},
		{-time.Second, []string{"en"}, false},
		{time.Minute, []string{"en,nl"}, false},
		{time.Minute, []string{""}, false},
	}
	for _, tt := range tests {
		_, err := New(r.Client, Config{Prefix: r.Prefix, Queues: []string{"public"}, FallbackAfter: tt.after, FallbackLanguages: tt.langs})
		if (err == nil) != tt.ok {
			t.Errorf("New(FallbackAfter: %s, FallbackLanguages: %q) = %v, want ok %v", tt.after, tt.langs, err, tt.ok)
		}
	}
}
