// Package redisstore implements chat.Store and chat.Feed on Redis, and
// connects to Redis (a URL, Sentinel, Cluster, or an embedded in-process
// server).
//
// A conversation's keys share one hash tag, {c:<id>}, so the append script
// runs unchanged on Redis Cluster. Entries live in a stream whose ids are
// 0-<seq>: the stream id is the entry's gap-free sequence number.
package redisstore

import (
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
)

var _ chat.Store = (*Store)(nil)

//go:embed append.lua
var appendLua string

var appendScript = redis.NewScript(appendLua)

// Options configure a Store.
type Options struct {
	// Prefix starts every key, e.g. "ac:".
	Prefix string
	// IdleTTL is how long an open conversation's keys live after its last
	// entry.
	IdleTTL time.Duration
	// Retention is how long an ended conversation's keys live.
	Retention time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// AckReplicas, when above 0, makes every append wait (Redis WAIT)
	// until that many replicas have it, at most AckTimeout, before it
	// counts as stored: an acked message then survives a failover to one
	// of them. Not for Redis Cluster.
	AckReplicas int
	AckTimeout  time.Duration
	// MessageBurst and MessageRate limit a visitor's messages per
	// conversation, across sockets and instances: MessageBurst at once,
	// then MessageRate a second. A zero rate: no limit.
	MessageBurst int
	MessageRate  float64
	// MaxEntries and MaxBytes cap what the sides write into a
	// conversation (entries in all, bytes of text); 0: no cap.
	MaxEntries int
	MaxBytes   int
}

// Store keeps conversations in Redis.
type Store struct {
	rdb  redis.UniversalClient
	app  *appender
	opts Options
}

// DefaultOptions are the options the service runs with when nothing is
// set; New takes from them every field left zero.
func DefaultOptions() Options {
	return Options{
		IdleTTL: 12 * time.Hour, Retention: 10 * time.Minute, AckTimeout: 500 * time.Millisecond,
		// A person typing never meets the rate; a script does.
		MessageBurst: 20, MessageRate: 0.5,
		// A long conversation has a few hundred entries; these are far
		// above that and far below what fills a Redis.
		MaxEntries: 3000, MaxBytes: 2 << 20,
	}
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	d := DefaultOptions()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdleTTL <= 0 {
		opts.IdleTTL = d.IdleTTL
	}
	if opts.Retention <= 0 {
		opts.Retention = d.Retention
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = d.AckTimeout
	}
	return &Store{rdb: rdb, app: &appender{rdb: rdb}, opts: opts}
}

func (s *Store) key(id, what string) string { return s.opts.Prefix + "{c:" + id + "}:" + what }

// Channel returns the pub/sub channel of a conversation.
func (s *Store) Channel(id string) string { return s.opts.Prefix + "c:" + id }

// Signal publishes e on its conversation's channel; see chat.Store.
func (s *Store) Signal(ctx context.Context, e chat.Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.rdb.Publish(ctx, s.Channel(e.Conversation), b).Err()
}

// Keys returns the keys the append script is given for a conversation, in
// order; all share one hash slot.
func (s *Store) Keys(id string) []string {
	return []string{s.key(id, "meta"), s.key(id, "log"), s.key(id, "cids")}
}

// Create stores a new open conversation.
func (s *Store) Create(ctx context.Context, c chat.Conversation) error {
	meta := s.key(c.ID, "meta")
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, meta,
			"aud", c.Audience,
			"lang", c.Lang,
			"ended", "0",
			"created", c.Created.UnixMilli(),
			"tok", hex.EncodeToString(c.TokenHash),
			"seq", 0,
		)
		if c.Keep != "" {
			p.HSet(ctx, meta, "keep", c.Keep, "kept", "1", "ret", boolField(c.Returning))
		}
		p.Expire(ctx, meta, s.opts.IdleTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("create conversation %s: %w", c.ID, err)
	}
	return nil
}

// Get returns a conversation.
func (s *Store) Get(ctx context.Context, id string) (chat.Conversation, error) {
	// Named fields, not HGETALL: the hash holds a field per client id too.
	v, err := s.rdb.HMGet(ctx, s.key(id, "meta"), "ended", "aud", "lang", "created", "tok", "keep", "ret").Result()
	if err != nil {
		return chat.Conversation{}, fmt.Errorf("get conversation %s: %w", id, err)
	}
	if v[0] == nil {
		return chat.Conversation{}, chat.ErrNotFound
	}
	f := func(i int) string { s, _ := v[i].(string); return s }
	created, _ := strconv.ParseInt(f(3), 10, 64)
	tok, _ := hex.DecodeString(f(4))
	return chat.Conversation{
		ID:        id,
		Audience:  f(1),
		Lang:      f(2),
		Ended:     f(0) == "1",
		Created:   time.UnixMilli(created),
		TokenHash: tok,
		Keep:      f(5),
		Returning: f(6) == "1",
	}, nil
}

// Append stores one entry; see chat.Store.
func (s *Store) Append(ctx context.Context, e chat.Entry) (chat.Entry, bool, error) {
	now := s.opts.Now().UnixMilli()
	// Only runs with a client id may wait for a batch: a batch's pipeline
	// that go-redis sends again after a lost connection runs them again,
	// which their id makes harmless; a service entry (joined, ended) has
	// none and goes on its own.
	res, err := s.runAppend(ctx, s.Keys(e.Conversation), e.ClientID != "",
		s.Channel(e.Conversation), string(e.Kind), e.From, e.ClientID, e.Text, e.Name, e.Reason,
		now, int64(s.opts.IdleTTL/time.Second), int64(s.opts.Retention/time.Second), e.Conversation,
	)
	if err == nil && !appendReply(res) {
		err = fmt.Errorf("unexpected reply %v", res)
	}
	if err != nil {
		return chat.Entry{}, false, fmt.Errorf("append to conversation %s: %w", e.Conversation, err)
	}
	switch res[0] {
	case 0:
		return chat.Entry{}, false, chat.ErrNotFound
	case -1:
		return chat.Entry{}, false, chat.ErrEnded
	case 2:
		first, err := s.one(ctx, e.Conversation, res[1])
		if err == nil && s.opts.AckReplicas > 0 {
			// The first copy may never have been announced (its wait
			// timed out); now that the replicas have it, announce it.
			// Receivers drop it by seq if they had it.
			if b, jerr := json.Marshal(first); jerr == nil {
				_ = s.rdb.Publish(ctx, s.Channel(e.Conversation), b).Err()
			}
		}
		return first, true, err
	case 3:
		return chat.Entry{}, false, chat.ErrClientIDReused
	case 4:
		wait := time.Duration(res[1]) * time.Millisecond
		return chat.Entry{}, false, fmt.Errorf("%w; retry in %.1fs", chat.ErrRateLimited, wait.Seconds())
	case 5:
		return chat.Entry{}, false, chat.ErrConversationFull
	}
	e.Seq, e.At = res[1], now
	return e, false, nil
}

// appendReply reports whether res has the shape of one of the append
// script's replies: {0}, {-1} and {5} alone, the others with a number.
func appendReply(res []int64) bool {
	if len(res) == 0 {
		return false
	}
	switch res[0] {
	case 0, -1, 5:
		return true
	case 1, 2, 3, 4:
		return len(res) >= 2
	}
	return false
}

// limitArgs are the append script's last arguments: the visitor's rate and
// the size cap.
func (s *Store) limitArgs() []any {
	return []any{s.opts.MessageBurst, s.opts.MessageRate, s.opts.MaxEntries, s.opts.MaxBytes}
}

// runAppend runs the append script, and with AckReplicas the WAIT for
// replicas after it. WAIT covers the writes of its own connection, so both
// go in one pipeline; the script is sent whole there, because a replica
// promoted in a failover has no script cache for EVALSHA. With the wait,
// the entry is announced only after the replicas have it, so nobody sees
// an entry that a failover could take back.
func (s *Store) runAppend(ctx context.Context, keys []string, batch bool, args ...any) ([]int64, error) {
	if s.opts.AckReplicas <= 0 {
		args := slices.Concat(args, []any{"1"}, s.limitArgs())
		if !batch {
			return appendScript.Run(ctx, s.rdb, keys, args...).Int64Slice()
		}
		return s.app.run(ctx, keys, args)
	}
	pipe := s.rdb.Pipeline()
	eval := pipe.Eval(ctx, appendLua, keys, slices.Concat(args, []any{"0"}, s.limitArgs())...)
	wait := pipe.Do(ctx, "WAIT", s.opts.AckReplicas, s.opts.AckTimeout.Milliseconds())
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	raw, err := eval.Slice()
	if err != nil {
		return nil, err
	}
	res := make([]int64, 0, 2)
	var payload string
	for i, v := range raw {
		switch v := v.(type) {
		case int64:
			res = append(res, v)
		case string:
			if i == 2 {
				payload = v
			}
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("unexpected reply %v", raw)
	}
	if n, _ := wait.Int64(); (res[0] == 1 || res[0] == 2) && n < int64(s.opts.AckReplicas) {
		// Not announced: a retry with the same id is a duplicate, which
		// announces nothing either, but the stream has it for every
		// reader that catches up.
		return nil, fmt.Errorf("%w: %d of %d replicas", chat.ErrNotReplicated, n, s.opts.AckReplicas)
	}
	if payload != "" {
		if err := s.rdb.Publish(ctx, args[0].(string), payload).Err(); err != nil {
			// Stored and replicated: readers find it in the stream on
			// their next catch-up; the ack stands.
			return res, nil
		}
	}
	return res, nil
}

// End ends a conversation; see chat.Store.
func (s *Store) End(ctx context.Context, id, reason string) (chat.Entry, error) {
	e, _, err := s.Append(ctx, chat.Entry{Conversation: id, Kind: chat.KindEnded, From: chat.FromSystem, Reason: reason})
	return e, err
}

func (s *Store) one(ctx context.Context, id string, seq int64) (chat.Entry, error) {
	ref := "0-" + strconv.FormatInt(seq, 10)
	msgs, err := s.rdb.XRange(ctx, s.key(id, "log"), ref, ref).Result()
	if err != nil {
		return chat.Entry{}, fmt.Errorf("read entry %d of conversation %s: %w", seq, id, err)
	}
	if len(msgs) == 0 {
		return chat.Entry{}, chat.ErrNotFound
	}
	return decode(id, msgs[0])
}

// After returns entries with Seq > after.
func (s *Store) After(ctx context.Context, id string, after int64, limit int) ([]chat.Entry, error) {
	start := "0-" + strconv.FormatInt(after+1, 10)
	msgs, err := s.rdb.XRangeN(ctx, s.key(id, "log"), start, "+", int64(limit)).Result()
	if err != nil {
		return nil, fmt.Errorf("read conversation %s after %d: %w", id, after, err)
	}
	out := make([]chat.Entry, 0, len(msgs))
	for _, m := range msgs {
		e, err := decode(id, m)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// LastSeq returns the highest sequence number of a conversation.
func (s *Store) LastSeq(ctx context.Context, id string) (int64, error) {
	n, err := s.rdb.HGet(ctx, s.key(id, "meta"), "seq").Int64()
	if errors.Is(err, redis.Nil) {
		return 0, chat.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("last seq of conversation %s: %w", id, err)
	}
	return n, nil
}

func decode(id string, m redis.XMessage) (chat.Entry, error) {
	var seq int64
	if _, err := fmt.Sscanf(m.ID, "0-%d", &seq); err != nil {
		return chat.Entry{}, fmt.Errorf("conversation %s: bad stream id %q", id, m.ID)
	}
	str := func(k string) string { v, _ := m.Values[k].(string); return v }
	at, _ := strconv.ParseInt(str("t"), 10, 64)
	return chat.Entry{
		Conversation: id,
		Seq:          seq,
		Kind:         chat.Kind(str("k")),
		From:         str("f"),
		ClientID:     str("c"),
		Text:         str("x"),
		Name:         str("n"),
		Reason:       str("r"),
		At:           at,
	}, nil
}
