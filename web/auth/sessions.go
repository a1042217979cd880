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

// Session is what a session holds: the account's username and the
// version of its credentials when it logged in.
type Session struct {
	User    string
	Cred    string
	Created time.Time
}

// Create starts a session for username, whose credentials are at version
// cred, and returns its id.
func (s *Sessions) Create(ctx context.Context, username, cred string) (string, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	k := s.key(id)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "user", username, "cred", cred, "created", time.Now().UnixMilli())
		p.Expire(ctx, k, s.idle)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return id, nil
}

// Get returns the session and extends its idle timeout; a session past
// its absolute lifetime is ended.
func (s *Sessions) Get(ctx context.Context, id string) (Session, error) {
	if id == "" || len(id) > 100 {
		return Session{}, ErrNoSession
	}
	// One round trip for both: an advisor's every message and action
	// checks their session. The EXPIRE of a key that is not there does
	// nothing; one past its lifetime is deleted below.
	k := s.key(id)
	var read *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		read = p.HGetAll(ctx, k)
		p.Expire(ctx, k, s.idle)
		return nil
	})
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	sess, err := s.parse(read.Val())
	if err != nil {
		s.rdb.Del(ctx, k) // past its lifetime, if it was there
		return Session{}, err
	}
	return sess, nil
}

// Peek returns the session without extending its idle timeout (a
// heartbeat is not the advisor doing something).
func (s *Sessions) Peek(ctx context.Context, id string) (Session, error) {
	if id == "" || len(id) > 100 {
		return Session{}, ErrNoSession
	}
	m, err := s.rdb.HGetAll(ctx, s.key(id)).Result()
	if err != nil {
		return Session{}, fmt.Errorf("read session: %w", err)
	}
	return s.parse(m)
}

// parse reads a session's hash: ErrNoSession if it is gone or past its
// absolute lifetime.
func (s *Sessions) parse(m map[string]string) (Session, error) {
	created, _ := strconv.ParseInt(m["created"], 10, 64)
	sess := Session{User: m["user"], Cred: m["cred"], Created: time.UnixMilli(created)}
	if sess.User == "" || s.tooOld(sess) {
		return Session{}, ErrNoSession
	}
	return sess, nil
}

// tooOld reports whether sess is past its absolute lifetime.
func (s *Sessions) tooOld(sess Session) bool {
	return time.Since(sess.Created) > s.max
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
