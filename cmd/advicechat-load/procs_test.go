package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

// appBin is the advicechat binary TestMain builds once for every test.
var appBin string

// TestMain builds the service once, runs the tests, and then checks that
// no test left a goroutine behind.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "advicechat-load-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	appBin = filepath.Join(dir, "advicechat")
	args := []string{"build", "-o", appBin}
	if os.Getenv("ADVICECHAT_LOAD_APP_RACE") != "" {
		args = append(args, "-race") // slower, and finds races in the server under faults
	}
	if out, err := exec.Command("go", append(args, "../advicechat")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build advicechat: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// soak is how long each fault test plays load: short by default, longer
// with ADVICECHAT_SOAK=60s (make soak).
func soak(tb testing.TB, def time.Duration) time.Duration {
	tb.Helper()
	v := os.Getenv("ADVICECHAT_SOAK")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		tb.Fatalf("ADVICECHAT_SOAK=%q is not a duration", v)
	}
	return d
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a process a test started; it is stopped by its PID.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

// startProc starts a process and stops it when the test ends, showing its
// output if the test failed.
func startProc(tb testing.TB, name string, env []string, bin string, args ...string) *proc {
	tb.Helper()
	p := &proc{name: name, logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() {
		p.stop(tb)
		if tb.Failed() {
			tb.Logf("--- output of %s (last 4 KiB):\n%s", name, tail(p.logs.String(), 4096))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, and SIGKILL if the process is still there after a
// bound.
func (p *proc) stop(tb testing.TB) {
	tb.Helper()
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		tb.Errorf("%s (pid %d) did not stop on SIGTERM; killing it", p.name, p.cmd.Process.Pid)
		p.kill(tb)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(tb testing.TB) {
	tb.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		tb.Fatalf("%s (pid %d) survived SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// baseEnv is the test process's environment without any ADVICECHAT_
// variable, so the user's settings do not leak into the processes.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ADVICECHAT_") {
			env = append(env, kv)
		}
	}
	return env
}

// redisServer is a redis-server process of the test's own.
type redisServer struct {
	*proc
	Port   int
	URL    string
	Client *redis.Client
}

// startRedis starts redis-server on a free port, with nothing on disk.
func startRedis(tb testing.TB, extra ...string) *redisServer {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server is not installed (apt-get install redis-server; CI installs it)")
	}
	port := freePort(tb)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tb.TempDir()}, extra...)
	r := &redisServer{Port: port, URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port)}
	r.proc = startProc(tb, fmt.Sprintf("redis-server :%d", port), baseEnv(), bin, args...)
	r.Client = redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	tb.Cleanup(func() { r.Client.Close() })
	waitFor(tb, 10*time.Second, "redis-server :"+strconv.Itoa(port)+" to answer", func() bool {
		if r.exited() {
			tb.Fatalf("redis-server exited:\n%s", r.logs.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		return r.Client.Ping(ctx).Err() == nil
	})
	return r
}

// waitFor polls cond until it is true, failing the test after limit: a
// bound for a broken setup, not a timing assertion.
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// instance is one advicechat process.
type instance struct {
	*proc
	URL string
}

// deployment is a set of instances sharing one Redis and accounts file.
type deployment struct {
	tb       testing.TB
	env      map[string]string
	accounts string
	apps     []*instance
}

// newDeployment prepares instances on redisURL with a key prefix of
// their own; start them with start.
func newDeployment(tb testing.TB, redisURL string) *deployment {
	tb.Helper()
	dir := tb.TempDir()
	d := &deployment{tb: tb, accounts: filepath.Join(dir, "accounts.json")}
	d.env = map[string]string{
		"ADVICECHAT_REDIS_URL":        redisURL,
		"ADVICECHAT_KEY_PREFIX":       "load:",
		"ADVICECHAT_ACCOUNTS":         d.accounts,
		"ADVICECHAT_ADVISOR_GRACE":    "30s",
		"ADVICECHAT_LOG_LEVEL":        "warn",
		"ADVICECHAT_SHUTDOWN_TIMEOUT": "5s",
	}
	return d
}

func (d *deployment) environ(extra map[string]string) []string {
	env := baseEnv()
	for k, v := range d.env {
		env = append(env, k+"="+v)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// start starts n instances and waits until each is ready.
func (d *deployment) start(n int) {
	d.tb.Helper()
	for range n {
		port := freePort(d.tb)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		a := &instance{URL: "http://" + addr}
		a.proc = startProc(d.tb, "advicechat "+addr, d.environ(map[string]string{"ADVICECHAT_ADDR": addr}), appBin)
		d.apps = append(d.apps, a)
	}
	for _, a := range d.apps {
		d.waitReady(a)
	}
}

func (d *deployment) waitReady(a *instance) {
	d.tb.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	waitFor(d.tb, 30*time.Second, a.name+" to be ready", func() bool {
		if a.exited() {
			d.tb.Fatalf("%s exited:\n%s", a.name, a.logs.String())
		}
		resp, err := hc.Get(a.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (d *deployment) targets() []string {
	var t []string
	for _, a := range d.apps {
		t = append(t, a.URL)
	}
	return t
}

// addAdvisors creates n accounts with the advisor command (with a TOTP
// second factor when the command offers it) and returns them ready for
// Config.Advisors.
func (d *deployment) addAdvisors(prefix string, n int, flags ...string) []Advisor {
	d.tb.Helper()
	const password = "correct horse battery staple"
	help, _ := exec.Command(appBin, "advisor", "add", "-h").CombinedOutput()
	withTOTP := bytes.Contains(help, []byte("-totp"))
	var as []Advisor
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("%s%d", prefix, i)
		args := []string{"advisor", "add", "-password-stdin"}
		if withTOTP {
			args = append(args, "-totp")
		}
		args = append(append(args, flags...), name)
		cmd := exec.Command(appBin, args...)
		cmd.Env = d.environ(nil)
		cmd.Stdin = strings.NewReader(password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			d.tb.Fatalf("advicechat advisor add %s: %v\n%s", name, err, out)
		}
		as = append(as, Advisor{Name: name, Password: password})
	}
	if err := TOTPFromAccounts(d.accounts, as); err != nil {
		d.tb.Fatal(err)
	}
	return as
}
