package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// ParseURL parses a Redis address in one of these forms:
//
//	redis://[[user]:password@]host:port[/db]          one server
//	rediss://...                                      the same over TLS
//	redis-sentinel://[[user]:password@]host:port,host:port/master[/db]
//	redis-cluster://[[user]:password@]host:port,host:port
//
// The result goes to redis.NewUniversalClient, which picks a plain,
// failover (Sentinel) or cluster client from it.
func ParseURL(raw string) (*redis.UniversalOptions, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a redis URL")
	}
	opts := &redis.UniversalOptions{
		// Fail fast while Redis is away (a failover takes seconds); the
		// client retries with backoff inside these bounds.
		DialTimeout:  3 * time.Second,
		ReadTimeout:  3 * time.Second,
		WriteTimeout: 3 * time.Second,
		MaxRetries:   3,
	}
	if u.User != nil {
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
	}
	hosts := strings.Split(u.Host, ",")
	for _, h := range hosts {
		if _, _, err := net.SplitHostPort(h); err != nil || h == "" {
			return nil, fmt.Errorf("%q is not host:port", h)
		}
	}
	segs := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	db := func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("database %q is not a number", s)
		}
		opts.DB = n
		return nil
	}
	switch u.Scheme {
	case "redis", "rediss":
		if len(hosts) != 1 {
			return nil, errors.New("redis:// takes one host; use redis-sentinel:// or redis-cluster:// for several")
		}
		if u.Scheme == "rediss" {
			opts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: u.Hostname()}
		}
		if len(segs) > 1 {
			return nil, errors.New("path must be /db")
		}
		if len(segs) == 1 {
			if err := db(segs[0]); err != nil {
				return nil, err
			}
		}
	case "redis-sentinel":
		if len(segs) < 1 || len(segs) > 2 {
			return nil, errors.New("redis-sentinel:// needs /master-name[/db]")
		}
		opts.MasterName = segs[0]
		if len(segs) == 2 {
			if err := db(segs[1]); err != nil {
				return nil, err
			}
		}
		opts.SentinelUsername = u.Query().Get("sentinel_username")
		opts.SentinelPassword = u.Query().Get("sentinel_password")
	case "redis-cluster":
		if len(segs) != 0 {
			return nil, errors.New("redis-cluster:// takes no path")
		}
		opts.IsClusterMode = true
	default:
		return nil, fmt.Errorf("unknown scheme %q (use redis, rediss, redis-sentinel or redis-cluster)", u.Scheme)
	}
	opts.Addrs = hosts
	return opts, nil
}

// Connect returns a client for a Redis URL (see ParseURL). It does not
// contact the server.
func Connect(raw string) (redis.UniversalClient, error) {
	opts, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(opts), nil
}

// Embedded is an in-process Redis (miniredis) on a loopback port, for
// running the service with no set-up. It keeps nothing on disk.
type Embedded struct {
	srv  *miniredis.Miniredis
	stop chan struct{}
	done chan struct{}
}

// StartEmbedded starts an embedded Redis. miniredis lets keys expire only
// when told time has passed, so a goroutine moves its clock along with the
// wall clock until Close.
func StartEmbedded() (*Embedded, error) {
	srv := miniredis.NewMiniRedis()
	if err := srv.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	e := &Embedded{srv: srv, stop: make(chan struct{}), done: make(chan struct{})}
	go e.tick()
	return e, nil
}

func (e *Embedded) tick() {
	defer close(e.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			e.srv.FastForward(now.Sub(last))
			last = now
		}
	}
}

// URL returns the address to give Connect.
func (e *Embedded) URL() string { return "redis://" + e.srv.Addr() }

// Close stops the server.
func (e *Embedded) Close() {
	close(e.stop)
	<-e.done
	e.srv.Close()
}

// Ping checks that Redis answers.
func Ping(ctx context.Context, rdb redis.UniversalClient) error {
	return rdb.Ping(ctx).Err()
}
