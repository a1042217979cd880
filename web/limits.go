package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/web/auth"
)

// Abuse without identity. Two limits protect the advisors' time, and
// neither keeps an address:
//
//   - startLimiter: new conversations per client, counted in this
//     process's memory under a clientKeyer key (an HMAC with a secret that
//     rotates every 10 minutes and never leaves memory). Each instance
//     limits on its own.
//   - blocks: an advisor can block the sender of a conversation for a day.
//     The block is stored in Redis under an HMAC of the address with a key
//     derived from a block secret and the date; the secret lives only in
//     memory (ADVICECHAT_BLOCK_SECRET, shared by all instances so each can
//     check every block, or a random one per process). Redis alone cannot
//     turn a block back into an address: there is no key in it to try
//     addresses with.

// startRefill is how often a client may start one more conversation once
// its burst is spent.
const startRefill = 2 * time.Minute

// resumeBurst and resumeRefill bound how often one client may resume a
// conversation on a new socket: a phone on a poor network reconnects a few
// times a minute, a script that resumes to get fresh sockets more.
const (
	resumeBurst  = 30
	resumeRefill = 5 * time.Second
)

// startLimiter is a token bucket per client key: for starts, and with
// other figures for resumes.
type startLimiter struct {
	keyer  *auth.Keyer
	burst  int
	refill time.Duration
	now    func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

func newStartLimiter(k *auth.Keyer, burst int) *startLimiter {
	return newLimiter(k, burst, startRefill)
}

func newLimiter(k *auth.Keyer, burst int, refill time.Duration) *startLimiter {
	return &startLimiter{keyer: k, burst: max(1, burst), refill: refill, now: time.Now, buckets: map[string]*bucket{}}
}

// allow takes one start from the client with key; false means the client
// started too many conversations lately.
func (l *startLimiter) allow(key string) bool {
	if key == "" {
		return true // a client nobody could name
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	// Full buckets forget: drop those that refilled, so memory follows the
	// number of recent clients.
	if now.Sub(l.swept) > l.refill {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Duration(l.burst)*l.refill {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		nb := newBucket(float64(l.burst), 1/l.refill.Seconds())
		b = &nb
		l.buckets[key] = b
	}
	return b.allow(now)
}

// blockDuration is how long a block lasts at most.
const blockDuration = 24 * time.Hour

// blocks stores and checks blocks of senders.
type blocks struct {
	rdb    redis.UniversalClient
	prefix string
	secret []byte
	now    func() time.Time
}

func newBlocks(rdb redis.UniversalClient, prefix string, secret []byte) *blocks {
	if len(secret) == 0 {
		secret = auth.NewSecret()
	}
	// One hash tag: a check reads two keys in one command, also on Cluster.
	return &blocks{rdb: rdb, prefix: prefix + "{block}:", secret: secret, now: time.Now}
}

// dayKey is the HMAC key of one UTC day.
func (b *blocks) dayKey(t time.Time) []byte {
	m := hmac.New(sha256.New, b.secret)
	m.Write([]byte("block " + t.UTC().Format(time.DateOnly)))
	return m.Sum(nil)
}

// senderKeys are a sender's block keys by UTC date. A socket derives them
// when it connects, for the day before, that day and the day after, and
// keeps only them, never the address.
type senderKeys map[string]string

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// keys returns addr's block keys around now.
func (b *blocks) keys(addr string) senderKeys {
	now := b.now()
	k := senderKeys{}
	for _, d := range []time.Duration{-24 * time.Hour, 0, 24 * time.Hour} {
		t := now.Add(d)
		k[day(t)] = auth.KeyOf(b.dayKey(t), addr)
	}
	return k
}

// block blocks the sender with these keys for blockDuration, under
// today's key. A sender nobody could name (no keys) cannot be blocked.
func (b *blocks) block(ctx context.Context, keys senderKeys) error {
	k, ok := keys[day(b.now())]
	if !ok {
		return nil
	}
	if err := b.rdb.Set(ctx, b.prefix+k, 1, blockDuration).Err(); err != nil {
		return fmt.Errorf("store block: %w", err)
	}
	return nil
}

// blocked reports whether a sender with these keys is blocked: under
// today's key, or yesterday's for a block made before midnight.
func (b *blocks) blocked(ctx context.Context, keys senderKeys) (bool, error) {
	now := b.now()
	var names []string
	for _, t := range []time.Time{now, now.Add(-24 * time.Hour)} {
		if k, ok := keys[day(t)]; ok {
			names = append(names, b.prefix+k)
		}
	}
	if len(names) == 0 {
		return false, nil
	}
	n, err := b.rdb.Exists(ctx, names...).Result()
	if err != nil {
		return false, fmt.Errorf("check block: %w", err)
	}
	return n > 0, nil
}

// clientSockets counts the open visitor sockets per client key on this
// instance, so that one client cannot hold the file descriptors of
// thousands (each one kept alive by pings).
type clientSockets struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

// open counts a socket of key, or reports false at the cap. A client
// nobody could name is not counted.
func (c *clientSockets) open(key string) bool {
	if key == "" {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] >= c.max {
		return false
	}
	c.n[key]++
	return true
}

// closed undoes open.
func (c *clientSockets) closed(key string) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key]--; c.n[key] <= 0 {
		delete(c.n, key)
	}
}
