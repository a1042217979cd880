package routing

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"
)

// advisorSpec is an advisor as a policy case sees it when the round starts.
type advisorSpec struct {
	name     string
	capacity int
	audience []string
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
// is 0); then the waiting conversations are enqueued. The clock is then at
// t0 plus an hour.
func mustPolicySetup(tb testing.TB, advisors []advisorSpec, waiting []waitingSpec) *Queue {
	tb.Helper()
	queues := []string{"public", "professional"}
	for _, a := range advisors {
		queues = append(queues, "pre-"+a.name)
	}
	q, _, clk := mustQueue(tb, Config{Queues: queues})
	clk.Set(t0.Add(-24 * time.Hour))
	for _, a := range advisors {
		aud := append(slices.Clone(a.audience), "pre-"+a.name)
		mustOnDuty(tb, q, Advisor{Name: a.name, Alias: "alias of " + a.name, Capacity: a.capacity, Audiences: aud})
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
		for i := range n {
			mustEnqueue(tb, q, fmt.Sprintf("pre-%s-%d", a.name, i), "pre-"+a.name, i+1)
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
		pos, err := q.Enqueue(context.Background(), w.id, w.audience, "de")
		if err != nil || pos < 1 {
			tb.Fatalf("Enqueue(%s, %s) = %d, %v", w.id, w.audience, pos, err)
		}
	}
	clk.Set(t0.Add(time.Hour))
	return q
}

func TestAssignPolicy(t *testing.T) {
	both := []string{"public", "professional"}
	pub := []string{"public"}
	pro := []string{"professional"}
	tests := []struct {
		name     string
		advisors []advisorSpec
		waiting  []waitingSpec
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustPolicySetup(t, tt.advisors, tt.waiting)
			as := mustAssign(t, q, tt.max)
			if got := pairs(as); !slices.Equal(got, tt.want) {
				t.Errorf("Assign(%d) = %q, want %q", tt.max, got, tt.want)
			}
			enqueued := make(map[string]time.Time)
			for _, w := range tt.waiting {
				enqueued[w.id] = t0.Add(w.at)
			}
			for _, a := range as {
				if !a.Enqueued.Equal(enqueued[a.Conversation]) || a.Alias != "alias of "+a.Advisor {
					t.Errorf("Assign(%d) gave %+v, want enqueued at %v, alias %q", tt.max, a, enqueued[a.Conversation], "alias of "+a.Advisor)
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
