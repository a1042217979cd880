package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// Get extends a session's idle timeout (in the same round trip as its
// read), Peek does not, and a session past its absolute lifetime, or
// unknown, is no session and leaves nothing behind.
func TestSessionsIdleAndLifetime(t *testing.T) {
	r := redistest.New(t)
	ctx := context.Background()
	s := NewSessions(r.Client, r.Prefix+"sess:", time.Hour, 24*time.Hour)
	id, err := s.Create(ctx, "anna", "v1")
	if err != nil {
		t.Fatal(err)
	}
	k := s.key(id)
	r.Client.Expire(ctx, k, time.Minute)
	if sess, err := s.Peek(ctx, id); err != nil || sess.User != "anna" || sess.Cred != "v1" {
		t.Fatalf("Peek = %+v, %v", sess, err)
	}
	if ttl := r.Client.TTL(ctx, k).Val(); ttl > time.Minute {
		t.Errorf("TTL after Peek %v: a peek must not extend the session", ttl)
	}
	if sess, err := s.Get(ctx, id); err != nil || sess.User != "anna" {
		t.Fatalf("Get = %+v, %v", sess, err)
	}
	if ttl := r.Client.TTL(ctx, k).Val(); ttl < 59*time.Minute {
		t.Errorf("TTL after Get %v, want the idle timeout again (1h)", ttl)
	}

	// Past its absolute lifetime: ended, and deleted.
	r.Client.HSet(ctx, k, "created", time.Now().Add(-25*time.Hour).UnixMilli())
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrNoSession) {
		t.Fatalf("Get of an old session: %v, want ErrNoSession", err)
	}
	if n := r.Client.Exists(ctx, k).Val(); n != 0 {
		t.Error("a session past its lifetime is still in Redis")
	}

	// Unknown or malformed ids: no session, and no key made by the EXPIRE.
	for _, bad := range []string{"", "no-such-session", string(make([]byte, 101))} {
		if _, err := s.Get(ctx, bad); !errors.Is(err, ErrNoSession) {
			t.Errorf("Get(%q): %v, want ErrNoSession", bad, err)
		}
	}
	if keys := r.Keys(t); len(keys) != 0 {
		t.Errorf("keys left: %v", keys)
	}
}
