package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoSession: the request has no session, or one that has ended.
var ErrNoSession = errors.New("no valid session")

// Sessions are advisor logins, in Redis so any instance can serve any
// advisor. The cookie holds a random id; Redis holds only its hash, the
// account name and the creation time.
type Sessions struct {
	rdb       redis.UniversalClient
	prefix    string
	idle, max time.Duration
}

func (s *Sessions) key(id string) string {
	h := sha256.Sum256([]byte(id))
	return s.prefix + hex.EncodeToString(h[:])
}

// Create starts a session for username and returns its id.
func (s *Sessions) Create(ctx context.Context, username string) (string, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	k := s.key(id)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "user", username, "created", time.Now().UnixMilli())
		p.Expire(ctx, k, s.idle)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return id, nil
}

// Get returns the session's account and extends its idle timeout; a
// session past its absolute lifetime is ended.
func (s *Sessions) Get(ctx context.Context, id string) (string, error) {
	if id == "" || len(id) > 100 {
		return "", ErrNoSession
	}
	k := s.key(id)
	m, err := s.rdb.HGetAll(ctx, k).Result()
	if err != nil {
		return "", fmt.Errorf("read session: %w", err)
	}
	if m["user"] == "" {
		return "", ErrNoSession
	}
	created, _ := strconv.ParseInt(m["created"], 10, 64)
	if time.Since(time.UnixMilli(created)) > s.max {
		s.rdb.Del(ctx, k)
		return "", ErrNoSession
	}
	s.rdb.Expire(ctx, k, s.idle)
	return m["user"], nil
}

// Valid reports whether a session is still good, without extending its
// idle timeout (a heartbeat is not the advisor doing something).
func (s *Sessions) Valid(ctx context.Context, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	m, err := s.rdb.HGetAll(ctx, s.key(id)).Result()
	if err != nil {
		return false, fmt.Errorf("read session: %w", err)
	}
	created, _ := strconv.ParseInt(m["created"], 10, 64)
	return m["user"] != "" && time.Since(time.UnixMilli(created)) <= s.max, nil
}

// End ends a session.
func (s *Sessions) End(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	return s.rdb.Del(ctx, s.key(id)).Err()
}

// NewSessions keeps sessions under prefix; a session ends after idle
// without use, or max after it began.
func NewSessions(rdb redis.UniversalClient, prefix string, idle, max time.Duration) *Sessions {
	return &Sessions{rdb: rdb, prefix: prefix, idle: idle, max: max}
}
