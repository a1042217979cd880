// Package routing is the waiting queue: advisor duty and capacity,
// priorities, assignment of waiting conversations to advisors (directly or
// as offers the advisor accepts), transfers and manual picks, heartbeats
// and the deadlines and timers that follow from them, queue positions and
// wait estimates, and the supervisor's overview.
//
// All state lives in Redis under keys that share the hash tag {rt}; every
// change is one Lua script, so any number of instances can route at once
// without assigning a conversation twice or an advisor over capacity.
// README.md in this directory describes the policy, offers, timers and
// estimates.
package routing

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
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
	//go:embed lua/accept.lua
	acceptLua string
	//go:embed lua/move.lua
	moveLua string
	//go:embed lua/priority.lua
	priorityLua string
	//go:embed lua/estimate.lua
	estimateLua string
	//go:embed lua/overview.lua
	overviewLua string
	//go:embed lua/alias.lua
	aliasLua string
)

func script(body string) *redis.Script { return redis.NewScript(libLua + "\n" + body) }

var (
	enqueueScript  = script(enqueueLua)
	dutyScript     = script(dutyLua)
	releaseScript  = script(releaseLua)
	sweepScript    = script(sweepLua)
	touchScript    = script(touchLua)
	acceptScript   = script(acceptLua)
	moveScript     = script(moveLua)
	priorityScript = script(priorityLua)
	estimateScript = script(estimateLua)
	overviewScript = script(overviewLua)
	aliasScript    = script(aliasLua)
)

// Conversation states.
const (
	StatusWaiting = "waiting"
	// StatusOffered is a conversation offered to one advisor who has not
	// accepted it yet (Config.OfferTimeout); for the visitor it still
	// waits.
	StatusOffered = "offered"
	StatusActive  = "active"
	StatusEnded   = "ended"
)

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
	// PresenceFor is how long an instance's record that it holds an
	// advisor's console (Present) holds without being renewed: how long an
	// advisor whose instance died without a word still counts as
	// connected. Instances renew it with every heartbeat, so it must be
	// longer than the heartbeat interval. Half of AdvisorGrace when 0.
	PresenceFor time.Duration
	// VisitorGrace is how long a visitor may go unseen before their
	// conversation ends as abandoned.
	VisitorGrace time.Duration
	// Retention is how long an ended conversation's routing data lives.
	Retention time.Duration
	// IdleTTL bounds the life of a conversation's or an advisor's routing
	// data that is not refreshed; heartbeats refresh it. The shared sets
	// (queues, on-duty, heartbeats, timers) live as long as they have
	// members.
	IdleTTL time.Duration
	// OfferTimeout is how long an advisor has to accept a conversation
	// offered to them (Accept). 0 assigns directly, without offers.
	OfferTimeout time.Duration
	// MissedOffers is how many offers in a row an advisor may let expire
	// before they go off duty as not responding; 3 when 0, never when
	// negative.
	MissedOffers int
	// MaxWait is how long a conversation may wait before the worker
	// reports it once (Hooks.MaxWaited), so the visitor can be offered
	// alternatives; it stays in the queue. 0 never.
	MaxWait time.Duration
	// DefaultHandling is the handling time the wait estimates assume
	// until conversations have ended; 10 minutes when 0.
	DefaultHandling time.Duration
	// ReportZone is the time zone whose days the report counts in (the
	// opening hours' zone); UTC when nil.
	ReportZone *time.Location
	// Log is told of what the scripts' callers cannot be: a report count
	// that failed after the routing step it follows. slog.Default when
	// nil.
	Log *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Queue is the routing state in Redis.
type Queue struct {
	rdb redis.UniversalClient
	cfg Config
	p   string

	// The reads of many sockets at once, coalesced (coalesce.go).
	states    *stateBatcher
	overviews *overviewShare
}

// DefaultConfig is the configuration the service runs with when nothing
// is set: the configuration starts from it, and New takes from it every
// field left zero for which zero means nothing (a zero FallbackAfter,
// OfferTimeout or MaxWait means "never" and stays). Retention must match
// the chat store's (redisstore.DefaultOptions).
func DefaultConfig() Config {
	return Config{
		Policy:            DefaultPolicy(),
		FallbackAfter:     2 * time.Minute,
		FallbackLanguages: []string{"en", "nl"},
		MissedOffers:      3,
		MaxWait:           20 * time.Minute,
		DefaultHandling:   20 * time.Minute,
		AdvisorGrace:      time.Minute,
		VisitorGrace:      10 * time.Minute,
		Retention:         10 * time.Minute,
		IdleTTL:           12 * time.Hour,
	}
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
	if cfg.OfferTimeout < 0 {
		return nil, fmt.Errorf("offer timeout %s: negative", cfg.OfferTimeout)
	}
	if cfg.MaxWait < 0 {
		return nil, fmt.Errorf("maximum wait %s: negative", cfg.MaxWait)
	}
	d := DefaultConfig()
	if cfg.MissedOffers == 0 {
		cfg.MissedOffers = d.MissedOffers
	}
	if cfg.DefaultHandling <= 0 {
		cfg.DefaultHandling = d.DefaultHandling
	}
	if cfg.Policy == nil {
		cfg.Policy = d.Policy
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AdvisorGrace <= 0 {
		cfg.AdvisorGrace = d.AdvisorGrace
	}
	if cfg.VisitorGrace <= 0 {
		cfg.VisitorGrace = d.VisitorGrace
	}
	if cfg.Retention <= 0 {
		cfg.Retention = d.Retention
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = d.IdleTTL
	}
	return &Queue{rdb: rdb, cfg: cfg, p: cfg.Prefix + "{rt}:", states: &stateBatcher{}, overviews: &overviewShare{}}, nil
}

// Config returns the queue's configuration.
func (q *Queue) Config() Config { return q.cfg }

// ChangedChannel is the pub/sub channel on which every routing change is
// announced; instances listen to it to assign and to update positions.
func (q *Queue) ChangedChannel() string { return q.p + "changed" }

// AdvisorChannel is the pub/sub channel of one advisor's routing events,
// JSON objects by type:
//
//	{"type":"assigned","conversation":id,"reason":""}
//	    it is theirs now: assigned directly, accepted, transferred to
//	    them, reassigned to them or picked by them.
//	{"type":"offered","conversation":id,"deadline":ms}
//	    offered to them until deadline (Unix ms); see Accept.
//	{"type":"unassigned","conversation":id,"reason":reason}
//	    no longer theirs, nor offered to them; reason is "ended",
//	    "requeued" (off duty, or their heartbeat was lost),
//	    "offer_expired", "not_responding", "transferred" (by Transfer) or
//	    "reassigned" (by Reassign).
//	{"type":"off_duty","reason":"not_responding"}
//	    taken off duty after Config.MissedOffers missed offers in a row.
func (q *Queue) AdvisorChannel(name string) string { return q.p + "a:" + name }

func (q *Queue) convKey(id string) string     { return q.p + "conv:" + id }
func (q *Queue) queueKey(name string) string  { return q.p + "q:" + name }
func (q *Queue) advKey(name string) string    { return q.p + "adv:" + name }
func (q *Queue) convsKey(name string) string  { return q.p + "adv:" + name + ":convs" }
func (q *Queue) offersKey(name string) string { return q.p + "adv:" + name + ":offers" }
func (q *Queue) timersKey() string            { return q.p + "timers" }
func (q *Queue) handledKey() string           { return q.p + "handled" }
func (q *Queue) knownKey() string             { return q.p + "known" }

func (q *Queue) args(extra ...any) []any {
	return q.argsAt(q.cfg.Now(), extra...)
}

// argsAt is args for a script that runs at now, the time the caller
// reports.
func (q *Queue) argsAt(now time.Time, extra ...any) []any {
	return append([]any{q.p, now.UnixMilli()}, extra...)
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
	// Priority puts it before all of lower priority: PriorityNormal,
	// PriorityHigh or PriorityUrgent.
	Priority int
	// Prefer is the advisor a returning visitor had before: while they
	// are on duty with a live console, the conversation waits for them
	// (and goes to nobody else) for PreferFor from when it is enqueued;
	// then, or when they are not on duty, it goes to anyone eligible.
	Prefer    string
	PreferFor time.Duration
}

// Enqueue puts a new conversation in the queue for its audience, behind
// all of its priority or higher, and returns its position (1 is next).
// With Config.MaxWait it sets the conversation's maximum-wait timer.
func (q *Queue) Enqueue(ctx context.Context, id string, n Need) (int, error) {
	if !q.HasQueue(n.Audience) {
		return 0, fmt.Errorf("enqueue %s: %w %q", id, ErrUnknownQueue, n.Audience)
	}
	if err := checkLanguages([]string{n.Lang}); err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", id, err)
	}
	if err := checkPriority(n.Priority); err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", id, err)
	}
	fallback := "1"
	if n.NoFallback {
		fallback = "0"
	}
	pos, err := enqueueScript.Run(ctx, q.rdb, []string{q.convKey(id)},
		q.args(id, n.Audience, n.Audience, n.Lang, fallback, seconds(q.cfg.IdleTTL), n.Priority, q.cfg.MaxWait.Milliseconds(),
			n.Prefer, n.PreferFor.Milliseconds())...).Int()
	if err != nil {
		return 0, fmt.Errorf("enqueue %s: %w", id, err)
	}
	return pos, nil
}

// Assignment is one conversation given to one advisor, offered to one, or
// moved to a queue (Transfer, Reassign).
type Assignment struct {
	Conversation string
	// Advisor is who has it now, or was offered it; "" when it was moved
	// to a queue.
	Advisor string
	// Alias is the name the visitor sees for Advisor.
	Alias string
	// Enqueued is when it first joined a queue: its real waiting time,
	// whatever its priority or requeues since.
	Enqueued time.Time
	// Assigned is when this assignment, offer or move was made.
	Assigned time.Time
	// Priority is its priority (PriorityNormal...).
	Priority int
	// Queue is its queue: the one it waited in or, when moved to a
	// queue, the one it waits in now.
	Queue string
	// Offer is set when it was only offered to Advisor, who has until
	// Deadline to Accept it.
	Offer    bool
	Deadline time.Time
	// From and Was are, for Transfer, Reassign and Pick, the advisor who
	// held it or had it offered before ("" if none) and its state before
	// (StatusWaiting, StatusOffered or StatusActive): with Was
	// StatusActive the visitor had an advisor who has now left.
	From string
	Was  string
}

// scanDepth is how far into each queue Assign looks for a conversation
// that a free advisor may take. It bounds the work of one assignment (the
// script blocks Redis while it runs); a conversation further back waits
// until those ahead of it are taken or, after the fallback time, can be.
const scanDepth = 50

// Assign gives up to max waiting conversations to advisors or, with
// Config.OfferTimeout, offers them (Assignment.Offer); see lua/assign.lua
// for which conversation goes first (highest priority, then longest
// waiting) and who may take it, and the Policy for which of those does.
func (q *Queue) Assign(ctx context.Context, max int) ([]Assignment, error) {
	now := time.UnixMilli(q.cfg.Now().UnixMilli())
	args := q.argsAt(now, max, scanDepth, q.cfg.FallbackAfter.Milliseconds(), strings.Join(q.cfg.FallbackLanguages, ","), q.cfg.OfferTimeout.Milliseconds())
	for _, n := range q.cfg.Queues {
		args = append(args, n)
	}
	res, err := q.cfg.Policy.assignScript().Run(ctx, q.rdb, []string{q.p + "onduty"}, args...).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	const n = 8
	out := make([]Assignment, 0, len(res)/n)
	for i := 0; i+n-1 < len(res); i += n {
		a := Assignment{Conversation: res[i], Advisor: res[i+1], Alias: res[i+2], Enqueued: unixMilli(res[i+3]),
			Assigned: now, Priority: atoi(res[i+4]), Queue: res[i+5], Offer: res[i+6] == "1"}
		if a.Offer {
			a.Deadline = unixMilli(res[i+7])
		}
		out = append(out, a)
		if !a.Offer {
			q.reportAnswered(ctx, a)
		}
	}
	return out, nil
}

// unixMilli reads a time the scripts wrote as Unix milliseconds; zero for
// none.
func unixMilli(s string) time.Time {
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(n))
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
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

// OnDuty puts an advisor on duty with the given skills and capacity. Called
// again while on duty it changes them; a lower capacity takes nothing
// away, it only holds back new conversations.
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
// the front of the queue; it returns those they held (active). Offers they
// had not accepted go back too but are not returned: nobody joined them.
// TakeOffDuty returns both.
func (q *Queue) OffDuty(ctx context.Context, name string) ([]string, error) {
	res, err := q.TakeOffDuty(ctx, name)
	return res.Requeued, err
}

// OffDutyResult is what going off duty put back in the queue.
type OffDutyResult struct {
	// Requeued were active: their visitors had this advisor.
	Requeued []string
	// Withdrawn were offered and not yet accepted.
	Withdrawn []string
}

// TakeOffDuty takes an advisor off duty, puts the conversations they held
// back at the front of the queue and withdraws the offers they had not
// accepted, each keeping its waiting time and priority. The advisor is
// told "unassigned" with reason "requeued" for each.
func (q *Queue) TakeOffDuty(ctx context.Context, name string) (OffDutyResult, error) {
	res, err := dutyScript.Run(ctx, q.rdb, []string{q.advKey(name)},
		q.args(name, "0", 0, "", "", "", seconds(q.cfg.IdleTTL))...).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return OffDutyResult{}, fmt.Errorf("off duty %s: %w", name, err)
	}
	var out OffDutyResult
	if len(res) == 2 {
		out.Requeued, out.Withdrawn = strs(res[0]), strs(res[1])
	}
	return out, nil
}

// strs reads a script's list of strings.
func strs(v any) []string {
	l, _ := v.([]any)
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}

// SetAlias changes the display name visitors see for an advisor, on duty
// or not; their routing data then lives Config.IdleTTL from now, as after
// a duty change.
func (q *Queue) SetAlias(ctx context.Context, name, alias string) error {
	err := aliasScript.Run(ctx, q.rdb, []string{q.advKey(name)}, q.args(name, alias, seconds(q.cfg.IdleTTL))...).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("set alias of %s: %w", name, err)
	}
	return nil
}

// Release ends a conversation for routing. It returns the state it had
// (waiting, offered or active) and its advisor (the one it was offered to,
// if offered); ok is false if it had ended already or was unknown. An
// active conversation's handling time joins those the wait estimates are
// made of.
func (q *Queue) Release(ctx context.Context, id string) (was, advisor string, ok bool, err error) {
	return q.release(ctx, id, "", "")
}

// ReleaseBy ends a conversation for routing only if advisor holds it
// (active, not merely offered): the check and the end are one atomic step,
// so an advisor cannot end a conversation that has just gone to someone
// else. The reason is kept with it (ConversationState.Reason).
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
	if expected == "" && (res[0] == StatusWaiting || res[0] == StatusOffered) {
		q.report(ctx, FieldLeft)
	}
	return res[0], res[1], true, nil
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
