// Command advicechat-bench measures advicechat against a bare
// coder/websocket relay in one run, on this machine: relay throughput in a
// closed loop, admission of waiting visitors, open-loop latency, memory
// per idle socket, Redis commands and CPU per message. It builds the
// service, starts it on a redis-server of its own and the relay as a
// process of its own, and prints a table with each figure and its ratio to
// the relay's. See docs/performance.md.
//
//	advicechat-bench [-short] [-only relay,cost,admission,openloop,idle] [-out FILE] [-svg FILE]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// phases are the parts of a run, in the order they run.
var phases = []string{"idle", "admission", "relay", "cost", "openloop"}

// sizes are what one run measures.
type sizes struct {
	pairs      []int     // closed loop
	costPairs  int       // Redis commands and CPU per message
	admitN     []int     // waiting visitors
	admitA     []int     // free advisors
	openPairs  int       // open loop
	openRates  []float64 // messages a second per pair
	idle       []int     // idle sockets
	idleStep   int
	warm, dur  time.Duration
	openDur    time.Duration
	accountsTo int
}

func fullSizes() sizes {
	return sizes{
		pairs: []int{10, 100, 1000}, costPairs: 100,
		admitN: []int{100, 1000, 5000}, admitA: []int{5, 50, 200},
		openPairs: 1000, openRates: []float64{0.2, 1, 4, 8, 12, 16},
		idle: []int{2000, 5000}, idleStep: 250,
		warm: time.Second, dur: 5 * time.Second, openDur: 10 * time.Second,
		accountsTo: 200,
	}
}

func shortSizes() sizes {
	return sizes{
		pairs: []int{2, 5}, costPairs: 3,
		admitN: []int{10}, admitA: []int{1},
		openPairs: 4, openRates: []float64{4},
		idle: []int{20, 40}, idleStep: 10,
		warm: 200 * time.Millisecond, dur: 700 * time.Millisecond, openDur: time.Second,
		accountsTo: 1,
	}
}

type options struct {
	short      bool
	only       []string
	out        string
	svg        string
	appBin     string
	redisBin   string
	cpuprofile string
	// centrifugo, when set, is a Centrifugo binary to run as the peer
	// (make bench builds CentrifugoVersion).
	centrifugo string
	log        io.Writer
	// Sizes instead of the defaults, when set.
	pairs, admitN, admitA []int
}

// ints reads a comma-separated list of numbers of at least 1.
func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a number of at least 1", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	short := flag.Bool("short", false, "tiny sizes, a few seconds: a smoke run")
	only := flag.String("only", "", "comma-separated phases to run, from "+strings.Join(phases, ",")+" (default all)")
	out := flag.String("out", "", "also write the table (Markdown) to this file")
	svg := flag.String("svg", "", "write the plot of admission time and per-change cost against queue length (SVG) to this file")
	appBin := flag.String("app", "", "advicechat binary to measure (default: build ./cmd/advicechat)")
	redisBin := flag.String("redis-server", "redis-server", "redis-server to start")
	cpuprofile := flag.String("cpuprofile", "", "write the service's CPU profile of the whole run to this file")
	cf := flag.String("centrifugo", "", "Centrifugo binary to measure as the peer, on a Redis engine of its own with history on (make bench builds "+CentrifugoVersion+"); unset: the relay alone")
	pairs := flag.String("pairs", "", "closed-loop pairs, comma-separated (default 10,100,1000)")
	admitN := flag.String("admit-visitors", "", "admission: visitors starting at once, comma-separated (default 100,1000,5000)")
	admitA := flag.String("admit-advisors", "", "admission: free advisors, comma-separated (default 5,50,200)")
	flag.Parse()
	if addr := os.Getenv(relayEnv); addr != "" {
		if err := serveRelay(addr); err != nil {
			fmt.Fprintln(os.Stderr, "relay:", err)
			os.Exit(1)
		}
		return
	}
	var err error
	o := options{short: *short, out: *out, svg: *svg, appBin: *appBin, redisBin: *redisBin, cpuprofile: *cpuprofile, centrifugo: *cf, log: os.Stderr}
	if *only != "" {
		for _, p := range strings.Split(*only, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(phases, p) {
				fmt.Fprintf(os.Stderr, "advicechat-bench: -only: unknown phase %q (known: %s)\n", p, strings.Join(phases, ", "))
				os.Exit(2)
			}
			o.only = append(o.only, p)
		}
	}
	for _, l := range []struct {
		flag, v string
		dst     *[]int
	}{{"pairs", *pairs, &o.pairs}, {"admit-visitors", *admitN, &o.admitN}, {"admit-advisors", *admitA, &o.admitA}} {
		if l.v == "" {
			continue
		}
		if *l.dst, err = ints(l.v); err != nil {
			fmt.Fprintf(os.Stderr, "advicechat-bench: -%s: %v\n", l.flag, err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o)
	if res != nil {
		fmt.Print(res.markdown())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "advicechat-bench:", err)
		os.Exit(1)
	}
}

// raiseFileLimit lifts the soft limit of open files to the hard one:
// thousands of sockets, and the processes the tool starts inherit it.
func raiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	l.Cur = l.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	return l.Cur, nil
}

func (o options) wants(phase string) bool { return len(o.only) == 0 || slices.Contains(o.only, phase) }

func (o options) logf(format string, a ...any) {
	fmt.Fprintf(o.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// run is the whole benchmark; the results so far come back with an error.
func run(ctx context.Context, o options) (*results, error) {
	sz := fullSizes()
	if o.short {
		sz = shortSizes()
	}
	if o.pairs != nil {
		sz.pairs = o.pairs
	}
	if o.admitN != nil {
		sz.admitN = o.admitN
	}
	if o.admitA != nil {
		sz.admitA = o.admitA
		sz.accountsTo = max(sz.accountsTo, slices.Max(o.admitA))
	}
	sz.accountsTo = max(sz.accountsTo, (slices.Max(append(sz.pairs, sz.openPairs, sz.costPairs))+19)/20)
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, fmt.Errorf("raise the open file limit: %w", err)
	}
	need := 2*slices.Max(append(sz.idle, sz.admitN...)) + 2*slices.Max(append(sz.pairs, sz.openPairs)) + 500
	if limit < uint64(need) {
		return nil, fmt.Errorf("the open file limit is %d, this run needs about %d (ulimit -Hn)", limit, need)
	}
	dir, err := os.MkdirTemp("", "advicechat-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := o.appBin
	if bin == "" {
		bin = filepath.Join(dir, "advicechat")
		o.logf("building advicechat")
		if out, err := exec.Command("go", "build", "-o", bin, "github.com/advicechat/advicechat/cmd/advicechat").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build advicechat: %v\n%s", err, out)
		}
	}
	if o.redisBin == "" {
		o.redisBin = "redis-server"
	}
	rds, err := startRedis(o.redisBin, dir)
	if err != nil {
		return nil, err
	}
	defer rds.stop()
	accountsFile := filepath.Join(dir, "accounts.json")
	o.logf("making %d advisor accounts", sz.accountsTo)
	accounts, err := makeAccounts(bin, appEnv("redis://"+rds.addr+"/0", accountsFile), accountsFile, sz.accountsTo)
	if err != nil {
		return nil, err
	}
	cpuprofile := o.cpuprofile
	if cpuprofile != "" {
		if cpuprofile, err = filepath.Abs(cpuprofile); err != nil {
			return nil, err
		}
	}
	a, err := startApp(bin, dir, rds, "")
	if err != nil {
		return nil, err
	}
	sys := &appSystem{app: a, accounts: accounts}
	defer func() { sys.app.stop() }()
	o.logf("logging %d advisors in", len(accounts))
	if err := sys.loginAll(ctx); err != nil {
		return nil, err
	}
	// A fresh process for the measurements: the logins' password hashing
	// leaves freed memory that new sockets would reuse unseen.
	sys.app.stop()
	if sys.app, err = startApp(bin, dir, rds, cpuprofile); err != nil {
		return nil, err
	}
	rl, err := startRelay()
	if err != nil {
		return nil, err
	}
	defer rl.stop()
	base := &relaySystem{r: rl}
	res := &results{sizes: sz, short: o.short}
	systems := []system{sys, base}
	if o.centrifugo != "" {
		o.logf("starting Centrifugo")
		cf, err := startCentrifugo(o.centrifugo, o.redisBin, dir)
		if err != nil {
			return nil, err
		}
		defer cf.stop()
		systems = append(systems, &centrifugoSystem{c: cf})
	}
	for _, phase := range phases {
		if !o.wants(phase) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var err error
		switch phase {
		case "idle":
			err = res.runIdle(ctx, o, sz, systems)
		case "admission":
			err = res.runAdmission(ctx, o, sz, systems)
		case "relay":
			err = res.runRelay(ctx, o, sz, systems)
		case "cost":
			err = res.runCost(ctx, o, sz, sys)
		case "openloop":
			err = res.runOpenLoop(ctx, o, sz, systems)
		}
		if err != nil {
			return res, fmt.Errorf("%s: %w", phase, err)
		}
	}
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(res.markdown()), 0o644); err != nil {
			return res, err
		}
	}
	if o.svg != "" && len(res.plot.admission) > 0 {
		if err := os.WriteFile(o.svg, []byte(res.plot.svg()), 0o644); err != nil {
			return res, err
		}
	}
	return res, nil
}
