package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// metricName finds metric names in PromQL and in the rules' annotations.
// Names Prometheus makes itself (up, scrape_*) are not the service's.
var metricName = regexp.MustCompile(`\b(?:advicechat|process|go)_[a-z0-9_]+\b`)

type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []struct {
			Alert         string            `json:"alert,omitempty"`
			Record        string            `json:"record,omitempty"`
			Expr          string            `json:"expr"`
			For           string            `json:"for,omitempty"`
			KeepFiringFor string            `json:"keep_firing_for,omitempty"`
			Labels        map[string]string `json:"labels,omitempty"`
			Annotations   map[string]string `json:"annotations,omitempty"`
		} `json:"rules"`
	} `json:"groups"`
}

// usedInRules maps each metric name in rules.yaml to the alerts using it.
func usedInRules(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("prometheus/rules.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.UnmarshalStrict(b, &rf); err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	used := map[string][]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			text := r.Expr
			for _, a := range r.Annotations {
				text += "\n" + a
			}
			for _, m := range metricName.FindAllString(text, -1) {
				used[m] = append(used[m], "rule "+r.Alert+r.Record)
			}
		}
	}
	return used
}

type dashboard struct {
	UID    string  `json:"uid"`
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/dashboards/advicechat.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	return d
}

func dashboardExprs(d dashboard) map[string]string { // expr -> panel title
	exprs := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				exprs[tg.Expr] = p.Title
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return exprs
}

// Grafana's variables, as Prometheus would see them after Grafana.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// TestDashboardIsWellFormed: ids are unique, every query panel has the
// data source variable and a place, and every query is valid PromQL
// (promtool checks it as a recording rule).
func TestDashboardIsWellFormed(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard without uid or title")
	}
	ids := map[int]string{}
	for _, p := range d.Panels {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: bad gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q: data source %+v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}

	promtool := os.Getenv("PROMTOOL")
	if promtool == "" {
		promtool = "promtool"
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	i := 0
	for expr, title := range dashboardExprs(d) {
		i++
		q, _ := json.Marshal(grafanaVars.Replace(expr)) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "      - record: dashboard:query%d # %s\n        expr: %s\n", i, strings.ReplaceAll(title, "#", ""), q)
	}
	f := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(f, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput()
	if err != nil {
		t.Fatalf("a dashboard query is not valid PromQL: %v\n%s", err, out)
	}
}

// TestDeployFilesUseExportedMetrics starts the service as it runs in the
// deployments (ADVICECHAT_METRICS_ADDR), makes one of each event the
// dashboard and rules look at, and checks that every metric they name is a
// family the service exports.
func TestDeployFilesUseExportedMetrics(t *testing.T) {
	used := usedInRules(t)
	for expr, title := range dashboardExprs(readDashboard(t)) {
		for _, m := range metricName.FindAllString(expr, -1) {
			used[m] = append(used[m], "dashboard panel "+title)
		}
	}
	if len(used) == 0 {
		t.Fatal("no metric names found in the dashboard and rules")
	}

	bin := t.TempDir()
	build := func(dir, out string) string {
		t.Helper()
		path := filepath.Join(bin, out)
		cmd := exec.Command("go", "build", "-o", path, dir)
		cmd.Dir = ".."
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", dir, err, b)
		}
		return path
	}
	service := build("./cmd/advicechat", "advicechat")
	load := build("./cmd/advicechat-load", "advicechat-load")
	hc := filepath.Join(bin, "healthcheck")
	cmd := exec.Command("go", "build", "-o", hc, ".")
	cmd.Dir = "healthcheck"
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build healthcheck: %v\n%s", err, b)
	}

	addr, metricsAddr := freeAddr(t), freeAddr(t)
	svc := startService(t, service, addr, metricsAddr)

	// The public listener serves no /metrics when the metrics have their own.
	if code := get(t, "http://"+addr+"/metrics"); code != http.StatusNotFound {
		t.Errorf("public /metrics answered %d with ADVICECHAT_METRICS_ADDR set, want 404", code)
	}
	// The image's health check, against the real service.
	for _, path := range []string{"/readyz", "/healthz"} {
		c := exec.Command(hc, path)
		c.Env = []string{"ADVICECHAT_ADDR=" + addr}
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("healthcheck %s: %v\n%s", path, err, out)
		}
	}
	c := exec.Command(hc)
	c.Env = []string{"ADVICECHAT_ADDR=" + freeAddr(t)}
	if err := c.Run(); err == nil {
		t.Error("healthcheck against a closed port succeeded")
	}

	// A refused handshake, so advicechat_rejected_frames_total exists.
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/ws/visitor", nil)
	req.Header.Set("Origin", "http://elsewhere.invalid")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	// A few real conversations: connections, messages, a login, waits,
	// assignments, ends.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lc := exec.CommandContext(ctx, load, "-targets", "http://"+addr, "-advisor", "demo:"+svc.demoPassword,
		"-conversations", "2", "-rate", "4", "-messages", "2", "-interval", "50ms",
		"-duration", "10s", "-drain", "30s", "-spread-sources=false")
	if out, err := lc.CombinedOutput(); err != nil {
		t.Fatalf("load tool: %v\n%s", err, out)
	}

	families := scrapeFamilies(t, "http://"+metricsAddr+"/metrics")
	var missing []string
	for name, where := range used {
		if !exported(families, name) {
			slices.Sort(where)
			missing = append(missing, fmt.Sprintf("%s (used by %s)", name, strings.Join(slices.Compact(where), ", ")))
		}
	}
	slices.Sort(missing)
	t.Logf("%d metric names in the dashboard and rules, %d families exported", len(used), len(families))
	if len(missing) > 0 {
		t.Errorf("the deployment files use metrics the service does not export:\n  %s", strings.Join(missing, "\n  "))
	}

	// SIGTERM: the service stops within its shutdown bound, as the
	// chart's grace period assumes.
	svc.stop(t, 15*time.Second)
}

func TestExported(t *testing.T) {
	families := map[string]string{"a_seconds": "histogram", "b_total": "counter", "c": "summary"}
	for name, want := range map[string]bool{
		"a_seconds": true, "a_seconds_bucket": true, "a_seconds_sum": true, "a_seconds_count": true,
		"b_total": true, "b_total_count": false, "c_sum": true, "c_bucket": false,
		"offers_made_total": false,
	} {
		if got := exported(families, name); got != want {
			t.Errorf("exported(%q) = %v, want %v", name, got, want)
		}
	}
}

// exported tells whether name is a family of the scrape, or a histogram's
// or summary's _bucket, _sum or _count series.
func exported(families map[string]string, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if typ := families[base]; typ == "histogram" || (typ == "summary" && suffix != "_bucket") {
			return true
		}
	}
	return false
}

// scrapeFamilies reads the metric family names and types from the HELP and
// TYPE lines of a scrape.
func scrapeFamilies(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", url, resp.Status)
	}
	families := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "#" && (f[1] == "HELP" || f[1] == "TYPE") {
			if f[1] == "TYPE" && len(f) >= 4 {
				families[f[2]] = f[3]
			} else if _, ok := families[f[2]]; !ok {
				families[f[2]] = ""
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return families
}

type service struct {
	cmd          *exec.Cmd
	demoPassword string
	done         chan error
	out          *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var demoLine = regexp.MustCompile(`DEMO advisor .*password (\S+)`)

// startService runs the service on its embedded Redis with none of the
// caller's ADVICECHAT_* settings, and waits until it is ready.
func startService(t *testing.T, bin, addr, metricsAddr string) *service {
	t.Helper()
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "ADVICECHAT_") {
			env = append(env, e)
		}
	}
	env = append(env, "ADVICECHAT_ADDR="+addr, "ADVICECHAT_METRICS_ADDR="+metricsAddr,
		"ADVICECHAT_ACCOUNTS="+filepath.Join(t.TempDir(), "accounts.json"))
	s := &service{cmd: exec.Command(bin), done: make(chan error, 1), out: &lockedBuffer{}}
	s.cmd.Env = env
	s.cmd.Stderr = s.out
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(s.out, sc.Text())
			if m := demoLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	select {
	case s.demoPassword = <-found:
	case err := <-s.done:
		t.Fatalf("the service exited at start: %v\n%s", err, s.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the service did not start within 30s\n%s", s.out.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for get(t, "http://"+addr+"/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not ready within 10s\n%s", s.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

func (s *service) stop(t *testing.T, within time.Duration) {
	t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("the service exited with %v after SIGTERM\n%s", err, s.out.String())
		}
		t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(within):
		t.Errorf("the service did not stop within %v of SIGTERM", within)
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
