package routing

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// overviewDepth is how many waiting conversations Overview lists per
// queue, from the front.
const overviewDepth = 100

// Overview is the supervisor's view of routing, read in one atomic step.
type Overview struct {
	Queues   []QueueOverview
	Advisors []AdvisorOverview
	// Waiting are the first conversations of every queue, queue by queue
	// in configuration order, each in queue order: for the queue view and
	// Pick. At most 100 per queue.
	Waiting []WaitingConversation
}

// QueueOverview is one queue.
type QueueOverview struct {
	Name    string
	Waiting int
	// Oldest is the earliest real enqueue time among those waiting; zero
	// when empty.
	Oldest time.Time
	// ByPriority counts those waiting by priority (index PriorityNormal
	// to PriorityUrgent).
	ByPriority [PriorityUrgent + 1]int
}

// AdvisorOverview is one advisor with routing data: on duty, or off duty
// but not yet forgotten (Config.IdleTTL).
type AdvisorOverview struct {
	Name     string
	Alias    string
	Duty     bool
	Capacity int
	// Conversations are those they hold, Offers those offered to them and
	// not accepted yet; together never more than Capacity.
	Conversations []string
	Offers        []string
	Audiences     []string
	Languages     []string
	// MissedOffers is how many offers in a row they let expire.
	MissedOffers int
	// LastSeen is their last heartbeat while on duty; zero off duty.
	LastSeen time.Time
	// Connected: they have a live console on some instance (see
	// Queue.Present). An advisor on duty without one gets no new
	// conversations and keeps theirs through the advisor grace.
	Connected bool
}

// Load is how many conversations the advisor holds.
func (a AdvisorOverview) Load() int { return len(a.Conversations) }

// WaitingConversation is one conversation in the queue view.
type WaitingConversation struct {
	ID       string
	Queue    string
	Lang     string
	Priority int
	Enqueued time.Time
	// Position is its place in its queue, 1 next.
	Position int
}

// Overview returns every queue, every advisor with routing data (sorted by
// name) and the front of every queue.
func (q *Queue) Overview(ctx context.Context) (Overview, error) {
	args := q.args(overviewDepth, PriorityUrgent)
	for _, n := range q.cfg.Queues {
		args = append(args, n)
	}
	res, err := overviewScript.Run(ctx, q.rdb, []string{q.p + "onduty"}, args...).Slice()
	if err != nil {
		return Overview{}, fmt.Errorf("overview: %w", err)
	}
	if len(res) != 3 {
		return Overview{}, fmt.Errorf("overview: unexpected reply %v", res)
	}
	var out Overview
	rows := func(v any) [][]any {
		l, _ := v.([]any)
		out := make([][]any, 0, len(l))
		for _, r := range l {
			if row, ok := r.([]any); ok {
				out = append(out, row)
			}
		}
		return out
	}
	for _, r := range rows(res[0]) {
		if len(r) != 4+PriorityUrgent {
			return Overview{}, fmt.Errorf("overview: unexpected queue %v", r)
		}
		qo := QueueOverview{Name: str(r[0]), Waiting: num(r[1]), Oldest: unixMilli(str(r[2]))}
		for p := range qo.ByPriority {
			qo.ByPriority[p] = num(r[3+p])
		}
		out.Queues = append(out.Queues, qo)
	}
	for _, r := range rows(res[1]) {
		if len(r) != 11 {
			return Overview{}, fmt.Errorf("overview: unexpected advisor %v", r)
		}
		out.Advisors = append(out.Advisors, AdvisorOverview{
			Name: str(r[0]), Duty: str(r[1]) == "1", Alias: str(r[2]), Capacity: num(r[3]),
			Audiences: list(str(r[4])), Languages: list(str(r[5])), MissedOffers: num(r[6]),
			LastSeen: unixMilli(str(r[7])), Conversations: strs(r[8]), Offers: strs(r[9]), Connected: num(r[10]) == 1,
		})
	}
	pos := make(map[string]int)
	for _, r := range rows(res[2]) {
		if len(r) != 5 {
			return Overview{}, fmt.Errorf("overview: unexpected conversation %v", r)
		}
		w := WaitingConversation{ID: str(r[0]), Queue: str(r[1]), Lang: str(r[2]), Priority: num(r[3]), Enqueued: unixMilli(str(r[4]))}
		pos[w.Queue]++
		w.Position = pos[w.Queue]
		out.Waiting = append(out.Waiting, w)
	}
	return out, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// num reads a script's number, sent as an integer or a string.
func num(v any) int {
	switch x := v.(type) {
	case int64:
		return int(x)
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return int(f)
	}
	return 0
}

// list splits a comma-separated list; nil for "".
func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
