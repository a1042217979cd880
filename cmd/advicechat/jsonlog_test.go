package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// runJSON runs the service with ADVICECHAT_LOG_FORMAT=json and env, and
// returns its stdout and stderr, the exit code's channel, and a stop.
func runJSON(t *testing.T, env map[string]string) (stdout, stderr *syncBuffer, done chan int, stop context.CancelFunc) {
	t.Helper()
	full := map[string]string{
		"ADVICECHAT_ADDR":       "127.0.0.1:0",
		"ADVICECHAT_ACCOUNTS":   filepath.Join(t.TempDir(), "accounts.json"),
		"ADVICECHAT_LOG_FORMAT": "json",
		"ADVICECHAT_LOG_LEVEL":  "debug",
	}
	for k, v := range env {
		full[k] = v
	}
	stdout, stderr, done = &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return full[k] }, strings.NewReader(""), stdout, stderr)
	}()
	t.Cleanup(cancel)
	return stdout, stderr, done, cancel
}

// jsonRecords checks that every line of out is a JSON log record (time,
// level, msg) and returns them.
func jsonRecords(t *testing.T, what, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for line := range strings.Lines(out) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Errorf("%s: a line that is not JSON: %q", what, line)
			continue
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%s: record without %q: %q", what, k, line)
			}
		}
		recs = append(recs, r)
	}
	return recs
}

// TestJSONLogs: in JSON mode everything the service writes, from the
// start-up banner (addresses, the demo advisor, the build) to the last
// line at shutdown, is one JSON record a line, on stdout and stderr.
func TestJSONLogs(t *testing.T) {
	t.Run("embedded demo", func(t *testing.T) {
		stdout, stderr, done, stop := runJSON(t, map[string]string{"ADVICECHAT_METRICS_ADDR": "127.0.0.1:0"})
		var listening map[string]any
		deadline := time.Now().Add(20 * time.Second)
		for listening == nil {
			for line := range strings.Lines(stdout.String()) {
				var r map[string]any
				if json.Unmarshal([]byte(line), &r) == nil && r["msg"] == "advicechat listening" {
					listening = r
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no listening record:\n%s%s", stdout.String(), stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		base, _ := listening["url"].(string)
		for _, p := range []string{"", "readyz", "no/such/page", "advisor"} {
			resp, err := http.Get(base + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		metrics, _ := listening["metrics"].(string)
		if resp, err := http.Get(metrics); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("metrics address %q of the record does not serve: %v", metrics, err)
		} else {
			resp.Body.Close()
		}
		stop()
		if code := <-done; code != 0 {
			t.Errorf("exit %d", code)
		}
		recs := jsonRecords(t, "stdout", stdout.String())
		jsonRecords(t, "stderr", stderr.String())
		for _, k := range []string{"url", "visitors", "advisors", "redis", "metrics", "version", "revision", "goversion"} {
			if s, _ := listening[k].(string); s == "" {
				t.Errorf("listening record without %s: %v", k, listening)
			}
		}
		if listening["goversion"] != runtime.Version() || listening["version"] != version {
			t.Errorf("listening record names build %v %v, want %s %s", listening["version"], listening["goversion"], version, runtime.Version())
		}
		var demo, stopped bool
		for _, r := range recs {
			if strings.HasPrefix(r["msg"].(string), "DEMO advisor") && r["username"] == "demo" && r["password"] != "" {
				demo = true
			}
			if r["msg"] == "stopped" {
				stopped = true
			}
		}
		if !demo || !stopped {
			t.Errorf("demo advisor record %v, stopped record %v; want both", demo, stopped)
		}
	})

	t.Run("redis does not answer", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		ln.Close()
		stdout, stderr, done, _ := runJSON(t, map[string]string{"ADVICECHAT_REDIS_URL": "redis://" + closed + "/0"})
		if code := <-done; code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		jsonRecords(t, "stdout", stdout.String())
		recs := jsonRecords(t, "stderr", stderr.String())
		if len(recs) == 0 || !strings.Contains(recs[len(recs)-1]["err"].(string), "ADVICECHAT_REDIS_URL") {
			t.Errorf("stderr does not say why it stopped: %q", stderr.String())
		}
	})

	t.Run("invalid configuration", func(t *testing.T) {
		stdout, stderr, done, _ := runJSON(t, map[string]string{"ADVICECHAT_RETENTION": "soon"})
		if code := <-done; code != 2 {
			t.Errorf("exit %d, want 2", code)
		}
		if stdout.String() != "" {
			t.Errorf("stdout: %q, want nothing", stdout.String())
		}
		recs := jsonRecords(t, "stderr", stderr.String())
		if len(recs) != 1 || !strings.Contains(recs[0]["err"].(string), "ADVICECHAT_RETENTION") {
			t.Errorf("stderr: %q, want one record naming ADVICECHAT_RETENTION", stderr.String())
		}
	})
}

// TestVersionCommand: `advicechat version` prints the stamped version,
// the revision and the Go version; it takes no arguments.
func TestVersionCommand(t *testing.T) {
	var out, errOut strings.Builder
	if code := run(context.Background(), []string{"version"}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("version = %d: %s", code, errOut.String())
	}
	b := currentBuild()
	want := "advicechat " + version + " (revision " + b.Revision + ", " + runtime.Version() + ")\n"
	if out.String() != want {
		t.Errorf("version printed %q, want %q", out.String(), want)
	}
	out.Reset()
	if code := run(context.Background(), []string{"version", "extra"}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); code != 2 || out.String() != "" {
		t.Errorf("version extra = %d, %q; want 2 and nothing printed", code, out.String())
	}
}
