package routing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ConversationState is where a conversation stands in routing.
type ConversationState struct {
	ID       string
	Status   string // waiting, offered, active, ended, or "" if unknown
	Queue    string
	Audience string
	Lang     string
	// Advisor holds it (active), or has it offered (offered); an ended
	// conversation keeps its last advisor.
	Advisor  string
	Priority int
	Position int    // 1 is next; waiting only
	Reason   string // ended: why, when the one who ended it said
	// Enqueued is when it first joined a queue: its real waiting time.
	Enqueued time.Time
	// Assigned is when its current (or last) advisor got it.
	Assigned time.Time
	// OfferDeadline is when the offer to Advisor expires, as it was made;
	// offered only.
	OfferDeadline time.Time
	// EstimatedWait is a rough estimate of the wait left, waiting only
	// (see ExpectedWait): UnknownWait while no advisor on duty serves its
	// queue, 0 when not waiting.
	EstimatedWait time.Duration
	// AdvisorAway is set for an active conversation whose advisor has no
	// live console (see Present): they keep it through the advisor grace,
	// and may come back, or it goes back to the queue.
	AdvisorAway bool
}

// UnknownWait is the EstimatedWait of a conversation whose queue no advisor
// on duty serves: nobody can say.
const UnknownWait time.Duration = -1

// States returns the routing state of several conversations in one round
// trip, with positions and wait estimates for the waiting ones and
// whether the advisor of an active one is away (one more round trip when
// any waits or is active, and one for the estimates when any waits).
func (q *Queue) States(ctx context.Context, ids []string) ([]ConversationState, error) {
	out, _, err := q.readStates(ctx, ids, nil)
	return out, err
}

// readStates is States, with whether each conversation accepts a fallback
// language; with basis, the estimates are made of it instead of a read of
// their own.
func (q *Queue) readStates(ctx context.Context, ids []string, basis *estimateBasis) ([]ConversationState, []bool, error) {
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, q.convKey(id), "st", "q", "aud", "lang", "adv", "enq", "asg", "why", "pri", "odl", "fb")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("conversation states: %w", err)
	}
	out := make([]ConversationState, len(ids))
	pipe = q.rdb.Pipeline()
	ranks := make([]*redis.IntCmd, len(ids))
	lives := make([][2]*redis.IntCmd, len(ids))
	waiting := false
	now := fmt.Sprintf("(%d", q.cfg.Now().UnixMilli())
	fallback := make([]bool, len(ids))
	for i, id := range ids {
		v := cmds[i].Val()
		str := func(j int) string { s, _ := v[j].(string); return s }
		fallback[i] = str(10) != "0"
		out[i] = ConversationState{ID: id, Status: str(0), Queue: str(1), Audience: str(2), Lang: str(3), Advisor: str(4),
			Enqueued: unixMilli(str(5)), Assigned: unixMilli(str(6)), Reason: str(7), Priority: atoi(str(8))}
		switch out[i].Status {
		case StatusWaiting:
			ranks[i] = pipe.ZRank(ctx, q.queueKey(out[i].Queue), id)
			waiting = true
		case StatusActive:
			if out[i].Advisor != "" {
				key := q.liveKey(out[i].Advisor)
				lives[i] = [2]*redis.IntCmd{pipe.Exists(ctx, key), pipe.ZCount(ctx, key, now, "+inf")}
			}
		case StatusOffered:
			out[i].OfferDeadline = unixMilli(str(9))
		}
	}
	if pipe.Len() == 0 {
		return out, fallback, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("queue positions: %w", err)
	}
	for i, l := range lives {
		if l[0] != nil {
			out[i].AdvisorAway = l[0].Val() == 1 && l[1].Val() == 0
		}
	}
	if !waiting {
		return out, fallback, nil
	}
	if basis == nil {
		b, err := q.estimateBasis(ctx)
		if err != nil {
			return nil, nil, err
		}
		basis = &b
	}
	for i, r := range ranks {
		if r != nil && r.Err() == nil {
			out[i].Position = int(r.Val()) + 1
			w := want{queue: out[i].Queue, lang: out[i].Lang, fallback: fallback[i], enqueued: out[i].Enqueued}
			if d, ok := basis.wait(w, out[i].Position); ok {
				out[i].EstimatedWait = d
			} else {
				out[i].EstimatedWait = UnknownWait
			}
		}
	}
	return out, fallback, nil
}

// State returns the routing state of one conversation. The calls that
// arrive while one is under way are read together in one States call once
// it is back (coalesce.go): when many sockets ask at once (visitors whose
// conversations were assigned in a surge), that is a few round trips, not
// a few per socket.
func (q *Queue) State(ctx context.Context, id string) (ConversationState, error) {
	return q.states.get(ctx, q, id)
}

// Holder returns a conversation's routing status and its advisor (see
// ConversationState) in one HMGET of its own: what an advisor's every
// message and typing signal checks. It is not gathered with other reads
// (State), so it never waits behind a batch of waiting visitors' states.
func (q *Queue) Holder(ctx context.Context, id string) (status, advisor string, err error) {
	v, err := q.rdb.HMGet(ctx, q.convKey(id), "st", "adv").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", "", fmt.Errorf("conversation holder: %w", err)
	}
	if len(v) == 2 {
		status, _ = v[0].(string)
		advisor, _ = v[1].(string)
	}
	return status, advisor, nil
}

// QueueStat describes one queue.
type QueueStat struct {
	Name    string
	Waiting int
	// Oldest is the earliest real enqueue time among those waiting, of
	// whatever priority; zero when empty.
	Oldest time.Time
}

// priorityRange is the range of queue scores of priority p, as arguments
// of ZRANGEBYSCORE: [-p*2^42, (1-p)*2^42).
func priorityRange(p int) (lo int64, min, max string) {
	lo = -int64(p) * priorityShift
	return lo, strconv.FormatInt(lo, 10), "(" + strconv.FormatInt(lo+priorityShift, 10)
}

// Snapshot returns every queue's length and oldest waiting time.
func (q *Queue) Snapshot(ctx context.Context) ([]QueueStat, error) {
	pipe := q.rdb.Pipeline()
	cards := make([]*redis.IntCmd, len(q.cfg.Queues))
	heads := make([][]*redis.ZSliceCmd, len(q.cfg.Queues))
	for i, n := range q.cfg.Queues {
		cards[i] = pipe.ZCard(ctx, q.queueKey(n))
		for p := PriorityNormal; p <= PriorityUrgent; p++ {
			_, min, max := priorityRange(p)
			heads[i] = append(heads[i], pipe.ZRangeByScoreWithScores(ctx, q.queueKey(n), &redis.ZRangeBy{Min: min, Max: max, Count: 1}))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("queue snapshot: %w", err)
	}
	out := make([]QueueStat, len(q.cfg.Queues))
	for i, n := range q.cfg.Queues {
		out[i] = QueueStat{Name: n, Waiting: int(cards[i].Val())}
		for p, h := range heads[i] {
			if z := h.Val(); len(z) > 0 {
				lo, _, _ := priorityRange(p)
				enq := time.UnixMilli(int64(z[0].Score) - lo)
				if out[i].Oldest.IsZero() || enq.Before(out[i].Oldest) {
					out[i].Oldest = enq
				}
			}
		}
	}
	return out, nil
}

// AdvisorStatus is an advisor's routing state.
type AdvisorStatus struct {
	Duty     bool
	Alias    string
	Capacity int
	// Conversations are those they hold (active).
	Conversations []string
	// Offered are those offered to them and not yet accepted; they count
	// in the load with Conversations.
	Offered []string
}

// AdvisorStatus returns an advisor's duty, alias, capacity, open
// conversations and offers.
func (q *Queue) AdvisorStatus(ctx context.Context, name string) (AdvisorStatus, error) {
	pipe := q.rdb.Pipeline()
	h := pipe.HMGet(ctx, q.advKey(name), "duty", "alias", "cap")
	m := pipe.SMembers(ctx, q.convsKey(name))
	o := pipe.SMembers(ctx, q.offersKey(name))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return AdvisorStatus{}, fmt.Errorf("advisor status %s: %w", name, err)
	}
	v := h.Val()
	str := func(j int) string { s, _ := v[j].(string); return s }
	return AdvisorStatus{Duty: str(0) == "1", Alias: str(1), Capacity: atoi(str(2)), Conversations: m.Val(), Offered: o.Val()}, nil
}

// Counts returns the number of advisors on duty and of conversations they
// hold (active, not offered), for metrics.
func (q *Queue) Counts(ctx context.Context) (onDuty, active int, err error) {
	names, err := q.rdb.SMembers(ctx, q.p+"onduty").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("count advisors: %w", err)
	}
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(names))
	for i, n := range names {
		cmds[i] = pipe.SCard(ctx, q.convsKey(n))
	}
	if len(names) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return 0, 0, fmt.Errorf("count conversations: %w", err)
		}
	}
	for _, c := range cmds {
		active += int(c.Val())
	}
	return len(names), active, nil
}
