package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
	"github.com/advicechat/advicechat/web"
	"github.com/advicechat/advicechat/web/protocol"
)

// sample is one line of a scrape: a name, its labels and the value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseScrape reads the samples of a Prometheus text scrape.
func parseScrape(t *testing.T, body string) []sample {
	t.Helper()
	var out []sample
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			t.Fatalf("scrape line without a value: %q", line)
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			t.Fatalf("scrape line %q: %v", line, err)
		}
		s := sample{name: line[:sp], labels: map[string]string{}, value: v}
		if i := strings.IndexByte(s.name, '{'); i >= 0 {
			for pair := range strings.SplitSeq(strings.TrimSuffix(s.name[i+1:], "}"), `",`) {
				k, val, _ := strings.Cut(pair, "=")
				s.labels[k] = strings.Trim(val, `"`)
			}
			s.name = s.name[:i]
		}
		out = append(out, s)
	}
	return out
}

// find returns the samples of name whose labels include want.
func find(samples []sample, name string, want map[string]string) []sample {
	var out []sample
	for _, s := range samples {
		if s.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if s.labels[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// one returns the value of the single sample name{want...}, failing the
// test if there is none or several.
func one(t *testing.T, samples []sample, name string, want map[string]string) float64 {
	t.Helper()
	got := find(samples, name, want)
	if len(got) != 1 {
		t.Errorf("%s%v: %d series, want 1", name, want, len(got))
		return -1
	}
	return got[0].value
}

func scrapeURL(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return string(b)
}

func metricsURLOf(t *testing.T, a *app) string {
	t.Helper()
	for line := range strings.Lines(a.logs.String()) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "advicechat metrics on "); ok {
			return rest
		}
	}
	t.Fatalf("no metrics address printed:\n%s", a.logs.String())
	return ""
}

// TestOperatorMetrics scrapes a running instance's metrics listener as
// Prometheus would: the series alerts need exist before their first event,
// and after a scripted conversation the request, Redis, routing and chat
// series say what happened, labelled by route pattern and command name,
// never by a path, an id or a name.
func TestOperatorMetrics(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_METRICS_ADDR": "127.0.0.1:0"})
	murl := metricsURLOf(t, a)

	// Before anything happened.
	before := parseScrape(t, scrapeURL(t, murl))
	for _, by := range []string{"visitor", "advisor", "blocked"} {
		if v := one(t, before, "advicechat_conversations_ended_total", map[string]string{"by": by}); v != 0 {
			t.Errorf("ended{by=%s} = %v at start, want 0", by, v)
		}
	}
	for _, role := range []string{"visitor", "advisor"} {
		if v := one(t, before, "advicechat_messages_total", map[string]string{"role": role}); v != 0 {
			t.Errorf("messages{role=%s} = %v at start, want 0", role, v)
		}
	}
	for _, tag := range web.DefaultOutcomeTags {
		if v := one(t, before, "advicechat_outcomes_total", map[string]string{"tag": tag}); v != 0 {
			t.Errorf("outcomes{tag=%s} = %v at start, want 0", tag, v)
		}
	}
	for _, o := range []string{"accepted", "expired", "withdrawn"} {
		one(t, before, "advicechat_offers_total", map[string]string{"outcome": o})
	}
	if v := one(t, before, "advicechat_build_info", map[string]string{"version": version, "goversion": runtime.Version()}); v != 1 {
		t.Errorf("advicechat_build_info = %v, want 1", v)
	}
	if got := find(before, "advicechat_build_info", nil); len(got) == 1 && got[0].labels["revision"] == "" {
		t.Error("advicechat_build_info has an empty revision")
	}
	for _, gone := range []string{"advicechat_offers_made_total", "advicechat_assign_duration_seconds_count"} {
		if got := find(before, gone, nil); len(got) > 0 {
			t.Errorf("%s is still exported", gone)
		}
	}

	// A conversation: login, both sides write, the advisor ends it with
	// an outcome tag; a health check and a path no route has.
	adv, _ := onDutyAdvisor(t, a, "jan", "-max", "2")
	v, conv, token := activeConversation(t, a, adv)
	exchange(t, v, adv, conv, "m1")
	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: conv, Tags: []string{"advice-given"}})
	v.expect("ended", isEntry(conv, "ended"))
	for _, p := range []string{"/readyz", "/readyz", "/no/such/page-" + conv} {
		resp, err := http.Get(a.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	var after []sample
	deadline := time.Now().Add(waitTimeout)
	for {
		after = parseScrape(t, scrapeURL(t, murl))
		if len(find(after, "advicechat_outcomes_total", map[string]string{"tag": "advice-given"})) == 1 &&
			find(after, "advicechat_outcomes_total", map[string]string{"tag": "advice-given"})[0].value == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the advisor's end was not counted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, want := range map[string]struct {
		labels map[string]string
		value  float64
	}{
		"advicechat_messages_total/visitor":                     {map[string]string{"role": "visitor"}, 1},
		"advicechat_messages_total/advisor":                     {map[string]string{"role": "advisor"}, 1},
		"advicechat_conversations_ended_total/adv":              {map[string]string{"by": "advisor"}, 1},
		"advicechat_conversations_ended_total/vis":              {map[string]string{"by": "visitor"}, 0},
		"advicechat_outcomes_total/referral-made":               {map[string]string{"tag": "referral-made"}, 0},
		"advicechat_http_requests_total/readyz":                 {map[string]string{"route": "/readyz", "status": "200"}, 2},
		"advicechat_http_requests_total/login":                  {map[string]string{"route": "/advisor/login", "status": "303"}, 1},
		"advicechat_http_requests_total/no route":               {map[string]string{"route": "(no route)", "status": "404"}, 1},
		"advicechat_http_request_duration_seconds_count/readyz": {map[string]string{"route": "/readyz", "status": "200"}, 2},
		"advicechat_redis_errors_total/evalsha":                 {map[string]string{"command": "evalsha"}, 0},
	} {
		metric, _, _ := strings.Cut(name, "/")
		if got := one(t, after, metric, want.labels); got != want.value {
			t.Errorf("%s%v = %v, want %v", metric, want.labels, got, want.value)
		}
	}
	// WebSocket routes are counted, at the handshake, but never timed.
	if got := find(after, "advicechat_http_request_duration_seconds_count", map[string]string{"route": "/ws/visitor"}); len(got) != 0 {
		t.Errorf("a WebSocket route is in the latency histogram: %v", got)
	}
	if n := one(t, after, "advicechat_redis_command_duration_seconds_count", map[string]string{"command": "evalsha"}); n < 3 {
		t.Errorf("%v evalsha commands timed, want the scripts of a whole conversation (at least 3)", n)
	}
	if n := one(t, after, "advicechat_routing_round_duration_seconds_count", nil); n < 1 {
		t.Errorf("%v routing rounds, want at least the one that assigned the conversation", n)
	}
	// Labels are patterns, commands and roles: no path, id, token or name.
	for _, s := range after {
		for k, lv := range s.labels {
			for _, secret := range []string{conv, token, "jan", "/no/such"} {
				if strings.Contains(lv, secret) {
					t.Errorf("%s has label %s=%q, which carries %q", s.name, k, lv, secret)
				}
			}
		}
	}
}

// TestRedisHook: the hook times every command and counts the failures
// that say something about Redis, by command name only; a nil reply, a
// caller gone away and a script not cached yet are not failures.
func TestRedisHook(t *testing.T) {
	r := redistest.New(t)
	reg := prometheus.NewRegistry()
	opts, err := redis.ParseURL(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	rdb.AddHook(newRedisMetrics(reg))
	ctx := context.Background()

	key := r.Prefix + "hook"
	if err := rdb.Set(ctx, key, "text", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, r.Prefix+"missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET missing = %v, want redis.Nil", err)
	}
	if err := rdb.Incr(ctx, key).Err(); err == nil {
		t.Fatal("INCR of a text succeeded")
	}
	pipe := rdb.Pipeline()
	pipe.Get(ctx, key)
	pipe.HGet(ctx, key, "f") // wrong type
	if _, err := pipe.Exec(ctx); err == nil {
		t.Fatal("pipeline with a wrong-type command succeeded")
	}
	script := redis.NewScript(`return KEYS[1] .. "` + strconv.FormatInt(time.Now().UnixNano(), 10) + `"`)
	if err := script.Run(ctx, rdb, []string{key}).Err(); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_ = rdb.Get(cancelled, key).Err()

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	errs, counts := map[string]float64{}, map[string]uint64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			cmd := ""
			for _, l := range m.GetLabel() {
				if l.GetName() != "command" {
					t.Errorf("%s has label %s", f.GetName(), l.GetName())
				}
				cmd = l.GetValue()
			}
			switch f.GetName() {
			case "advicechat_redis_errors_total":
				errs[cmd] = m.GetCounter().GetValue()
			case "advicechat_redis_command_duration_seconds":
				counts[cmd] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	for cmd, want := range map[string]float64{"set": 0, "get": 0, "incr": 1, "hget": 1, "pipeline": 0, "evalsha": 0, "eval": 0} {
		if errs[cmd] != want {
			t.Errorf("errors{command=%s} = %v, want %v", cmd, errs[cmd], want)
		}
	}
	// go-redis sets up each new connection with a pipeline of its own.
	if counts["pipeline"] < 1 {
		t.Errorf("the pipeline was not timed")
	}
	for cmd, want := range map[string]uint64{"set": 1, "incr": 1, "evalsha": 1, "eval": 1} {
		if counts[cmd] != want {
			t.Errorf("duration{command=%s} has %d samples, want %d", cmd, counts[cmd], want)
		}
	}
	if counts["get"] < 1 {
		t.Errorf("GET not timed")
	}
	for cmd := range counts {
		if strings.Contains(cmd, r.Prefix) || strings.Contains(cmd, "text") {
			t.Errorf("command label %q carries a key or a value", cmd)
		}
	}

	// A Redis that does not answer: the error is counted.
	dreg := prometheus.NewRegistry()
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer down.Close()
	down.AddHook(newRedisMetrics(dreg))
	if err := down.Ping(ctx).Err(); err == nil {
		t.Fatal("PING of a closed port succeeded")
	}
	if got := counterValue(t, dreg, "advicechat_redis_errors_total", "ping"); got != 1 {
		t.Errorf("errors{command=ping} = %v after a failed PING, want 1", got)
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name, cmd string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == cmd {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}
