package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// upgradeVersion is what the new build of TestFaultRollingUpgrade says it is.
const upgradeVersion = "9.9.9-upgrade"

// buildStamped builds the service with its version stamped in, as the
// Makefile and the Dockerfile do (without their -trimpath, so the build
// reuses what TestMain compiled and only links anew).
func buildStamped(t *testing.T, ver string) string {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("built %s in %v", ver, time.Since(start).Round(time.Millisecond)) }()
	bin := filepath.Join(t.TempDir(), "advicechat-"+ver)
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+ver+" -X main.revision=test", "-o", bin, "../advicechat")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", ver, err, out)
	}
	return bin
}

// metricsOf reads an instance's /metrics.
func metricsOf(t *testing.T, a *instance) string {
	t.Helper()
	resp, err := http.Get(a.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue is the value of the scrape line that starts with series.
func metricValue(scrape, series string) (float64, bool) {
	for line := range strings.Lines(scrape) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}

// upgrade replaces instance i as an operator's rolling upgrade does: SIGTERM
// (the instance closes its sockets with 1001 and stops within the
// shutdown bound), then the new build on the same address, until its
// /readyz answers. It returns how long the instance was away.
func (d *deployment) upgrade(t *testing.T, i int, bin string) (stopped, away time.Duration) {
	t.Helper()
	old := d.apps[i]
	addr := strings.TrimPrefix(old.URL, "http://")
	start := time.Now()
	if err := old.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", old.name, err)
	}
	select {
	case <-old.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop within 15 s of SIGTERM (shutdown bound 5 s)", old.name)
	}
	stopped = time.Since(start)
	if code := old.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("%s exited with %d after SIGTERM, want 0:\n%s", old.name, code, tail(old.logs.String(), 2048))
	}
	a := &instance{URL: old.URL}
	a.proc = startProc(t, "advicechat "+upgradeVersion+" "+addr, d.environ(map[string]string{"ADVICECHAT_ADDR": addr}), bin)
	d.apps[i] = a
	d.waitReady(a)
	return stopped, time.Since(start)
}

// TestFaultRollingUpgrade: two instances under load are upgraded one by
// one to a new build, as the runbook says (SIGTERM, graceful 1001
// shutdown, the new process on the same address, ready, then the next).
// No acked message may be lost, doubled or reordered and every
// conversation must end on both sides; the clients must have been moved
// by 1001 closes, not by lost connections; afterwards both instances run
// the new build and carry the conversations.
func TestFaultRollingUpgrade(t *testing.T) {
	t.Parallel()
	newBin := buildStamped(t, upgradeVersion)
	if out, err := exec.Command(newBin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "advicechat "+upgradeVersion+" (revision test, go") {
		t.Fatalf("new build's version = %q, %v; want %s", out, err, upgradeVersion)
	}
	r := startRedis(t)
	d := newDeployment(t, r.URL)
	d.start(2)
	for _, a := range d.apps {
		if b := buildInfo(t, metricsOf(t, a)); b["version"] != "dev" {
			t.Fatalf("%s reports build %v, want the old one (version dev)", a.name, b)
		}
	}
	dur := soak(t, 8*time.Second)
	cfg := loadFor(t, d.targets(), d.addAdvisors("adv", 4, "-max", "20"), dur)

	type result struct {
		rep Report
		err error
	}
	done := make(chan result, 1)
	started := time.Now()
	go func() {
		rep, err := Run(context.Background(), cfg)
		done <- result{rep, err}
	}()

	// The first instance at a quarter of the load, the second once the
	// first is back and has had clients for a while.
	time.Sleep(dur / 4)
	var stops, aways [2]time.Duration
	for i := range d.apps {
		if i > 0 {
			time.Sleep(time.Until(started.Add(dur * 5 / 8)))
		}
		t.Logf("upgrading %s at %v", d.apps[i].name, time.Since(started).Round(time.Millisecond))
		stops[i], aways[i] = d.upgrade(t, i, newBin)
		t.Logf("instance %d: stopped %v after SIGTERM, ready again %v after it", i+1, stops[i].Round(time.Millisecond), aways[i].Round(time.Millisecond))
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("Run: %v", res.err)
	}
	rep := res.rep
	checkGuarantee(t, rep)
	if rep.Errors["close_1001"] == 0 {
		t.Errorf("errors %v: no client saw a 1001 close, the upgrade did not move anyone", rep.Errors)
	}
	if rep.Errors["connection_lost"] != 0 {
		t.Errorf("errors %v: %d connections dropped without a close frame; a graceful shutdown closes every socket with 1001", rep.Errors, rep.Errors["connection_lost"])
	}

	// Both instances are the new build, and both carried conversations
	// after the upgrade.
	for _, a := range d.apps {
		m := metricsOf(t, a)
		if b := buildInfo(t, m); b["version"] != upgradeVersion || b["revision"] != "test" || !strings.HasPrefix(b["goversion"], "go") {
			t.Errorf("%s reports build %v, want version %s, revision test", a.name, b, upgradeVersion)
		}
		if v, _ := metricValue(m, `advicechat_messages_total{role="visitor"}`); v == 0 {
			t.Errorf("%s stored no visitor message after the upgrade", a.name)
		}
	}
	t.Logf("rolling upgrade: %d conversations, %d messages acked, %d delivered, %d retries, closes %v; instance 1 away %v, instance 2 away %v",
		rep.Conversations, rep.Acked, rep.Delivered, rep.Retries, rep.Errors, aways[0].Round(time.Millisecond), aways[1].Round(time.Millisecond))
}

// buildInfo reads the labels of advicechat_build_info from a scrape.
func buildInfo(t *testing.T, scrape string) map[string]string {
	t.Helper()
	for line := range strings.Lines(scrape) {
		rest, ok := strings.CutPrefix(line, "advicechat_build_info{")
		if !ok {
			continue
		}
		labels, _, _ := strings.Cut(rest, "}")
		out := map[string]string{}
		for pair := range strings.SplitSeq(labels, `",`) {
			k, v, _ := strings.Cut(pair, "=")
			out[k] = strings.Trim(v, `"`)
		}
		return out
	}
	t.Fatalf("no advicechat_build_info in the scrape")
	return nil
}
