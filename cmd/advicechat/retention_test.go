package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestEndedConversationIsDeleted: once a conversation ends, everything
// about it is gone from Redis within the configured retention, and while
// it lasts every key about it has a TTL.
func TestEndedConversationIsDeleted(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_RETENTION": "2s"})
	adv, _ := onDutyAdvisor(t, a, "lot")
	v, conv, _ := activeConversation(t, a, adv)
	exchange(t, v, adv, conv, "retention")

	ctx := context.Background()
	convKeys := func() []string {
		var out []string
		for _, k := range a.Redis.Keys(t) {
			if strings.Contains(k, conv) {
				out = append(out, k)
			}
		}
		return out
	}
	keys := convKeys()
	// Its meta hash (with the client ids), its stream, routing's record.
	if len(keys) < 3 {
		t.Fatalf("conversation keys = %v; the test does not see what it should", keys)
	}
	for _, k := range keys {
		if ttl := a.Redis.Client.TTL(ctx, k).Val(); ttl <= 0 || ttl > 12*time.Hour {
			t.Errorf("TTL(%s) = %s while open, want a TTL of at most 12h", k, ttl)
		}
	}

	v.send(protocol.End{Type: protocol.TypeEnd})
	v.expect("ended", isEntry(conv, "ended"))
	// The content's keys get the retention with the end itself; routing's
	// record of it follows a moment later, so only the wait below covers it.
	for _, k := range convKeys() {
		if !strings.Contains(k, "{c:") {
			continue
		}
		ttl, err := a.Redis.Client.TTL(ctx, k).Result()
		if err == nil && ttl == -2*time.Nanosecond {
			continue // expired already
		}
		if err != nil || ttl <= 0 || ttl > 2*time.Second {
			t.Errorf("TTL(%s) = %s, %v after the end, want at most the retention of 2s", k, ttl, err)
		}
	}
	// Wait (bounded) for the content to be gone.
	deadline := time.Now().Add(15 * time.Second)
	for len(convKeys()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("keys still there 15s after the end with a 2s retention: %v", convKeys())
		}
		time.Sleep(100 * time.Millisecond) // polling Redis, not waiting out a race
	}
	if dump := dumpRedis(t, a); dumpHolds(dump, "visitor retention") || dumpHolds(dump, "advisor retention") {
		t.Errorf("message text still in Redis after the retention:\n%s", dump)
	}
}
