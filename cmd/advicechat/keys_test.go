package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/protocol"
)

// indexKeys are the only keys that may live without a TTL: shared indexes
// that every conversation passes through and leaves (docs/routing.md).
// Each is matched on the part after the key prefix.
var indexKeys = regexp.MustCompile(`^\{rt\}:(q:[a-z_-]+|timers|seen|vseen|asgseq|handled|known|onduty|swept)$`)

// TestNoKeyOutlivesItsConversation runs a whole scenario (offers that
// expire and are accepted, ends by both sides, a visitor who leaves while
// waiting), waits out the retention, and scans every key: none still
// names an ended conversation in its name, members, fields or values, and
// every key without a TTL is one of the documented index keys.
func TestNoKeyOutlivesItsConversation(t *testing.T) {
	a := startApp(t, map[string]string{
		"ADVICECHAT_RETENTION":     "2s",
		"ADVICECHAT_VISITOR_GRACE": "1s",
		"ADVICECHAT_OFFER_TIMEOUT": "1s",
		"ADVICECHAT_MISSED_OFFERS": "100",
	})
	pw := a.addAdvisor(t, "anna")
	hc := a.login(t, "anna", pw)
	adv := a.advisor(t, hc, nil)
	adv.expectType(protocol.TypeStatus)
	on := true
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: &on})
	offered := func(conv string) func(frame) bool {
		return func(f frame) bool {
			return f.str("type") == protocol.TypeOffered && f.obj("conversation").str("id") == conv
		}
	}
	var convs []string

	// One offered, let run out, offered again and accepted; the advisor
	// ends it.
	v1, c1, _ := startConversation(t, a, "public")
	convs = append(convs, c1)
	adv.expect("first offer", offered(c1))
	adv.expect("offer expired", func(f frame) bool { return f.str("type") == protocol.TypeUnassigned && f.str("conversation") == c1 })
	adv.expect("offered again", offered(c1))
	adv.send(protocol.Target{Type: protocol.TypeAccept, Conversation: c1})
	v1.expect("active", isState("active"))
	exchange(t, v1, adv, c1, "one")
	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: c1, Tags: []string{"advice-given"}})
	v1.expect("ended", isState("ended"))

	// One accepted at once; the visitor ends it.
	v2, c2, _ := startConversation(t, a, "public")
	convs = append(convs, c2)
	adv.expect("offer", offered(c2))
	adv.send(protocol.Target{Type: protocol.TypeAccept, Conversation: c2})
	v2.expect("active", isState("active"))
	v2.send(protocol.End{Type: protocol.TypeEnd})
	v2.expect("ended", isState("ended"))

	// One whose visitor goes while it waits: abandoned after the grace.
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(bool)})
	adv.expect("off duty", func(f frame) bool { return f.str("type") == protocol.TypeStatus && f["duty"] == false })
	v3, c3, _ := startConversation(t, a, "public")
	convs = append(convs, c3)
	v3.expect("waiting", isState("waiting"))
	v3.conn.CloseNow()

	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := ""
		for _, k := range a.Redis.Keys(t) {
			for _, c := range convs {
				if strings.Contains(k, c) || strings.Contains(dumpKey(ctx, a, k), c) {
					left = k
				}
			}
		}
		if left == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after the ends with a 2s retention, %s still names an ended conversation: %s", left, dumpKey(ctx, a, left))
		}
		time.Sleep(100 * time.Millisecond) // waiting out the retention and the sweep
	}
	for _, k := range a.Redis.Keys(t) {
		ttl, err := a.Redis.Client.TTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(k, a.Redis.Prefix)
		if ttl == -1 && !indexKeys.MatchString(name) {
			t.Errorf("key %s has no TTL and is not one of the index keys", name)
		}
	}
}

// dumpKey is everything a key holds, as text, whatever its type.
func dumpKey(ctx context.Context, a *app, k string) string {
	c := a.Redis.Client
	switch c.Type(ctx, k).Val() {
	case "string":
		return c.Get(ctx, k).Val()
	case "hash":
		var b strings.Builder
		for f, v := range c.HGetAll(ctx, k).Val() {
			b.WriteString(f + "=" + v + " ")
		}
		return b.String()
	case "set":
		return strings.Join(c.SMembers(ctx, k).Val(), " ")
	case "zset":
		return strings.Join(c.ZRange(ctx, k, 0, -1).Val(), " ")
	case "list":
		return strings.Join(c.LRange(ctx, k, 0, -1).Val(), " ")
	case "stream":
		var b strings.Builder
		for _, m := range c.XRange(ctx, k, "-", "+").Val() {
			for f, v := range m.Values {
				b.WriteString(f + "=" + toString(v) + " ")
			}
		}
		return b.String()
	}
	return ""
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}
