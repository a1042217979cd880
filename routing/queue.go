// Package routing is the waiting queue: advisor duty and capacity,
// assignment of waiting conversations to advisors, heartbeats and the
// deadlines that follow from them, and queue positions.
//
// All state lives in Redis under keys that share the hash tag {rt}; every
// change is one Lua script, so any number of instances can route at once
// without assigning a conversation twice or an advisor over capacity.
package routing

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/lib.lua
	libLua string
	//go:embed lua/enqueue.lua
	enqueueLua string
	//go:embed lua/assign.lua
	assignLua string // with a policy prepended: see policy.go
	//go:embed lua/duty.lua
	dutyLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/sweep.lua
	sweepLua string
	//go:embed lua/touch.lua
	touchLua string
)

func script(body string) *redis.Script { return redis.NewScript(libLua + "\n" + body) }

var (
	enqueueScript = script(enqueueLua)
	dutyScript    = script(dutyLua)
	releaseScript = script(releaseLua)
	sweepScript   = script(sweepLua)
	touchScript   = script(touchLua)
)

// Conversation states.
const (
	StatusWaiting = "waiting"
	StatusActive  = "active"
	StatusEnded   = "ended"
)

// ErrUnknownQueue is returned for a queue not in the configuration.
var ErrUnknownQueue = errors.New("unknown queue")

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Config configures a Queue.
type Config struct {
	// Prefix starts every key, e.g. "ac:".
	Prefix string
	// Queues are the queue names, one per audience.
	Queues []string
	// Policy chooses among the advisors eligible for a conversation;
	// DefaultPolicy() when nil.
	Policy Policy
	// FallbackAfter is how long a conversation waits for an advisor who
	// speaks its language; after it, an advisor who speaks one of
	// FallbackLanguages may take it too, unless the visitor declined
	// (Need.NoFallback). 0 never falls back.
	FallbackAfter time.Duration
	// FallbackLanguages are the languages of the fallback, e.g. en, nl.
	FallbackLanguages []string
	// AdvisorGrace is how long an on-duty advisor may go unseen (no socket)
	// before going off duty, their conversations back in the queue.
	AdvisorGrace time.Duration
	// VisitorGrace is how long a visitor may go unseen before their
	// conversation ends as abandoned.
	VisitorGrace time.Duration
	// Retention is how long an ended conversation's routing data lives.
	Retention time.Duration
	// IdleTTL bounds the life of a conversation's or an advisor's routing
	// data that is not refreshed; heartbeats refresh it. The shared sets
	// (queues, on-duty, heartbeats) live as long as they have members.
	IdleTTL time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Queue is the routing state in Redis.
type Queue struct {
	rdb redis.UniversalClient
	cfg Config
	p   string
}

// New returns a Queue on rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Queue, error) {
	if len(cfg.Queues) == 0 {
		return nil, errors.New("no queues configured")
	}
	for _, q := range cfg.Queues {
		if !nameRE.MatchString(q) {
			return nil, fmt.Errorf("queue name %q: want lower-case letters, digits, - or _", q)
		}
	}
	if cfg.FallbackAfter < 0 {
		return nil, fmt.Errorf("fallback after %s: negative", cfg.FallbackAfter)
	}
	if err := checkLanguages(cfg.FallbackLanguages); err != nil {
		return nil, fmt.Errorf("fallback languages: %w", err)
	}
	if cfg.Policy == nil {
		cfg.Policy = DefaultPolicy()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AdvisorGrace <= 0 {
		cfg.AdvisorGrace = time.Minute
	}
	if cfg.VisitorGrace <= 0 {
		cfg.VisitorGrace = 10 * time.Minute
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 10 * time.Minute
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = 12 * time.Hour
	}
	return &Queue{rdb: rdb, cfg: cfg, p: cfg.Prefix + "{rt}:"}, nil
}

// Config returns the queue's configuration.
func (q *Queue) Config() Config { return q.cfg }

// ChangedChannel is the pub/sub channel on which every routing change is
// announced; instances listen to it to assign and to update positions.
func (q *Queue) ChangedChannel() string { return q.p + "changed" }

// AdvisorChannel is the pub/sub channel of one advisor's assignment events:
// {"type":"assigned"|"unassigned","conversation":id,"reason":...}.
func (q *Queue) AdvisorChannel(name string) string { return q.p + "a:" + name }

func (q *Queue) convKey(id string) string    { return q.p + "conv:" + id }
func (q *Queue) queueKey(name string) string { return q.p + "q:" + name }
func (q *Queue) advKey(name string) string   { return q.p + "adv:" + name }
func (q *Queue) convsKey(name string) string { return q.p + "adv:" + name + ":convs" }

func (q *Queue) args(extra ...any) []any {
	return append([]any{q.p, q.cfg.Now().UnixMilli()}, extra...)
}

func seconds(d time.Duration) int64 { return int64((d + time.Second - 1) / time.Second) }

// checkLanguages rejects language codes that the scripts' comma-separated
// lists could not hold.
func checkLanguages(langs []string) error {
	for _, l := range langs {
		if !nameRE.MatchString(l) {
			return fmt.Errorf("language %q: want lower-case letters, digits, - or _", l)
		}
	}
	return nil
}

// HasQueue reports whether name is a configured queue.
func (q *Queue) HasQueue(name string) bool {
	for _, n := range q.cfg.Queues {
		if n == name {
			return true
		}
	}
	return false
}

// Need is what a waiting conversation needs of its advisor.
type Need struct {
	// Audience is the skill it needs, and its queue.
	Audience string
	// Lang is the language it needs.
	Lang string
	// NoFallback keeps it for advisors who speak Lang, however long it
	// waits (Config.FallbackAfter).
	NoFallback bool
}

// Enqueue puts a new conversation at the back of the queue for its audience
// and returns its position (1 is next).
func (q *Queue) Enqueue(ctx context.Context, id string, n Need) (int, error) {
	if !q.HasQueue(n.Audience) {
		return 0, fmt.Errorf("enqueue %s: %w %q", id, ErrUnknownQueue, n.Audience)
	}
	if err := checkLanguages([]string{n.Lang}); err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", id, err)
	}
	fallback := "1"
	if n.NoFallback {
		fallback = "0"
	}
	pos, err := enqueueScript.Run(ctx, q.rdb, []string{q.convKey(id)},
		q.args(id, n.Audience, n.Audience, n.Lang, fallback, seconds(q.cfg.IdleTTL))...).Int()
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", id, err)
	}
	return pos, nil
}

// Assignment is one conversation given to one advisor.
type Assignment struct {
	Conversation string
	Advisor      string
	Alias        string
	Enqueued     time.Time
}

// scanDepth is how far into each queue Assign looks for a conversation
// that a free advisor may take. It bounds the work of one assignment (the
// script blocks Redis while it runs); a conversation further back waits
// until those ahead of it are taken or, after the fallback time, can be.
const scanDepth = 50

// Assign gives up to max waiting conversations to advisors; see
// lua/assign.lua for which conversation goes first and who may take it,
// and the Policy for which of those does.
func (q *Queue) Assign(ctx context.Context, max int) ([]Assignment, error) {
	args := q.args(max, scanDepth, q.cfg.FallbackAfter.Milliseconds(), strings.Join(q.cfg.FallbackLanguages, ","))
	for _, n := range q.cfg.Queues {
		args = append(args, n)
	}
	res, err := q.cfg.Policy.assignScript().Run(ctx, q.rdb, []string{q.p + "onduty"}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	out := make([]Assignment, 0, len(res)/4)
	for i := 0; i+3 < len(res); i += 4 {
		enq, _ := strconv.ParseInt(res[i+3], 10, 64)
		out = append(out, Assignment{Conversation: res[i], Advisor: res[i+1], Alias: res[i+2], Enqueued: time.UnixMilli(enq)})
	}
	return out, nil
}

// Advisor is what routing needs of an advisor going on duty.
type Advisor struct {
	Name      string
	Alias     string
	Capacity  int
	Audiences []string
	// Languages are those the advisor takes conversations in, at least
	// one.
	Languages []string
}

// OnDuty puts an advisor on duty with the given skills and capacity.
func (q *Queue) OnDuty(ctx context.Context, a Advisor) error {
	if a.Capacity < 1 {
		return fmt.Errorf("on duty %s: capacity %d below 1", a.Name, a.Capacity)
	}
	if len(a.Languages) == 0 {
		return fmt.Errorf("on duty %s: no languages", a.Name)
	}
	if err := checkLanguages(a.Languages); err != nil {
		return fmt.Errorf("on duty %s: %w", a.Name, err)
	}
	err := dutyScript.Run(ctx, q.rdb, []string{q.advKey(a.Name)},
		q.args(a.Name, "1", a.Capacity, strings.Join(a.Audiences, ","), strings.Join(a.Languages, ","), a.Alias, seconds(q.cfg.IdleTTL))...).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("on duty %s: %w", a.Name, err)
	}
	return nil
}

// OffDuty takes an advisor off duty and puts their conversations back at
// the front of the queue; it returns those conversations.
func (q *Queue) OffDuty(ctx context.Context, name string) ([]string, error) {
	ids, err := dutyScript.Run(ctx, q.rdb, []string{q.advKey(name)},
		q.args(name, "0", 0, "", "", "", seconds(q.cfg.IdleTTL))...).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("off duty %s: %w", name, err)
	}
	return ids, nil
}

// SetAlias changes the display name visitors see for an advisor.
func (q *Queue) SetAlias(ctx context.Context, name, alias string) error {
	if err := q.rdb.HSet(ctx, q.advKey(name), "alias", alias).Err(); err != nil {
		return fmt.Errorf("set alias of %s: %w", name, err)
	}
	return nil
}

// Release ends a conversation for routing. It returns the state it had
// (waiting or active) and its advisor; ok is false if it had ended already
// or was unknown.
func (q *Queue) Release(ctx context.Context, id string) (was, advisor string, ok bool, err error) {
	return q.release(ctx, id, "", "")
}

// ReleaseBy ends a conversation for routing only if advisor holds it: the
// check and the end are one atomic step, so an advisor cannot end a
// conversation that has just gone to someone else. The reason is kept
// with it (ConversationState.Reason).
func (q *Queue) ReleaseBy(ctx context.Context, id, advisor, reason string) (ok bool, err error) {
	_, _, ok, err = q.release(ctx, id, advisor, reason)
	return ok, err
}

func (q *Queue) release(ctx context.Context, id, expected, reason string) (was, advisor string, ok bool, err error) {
	res, err := releaseScript.Run(ctx, q.rdb, []string{q.convKey(id)},
		q.args(id, seconds(q.cfg.Retention), expected, reason)...).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", "", false, fmt.Errorf("release %s: %w", id, err)
	}
	if len(res) < 2 {
		return "", "", false, nil
	}
	return res[0], res[1], true, nil
}

// Requeue is a conversation that went back to the queue because its
// advisor was lost.
type Requeue struct {
	Conversation string
	Advisor      string
}

// SweepResult is what one sweep claimed.
type SweepResult struct {
	Requeued  []Requeue
	Abandoned []string
}

// outageGap is the longest time between two sweeps (each instance sweeps
// every second) that is not an outage. After a longer gap the deadlines
// move on by the gap before anything is claimed, so the first sweep after
// a Redis failover does not take every advisor off duty.
const outageGap = 5 * time.Second

// Sweep acts on expired heartbeats; see lua/sweep.lua. Each expiry is
// claimed by exactly one caller, whichever instance sweeps first.
func (q *Queue) Sweep(ctx context.Context) (SweepResult, error) {
	res, err := sweepScript.Run(ctx, q.rdb, []string{q.p + "seen"},
		q.args(q.cfg.AdvisorGrace.Milliseconds(), q.cfg.VisitorGrace.Milliseconds(), seconds(q.cfg.Retention), outageGap.Milliseconds())...).Slice()
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	var out SweepResult
	if len(res) != 2 {
		return out, fmt.Errorf("sweep: unexpected reply %v", res)
	}
	req, _ := res[0].([]any)
	for i := 0; i+1 < len(req); i += 2 {
		c, _ := req[i].(string)
		a, _ := req[i+1].(string)
		out.Requeued = append(out.Requeued, Requeue{Conversation: c, Advisor: a})
	}
	ab, _ := res[1].([]any)
	for _, v := range ab {
		s, _ := v.(string)
		out.Abandoned = append(out.Abandoned, s)
	}
	return out, nil
}

// TouchAdvisors records that advisors are connected, postponing their
// lost-connection deadline and keeping their routing data alive. Advisors
// off duty are not recorded.
func (q *Queue) TouchAdvisors(ctx context.Context, names ...string) error {
	return q.touch(ctx, "seen", "advisor", names)
}

// TouchVisitors records that visitors of these conversations are
// connected, postponing the abandoned deadline of conversations that are
// still going and keeping their routing data alive however long they last.
func (q *Queue) TouchVisitors(ctx context.Context, ids ...string) error {
	return q.touch(ctx, "vseen", "visitor", ids)
}

func (q *Queue) touch(ctx context.Context, set, kind string, members []string) error {
	if len(members) == 0 {
		return nil
	}
	args := q.args(kind, seconds(q.cfg.IdleTTL))
	for _, m := range members {
		args = append(args, m)
	}
	if err := touchScript.Run(ctx, q.rdb, []string{q.p + set}, args...).Err(); err != nil {
		return fmt.Errorf("touch %s: %w", set, err)
	}
	return nil
}

// ConversationState is where a conversation stands in routing.
type ConversationState struct {
	ID       string
	Status   string // waiting, active, ended, or "" if unknown
	Queue    string
	Audience string
	Lang     string
	Advisor  string
	Position int    // 1 is next; waiting only
	Reason   string // ended: why, when the one who ended it said
	Enqueued time.Time
	Assigned time.Time
}

// States returns the routing state of several conversations in one round
// trip, with positions for the waiting ones.
func (q *Queue) States(ctx context.Context, ids []string) ([]ConversationState, error) {
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, q.convKey(id), "st", "q", "aud", "lang", "adv", "enq", "asg", "why")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("conversation states: %w", err)
	}
	out := make([]ConversationState, len(ids))
	pipe = q.rdb.Pipeline()
	ranks := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		v := cmds[i].Val()
		str := func(j int) string { s, _ := v[j].(string); return s }
		ms := func(j int) time.Time {
			n, err := strconv.ParseInt(str(j), 10, 64)
			if err != nil || n == 0 {
				return time.Time{}
			}
			return time.UnixMilli(n)
		}
		out[i] = ConversationState{ID: id, Status: str(0), Queue: str(1), Audience: str(2), Lang: str(3), Advisor: str(4), Enqueued: ms(5), Assigned: ms(6), Reason: str(7)}
		if out[i].Status == StatusWaiting {
			ranks[i] = pipe.ZRank(ctx, q.queueKey(out[i].Queue), id)
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("queue positions: %w", err)
		}
		for i, r := range ranks {
			if r != nil && r.Err() == nil {
				out[i].Position = int(r.Val()) + 1
			}
		}
	}
	return out, nil
}

// State returns the routing state of one conversation.
func (q *Queue) State(ctx context.Context, id string) (ConversationState, error) {
	s, err := q.States(ctx, []string{id})
	if err != nil {
		return ConversationState{}, err
	}
	return s[0], nil
}

// QueueStat describes one queue.
type QueueStat struct {
	Name    string
	Waiting int
	Oldest  time.Time // zero when empty
}

// Snapshot returns every queue's length and oldest waiting time.
func (q *Queue) Snapshot(ctx context.Context) ([]QueueStat, error) {
	pipe := q.rdb.Pipeline()
	cards := make([]*redis.IntCmd, len(q.cfg.Queues))
	heads := make([]*redis.ZSliceCmd, len(q.cfg.Queues))
	for i, n := range q.cfg.Queues {
		cards[i] = pipe.ZCard(ctx, q.queueKey(n))
		heads[i] = pipe.ZRangeWithScores(ctx, q.queueKey(n), 0, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("queue snapshot: %w", err)
	}
	out := make([]QueueStat, len(q.cfg.Queues))
	for i, n := range q.cfg.Queues {
		out[i] = QueueStat{Name: n, Waiting: int(cards[i].Val())}
		if h := heads[i].Val(); len(h) > 0 {
			out[i].Oldest = time.UnixMilli(int64(h[0].Score))
		}
	}
	return out, nil
}

// AdvisorStatus is an advisor's routing state.
type AdvisorStatus struct {
	Duty          bool
	Alias         string
	Capacity      int
	Conversations []string
}

// AdvisorStatus returns an advisor's duty, alias, capacity and open
// conversations.
func (q *Queue) AdvisorStatus(ctx context.Context, name string) (AdvisorStatus, error) {
	pipe := q.rdb.Pipeline()
	h := pipe.HMGet(ctx, q.advKey(name), "duty", "alias", "cap")
	m := pipe.SMembers(ctx, q.convsKey(name))
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return AdvisorStatus{}, fmt.Errorf("advisor status %s: %w", name, err)
	}
	v := h.Val()
	str := func(j int) string { s, _ := v[j].(string); return s }
	capacity, _ := strconv.Atoi(str(2))
	return AdvisorStatus{Duty: str(0) == "1", Alias: str(1), Capacity: capacity, Conversations: m.Val()}, nil
}

// Counts returns the number of advisors on duty and of conversations they
// hold, for metrics.
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
