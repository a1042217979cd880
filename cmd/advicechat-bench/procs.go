package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// proc is a process the tool started; it is stopped by its PID.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *tailBuffer
	done chan struct{}
}

// tailBuffer keeps the last bytes a process wrote, for an error message.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = append(t.b[:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func startProc(name string, env []string, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, logs: &tailBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process, and SIGKILL if it is still there
// after a bound.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// cpu is the process's user and system CPU time so far (/proc/PID/stat).
func (p *proc) cpu() (time.Duration, error) { return procCPU(p.pid()) }

// rss is the process's resident set size in bytes (/proc/PID/status).
func (p *proc) rss() (int64, error) { return procRSS(p.pid()) }

// clockTicks is USER_HZ, which /proc/PID/stat counts in; 100 on every
// Linux the tool runs on.
const clockTicks = 100

func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: fields count from
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state is field 3; utime and stime are 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat times")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

func procRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// baseEnv is the tool's environment without any ADVICECHAT_ variable, so
// the user's settings do not leak into the service it starts.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ADVICECHAT_") {
			env = append(env, kv)
		}
	}
	return env
}

// waitUntil polls cond every 20 ms until it holds or limit passes.
// waitListening waits until p accepts connections on addr.
func waitListening(p *proc, addr string, limit time.Duration) error {
	return waitUntil(limit, p.name+" to listen", func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("exited: %s", p.logs.String())
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	})
}

func waitUntil(limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisServer is the tool's own redis-server.
type redisServer struct {
	*proc
	addr   string
	client *redis.Client
}

func startRedis(bin, dir string) (*redisServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := startProc("redis-server "+addr, baseEnv(), bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--maxclients", "20000")
	if err != nil {
		return nil, err
	}
	r := &redisServer{proc: p, addr: addr, client: redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})}
	err = waitUntil(10*time.Second, "redis-server to answer", func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("exited: %s", p.logs.String())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		return r.client.Ping(ctx).Err() == nil, nil
	})
	if err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// stop ends the service; with a profile, SIGUSR1 first, and the profile
// is written before SIGTERM.
func (a *app) stop() {
	if a.profile != "" && !a.exited() {
		_ = a.cmd.Process.Signal(syscall.SIGUSR1)
		last := int64(-1)
		_ = waitUntil(10*time.Second, "the CPU profile", func() (bool, error) {
			st, err := os.Stat(a.profile)
			if err != nil || st.Size() == 0 || st.Size() != last {
				if err == nil {
					last = st.Size()
				}
				time.Sleep(100 * time.Millisecond)
				return false, nil
			}
			return true, nil
		})
	}
	a.proc.stop()
}

func (r *redisServer) stop() {
	if r == nil {
		return
	}
	r.client.Close()
	r.proc.stop()
}

// redisStats are Redis's command counts (INFO commandstats): every
// command, those run inside scripts included, the script runs among them,
// and the count by command.
type redisStats struct {
	calls   int64
	scripts int64
	by      map[string]int64
}

func (r *redisServer) stats(ctx context.Context) (redisStats, error) {
	s := redisStats{by: map[string]int64{}}
	info, err := r.client.Info(ctx, "commandstats").Result()
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		n, _ := strconv.ParseInt(calls, 10, 64)
		cmd := strings.TrimPrefix(name, "cmdstat_")
		switch cmd {
		case "info":
			continue // the tool's own
		case "evalsha", "eval", "evalsha_ro", "eval_ro", "fcall":
			s.scripts += n
		}
		s.calls += n
		s.by[cmd] = n
	}
	return s, nil
}

func (a redisStats) sub(b redisStats) redisStats {
	d := redisStats{calls: a.calls - b.calls, scripts: a.scripts - b.scripts, by: map[string]int64{}}
	for k, v := range a.by {
		if n := v - b.by[k]; n > 0 {
			d.by[k] = n
		}
	}
	return d
}

// perMessage lists the commands by count per message, most first.
func (a redisStats) perMessage(k float64) string {
	type kv struct {
		cmd string
		n   int64
	}
	var l []kv
	for c, n := range a.by {
		l = append(l, kv{c, n})
	}
	slices.SortFunc(l, func(x, y kv) int { return int(y.n - x.n) })
	var parts []string
	for _, x := range l {
		parts = append(parts, fmt.Sprintf("%s %.2g", x.cmd, float64(x.n)/k))
	}
	return strings.Join(parts, ", ")
}

// app is one advicechat process on its own Redis.
type app struct {
	*proc
	profile  string // the CPU profile it writes, if any
	url      string
	redis    *redisServer
	accounts string
	env      []string
	bin      string
}

// appEnv is the service's configuration for the benchmark: its message
// rate limit and size caps lifted (a benchmark sends far faster than a
// person types), and its per-client limits raised, since every client
// comes from this machine.
func appEnv(redisURL, accounts string) []string {
	return append(baseEnv(),
		"ADVICECHAT_REDIS_URL="+redisURL,
		"ADVICECHAT_ACCOUNTS="+accounts,
		"ADVICECHAT_KEY_PREFIX=bench:",
		"ADVICECHAT_LOG_LEVEL=warn",
		"ADVICECHAT_MESSAGE_RATE=0",
		"ADVICECHAT_MAX_ENTRIES=0",
		"ADVICECHAT_MAX_BYTES=0",
		"ADVICECHAT_STARTS_PER_CLIENT=1000",
		"ADVICECHAT_SOCKETS_PER_CLIENT=100000",
		"ADVICECHAT_BUSY_WAIT=0",
		"ADVICECHAT_MAX_WAIT=0",
		"ADVICECHAT_START_TIMEOUT=10m",
		"ADVICECHAT_ADVISOR_GRACE=2m",
		"ADVICECHAT_SHUTDOWN_TIMEOUT=5s",
	)
}

// startApp starts the service on r; cpuprofile, if set, is where the
// service writes a CPU profile of its whole run.
func startApp(bin, dir string, r *redisServer, cpuprofile string) (*app, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	a := &app{url: "http://" + addr, redis: r, accounts: filepath.Join(dir, "accounts.json"), bin: bin, profile: cpuprofile}
	a.env = appEnv("redis://"+r.addr+"/0", a.accounts)
	env := append(a.env, "ADVICECHAT_ADDR="+addr)
	if cpuprofile != "" {
		env = append(env, "ADVICECHAT_CPUPROFILE="+cpuprofile)
	}
	a.proc, err = startProc("advicechat "+addr, env, bin, "serve")
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	err = waitUntil(30*time.Second, "advicechat to be ready", func() (bool, error) {
		if a.exited() {
			return false, fmt.Errorf("exited: %s", a.logs.String())
		}
		resp, err := hc.Get(a.url + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		a.proc.stop()
		return nil, err
	}
	return a, nil
}
