package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/advicechat/advicechat/chat"
)

func ioCopy(w io.Writer, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// dumpRedis returns every key under the test's prefix with its value,
// read according to its type.
func dumpRedis(t *testing.T, a *app) string {
	t.Helper()
	ctx := context.Background()
	rdb := a.Redis.Client
	var b strings.Builder
	for _, k := range a.Redis.Keys(t) {
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = rdb.Get(ctx, k).Result()
		case "hash":
			v, err = rdb.HGetAll(ctx, k).Result()
		case "set":
			v, err = rdb.SMembers(ctx, k).Result()
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "list":
			v, err = rdb.LRange(ctx, k, 0, -1).Result()
		case "stream":
			v, err = rdb.XRange(ctx, k, "-", "+").Result()
		case "none":
			continue // expired meanwhile
		default:
			t.Fatalf("key %s has unexpected type %s", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %v\n", k, typ, v)
	}
	return b.String()
}

// TestVisitorIdentifiersKeptOut runs a conversation whose requests carry
// unique canaries in every header that could identify a visitor, then
// reads every Redis key, the logs and the metrics: no canary may be there,
// nor the visitor's token.
func TestVisitorIdentifiersKeptOut(t *testing.T) {
	a := startApp(t, nil)
	adv, _ := onDutyAdvisor(t, a, "jan")

	canaries := map[string]string{
		"User-Agent":      "CanaryAgent/" + chat.NewID(),
		"X-Forwarded-For": "203.0.113.77",
		"X-Real-Ip":       "198.51.100.23",
		"Cookie":          "tracker=canary" + chat.NewID(),
		"Accept-Language": "nl-x-canary" + chat.NewID()[:8],
	}
	h := a.origin()
	for k, v := range canaries {
		h.Set(k, v)
	}
	// The page itself, fetched with the canaries.
	req, _ := http.NewRequest("GET", a.URL+"/", nil)
	req.Header = h.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = ioCopy(io.Discard, resp)

	v := dial(t, a.wsURL("/ws/visitor"), h)
	v.send(map[string]any{"type": "start", "audience": "public", "lang": "nl"})
	started := v.expectType("started")
	conv, token := started.str("conversation"), started.str("token")
	v.expect("active", isState("active"))
	adv.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" })
	exchange(t, v, adv, conv, "privacy")

	redisDump := dumpRedis(t, a)
	mresp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := new(strings.Builder)
	_, _ = ioCopy(metrics, mresp)
	logs := a.logs.String()

	forbidden := map[string]string{"token": token}
	for k, v := range canaries {
		forbidden[k] = v
	}
	for where, text := range map[string]string{"redis": redisDump, "logs": logs, "metrics": metrics.String()} {
		for what, c := range forbidden {
			if strings.Contains(text, c) {
				t.Errorf("%s contains the visitor's %s %q", where, what, c)
			}
		}
	}
	if strings.Contains(metrics.String(), conv) {
		t.Error("metrics contain a conversation id")
	}
	if strings.Contains(redisDump, "127.0.0.1") {
		t.Error("redis contains a client address")
	}
	// The token is stored only as its hash.
	if !strings.Contains(redisDump, fmt.Sprintf("%x", chat.HashToken(token))) {
		t.Error("redis lacks the token's hash: the test does not read what it should")
	}
}
