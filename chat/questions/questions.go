// Package questions keeps the questions visitors leave while the chat is
// closed or very busy, until an advisor answers them. An open question is
// plaintext, readable by staff, and expires after a keep time unanswered;
// once answered, the web layer seals it under the visitor's return code
// and Finish removes every trace of it here.
//
// Every key shares the hash tag {q}, so each script is atomic on Redis
// Cluster too:
//
//	{q}:q:<id>              hash: audience, lang, text, left, keys, reply, prefer, taken, until (TTL keep)
//	{q}:i:<audience>:<lang> sorted set: open question ids by when they were left (TTL: its newest member's and IndexGrace)
//	{q}:by:<lookup>         set: the open question ids under one return code (TTL: its newest member's)
//	{q}:changed             pub/sub channel, not a key: something changed
package questions

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
)

var (
	//go:embed lua/leave.lua
	leaveLua string
	//go:embed lua/take.lua
	takeLua string
	//go:embed lua/release.lua
	releaseLua string
	//go:embed lua/finish.lua
	finishLua string
	//go:embed lua/sweep.lua
	sweepLua string

	leaveScript   = redis.NewScript(leaveLua)
	takeScript    = redis.NewScript(takeLua)
	releaseScript = redis.NewScript(releaseLua)
	finishScript  = redis.NewScript(finishLua)
	sweepScript   = redis.NewScript(sweepLua)
)

// IndexGrace is how much longer an index lives than its newest question:
// time for a sweep to find the questions that expired in it.
const IndexGrace = time.Hour

// Errors of the store.
var (
	// ErrGone: no such question; it has been answered or has expired.
	ErrGone = errors.New("no such question; it has been answered or has expired")
	// ErrTaken: another advisor holds the question.
	ErrTaken = errors.New("another advisor has taken this question")
)

// Question is one open question.
type Question struct {
	ID       string
	Audience string
	Lang     string
	Text     string
	Left     time.Time
	// Keys is the return code's keep.Keys, encoded: what answering seals
	// the thread with. Never the code itself.
	Keys string
	// Lookup is the code's lookup id (the first part of Keys).
	Lookup string
	// Reply: left under a code that already had a thread.
	Reply bool
	// Prefer is the advisor who answered the thread last, if any.
	Prefer string
	// Taken is the advisor who holds the question now, until Until.
	Taken string
	Until time.Time
}

// TakenBy reports whether advisor holds q at now.
func (q Question) TakenBy(advisor string, now time.Time) bool {
	return q.Taken == advisor && q.Until.After(now)
}

// HeldByOther reports whether someone other than advisor holds q at now.
func (q Question) HeldByOther(advisor string, now time.Time) bool {
	return q.Taken != "" && q.Taken != advisor && q.Until.After(now)
}

// Options configure a store.
type Options struct {
	// Prefix starts every key (the service's key prefix).
	Prefix string
	// Keep is how long an unanswered question is kept.
	Keep time.Duration
	// Audiences and Langs name the indexes: one per pair.
	Audiences, Langs []string
}

// Store keeps open questions in Redis.
type Store struct {
	rdb  redis.UniversalClient
	p    string // prefix + "{q}:"
	opts Options
}

// New returns a store.
func New(rdb redis.UniversalClient, o Options) *Store {
	return &Store{rdb: rdb, p: o.Prefix + "{q}:", opts: o}
}

// Keep is how long an unanswered question is kept.
func (s *Store) Keep() time.Duration { return s.opts.Keep }

// Channel is where a change to the open questions is published.
func (s *Store) Channel() string { return s.p + "changed" }

func (s *Store) hashKey(id string) string { return s.p + "q:" + id }

// IndexKey is the key of one audience and language's index.
func (s *Store) IndexKey(audience, lang string) string { return s.p + "i:" + audience + ":" + lang }

func (s *Store) byKey(lookup string) string { return s.p + "by:" + lookup }

func (s *Store) changed(ctx context.Context) {
	// A lost notice costs a console a refresh it gets at the next change.
	_ = s.rdb.Publish(ctx, s.Channel(), "1").Err()
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Leave stores a new question and returns its id. q.Audience and q.Lang
// must be among the store's, q.Keys and q.Lookup set.
func (s *Store) Leave(ctx context.Context, q Question) (string, error) {
	id := chat.NewID()
	args := []any{s.opts.Keep.Milliseconds(), q.Left.UnixMilli(), id, IndexGrace.Milliseconds(),
		"audience", q.Audience, "lang", q.Lang, "text", q.Text, "left", ms(q.Left),
		"keys", q.Keys, "lookup", q.Lookup, "reply", flag(q.Reply), "prefer", q.Prefer, "taken", "", "until", "0"}
	err := leaveScript.Run(ctx, s.rdb, []string{s.hashKey(id), s.IndexKey(q.Audience, q.Lang), s.byKey(q.Lookup)}, args...).Err()
	if err != nil {
		return "", fmt.Errorf("leave question: %w", err)
	}
	s.changed(ctx)
	return id, nil
}

func parse(id string, m map[string]string) Question {
	left, _ := strconv.ParseInt(m["left"], 10, 64)
	until, _ := strconv.ParseInt(m["until"], 10, 64)
	return Question{
		ID: id, Audience: m["audience"], Lang: m["lang"], Text: m["text"], Left: time.UnixMilli(left),
		Keys: m["keys"], Lookup: m["lookup"], Reply: m["reply"] == "1", Prefer: m["prefer"],
		Taken: m["taken"], Until: time.UnixMilli(until),
	}
}

// Get reads a question, or ErrGone.
func (s *Store) Get(ctx context.Context, id string) (Question, error) {
	m, err := s.rdb.HGetAll(ctx, s.hashKey(id)).Result()
	if err != nil {
		return Question{}, fmt.Errorf("read question: %w", err)
	}
	if len(m) == 0 {
		return Question{}, ErrGone
	}
	return parse(id, m), nil
}

// Take gives the question to advisor for lease, atomically: ErrTaken if
// another advisor holds it, ErrGone if it is answered or expired. Taking
// again what one holds renews the lease.
func (s *Store) Take(ctx context.Context, id, advisor string, now time.Time, lease time.Duration) (Question, error) {
	res, err := takeScript.Run(ctx, s.rdb, []string{s.hashKey(id)}, advisor, now.UnixMilli(), lease.Milliseconds()).StringSlice()
	if err != nil {
		return Question{}, fmt.Errorf("take question: %w", err)
	}
	switch res[0] {
	case "gone":
		return Question{}, ErrGone
	case "taken":
		return Question{}, ErrTaken
	}
	m := make(map[string]string, len(res)/2)
	for i := 1; i+1 < len(res); i += 2 {
		m[res[i]] = res[i+1]
	}
	s.changed(ctx)
	return parse(id, m), nil
}

// Release gives a question advisor holds back to the others; false if it
// was not theirs.
func (s *Store) Release(ctx context.Context, id, advisor string) (bool, error) {
	n, err := releaseScript.Run(ctx, s.rdb, []string{s.hashKey(id)}, advisor).Int()
	if err != nil {
		return false, fmt.Errorf("release question: %w", err)
	}
	if n == 1 {
		s.changed(ctx)
	}
	return n == 1, nil
}

// Finish removes an answered question; it reports whether it was still
// there.
func (s *Store) Finish(ctx context.Context, q Question) (bool, error) {
	n, err := finishScript.Run(ctx, s.rdb, []string{s.hashKey(q.ID), s.IndexKey(q.Audience, q.Lang), s.byKey(q.Lookup)}, q.ID).Int()
	if err != nil {
		return false, fmt.Errorf("finish question: %w", err)
	}
	s.changed(ctx)
	return n == 1, nil
}

// Index is one audience and language's open questions.
type Index struct {
	Audience, Lang string
	// Open counts them all; Questions are the oldest, up to the depth
	// asked for, without their text.
	Open      int
	Questions []Question
}

// Open lists every index's count and up to depth of its oldest questions
// (without their text), oldest first.
func (s *Store) Open(ctx context.Context, depth int) ([]Index, error) {
	type read struct {
		card *redis.IntCmd
		ids  *redis.StringSliceCmd
	}
	var out []Index
	var reads []read
	pipe := s.rdb.Pipeline()
	for _, a := range s.opts.Audiences {
		for _, l := range s.opts.Langs {
			out = append(out, Index{Audience: a, Lang: l})
			k := s.IndexKey(a, l)
			reads = append(reads, read{pipe.ZCard(ctx, k), pipe.ZRange(ctx, k, 0, int64(depth)-1)})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read question indexes: %w", err)
	}
	fields := []string{"left", "reply", "prefer", "taken", "until"}
	pipe = s.rdb.Pipeline()
	metas := make([][]*redis.SliceCmd, len(out))
	for i, r := range reads {
		out[i].Open = int(r.card.Val())
		for _, id := range r.ids.Val() {
			metas[i] = append(metas[i], pipe.HMGet(ctx, s.hashKey(id), fields...))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read questions: %w", err)
	}
	for i, r := range reads {
		for j, id := range r.ids.Val() {
			v := metas[i][j].Val()
			if len(v) != len(fields) || v[0] == nil {
				out[i].Open-- // expired, not swept yet
				continue
			}
			m := map[string]string{}
			for k, f := range fields {
				if str, ok := v[k].(string); ok {
					m[f] = str
				}
			}
			q := parse(id, m)
			q.Audience, q.Lang = out[i].Audience, out[i].Lang
			out[i].Questions = append(out[i].Questions, q)
		}
	}
	return out, nil
}

// ByLookup returns the open questions left under a code's lookup id,
// oldest first.
func (s *Store) ByLookup(ctx context.Context, lookup string) ([]Question, error) {
	ids, err := s.rdb.SMembers(ctx, s.byKey(lookup)).Result()
	if err != nil {
		return nil, fmt.Errorf("read a code's questions: %w", err)
	}
	var out []Question
	for _, id := range ids {
		q, err := s.Get(ctx, id)
		if errors.Is(err, ErrGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Left.Before(out[j-1].Left); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// sweepDepth is how many of each index's oldest questions a sweep looks
// at; they expire oldest first.
const sweepDepth = 100

// Sweep removes from the indexes the questions that expired unanswered
// and returns how many it found. Every instance may run it; each question
// is counted once.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	var keys []string
	for _, a := range s.opts.Audiences {
		for _, l := range s.opts.Langs {
			keys = append(keys, s.IndexKey(a, l))
		}
	}
	n, err := sweepScript.Run(ctx, s.rdb, keys, s.p+"q:", sweepDepth).Int()
	if err != nil {
		return 0, fmt.Errorf("sweep questions: %w", err)
	}
	if n > 0 {
		s.changed(ctx)
	}
	return n, nil
}
