// Package redistest gives each test its own Redis: a key prefix on the
// real server named by ADVICECHAT_TEST_REDIS_URL (as CI runs), or else a
// fresh embedded server.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat/redisstore"
)

// EnvURL names the variable that points tests at a real Redis.
const EnvURL = "ADVICECHAT_TEST_REDIS_URL"

// Redis is one test's Redis.
type Redis struct {
	Client redis.UniversalClient
	URL    string
	// Prefix is unique to the test; every key and channel must start
	// with it.
	Prefix string
	// Mini is the embedded server, or nil on a real Redis.
	Mini *miniredis.Miniredis
}

// New returns a Redis for tb, cleaned up when tb ends.
func New(tb testing.TB) *Redis {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	r := &Redis{Prefix: "t" + hex.EncodeToString(b[:]) + ":"}
	if url := os.Getenv(EnvURL); url != "" {
		r.URL = url
	} else {
		r.Mini = miniredis.RunT(tb)
		r.URL = "redis://" + r.Mini.Addr()
		// Keys expire as on a real server: miniredis's clock moves only
		// when told to.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			last := time.Now()
			for {
				select {
				case <-stop:
					return
				case now := <-t.C:
					r.Mini.FastForward(now.Sub(last))
					last = now
				}
			}
		}()
		tb.Cleanup(func() {
			close(stop)
			<-done
		})
	}
	c, err := redisstore.Connect(r.URL)
	if err != nil {
		tb.Fatalf("%s=%q: %v", EnvURL, r.URL, err)
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis at %s: %v", r.URL, err)
	}
	r.Client = c
	tb.Cleanup(func() {
		if r.Mini == nil {
			r.Flush(tb)
		}
		_ = c.Close()
	})
	return r
}

// Keys returns every key under the test's prefix.
func (r *Redis) Keys(tb testing.TB) []string {
	tb.Helper()
	var out []string
	iter := r.Client.Scan(context.Background(), 0, r.Prefix+"*", 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Fatalf("scan %s*: %v", r.Prefix, err)
	}
	return out
}

// Flush deletes every key under the test's prefix.
func (r *Redis) Flush(tb testing.TB) {
	tb.Helper()
	for _, k := range r.Keys(tb) {
		r.Client.Del(context.Background(), k)
	}
}
