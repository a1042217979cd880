// Command advicechat-load plays many visitors and advisors over real
// WebSockets against one or more advicechat instances on this machine,
// and checks the delivery guarantee for every message: each acked message
// reaches the other side exactly once, in order (docs/delivery.md).
//
//	advicechat-load -targets http://127.0.0.1:8080,http://127.0.0.1:8081 \
//	    -advisor anna:PASSWORD -advisor bram:PASSWORD -rate 10 -duration 30s
//
// It stops by itself after -duration or -conversations, plus at most
// -drain for the conversations to end, and exits with status 1 if any
// message was lost, duplicated or out of order.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// advisorFlags collects repeated -advisor flags.
type advisorFlags []Advisor

func (f *advisorFlags) String() string { return "" }

func (f *advisorFlags) Set(s string) error {
	a, err := parseAdvisor(s)
	if err != nil {
		return err
	}
	*f = append(*f, a)
	return nil
}

// parseFlags turns the command line and environment into a Config.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (Config, bool, bool, error) {
	fs := flag.NewFlagSet("advicechat-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       Config
		advisors  advisorFlags
		targets   = fs.String("targets", "http://127.0.0.1:8080", "comma-separated base `URLs` of the instances; loopback only")
		file      = fs.String("advisors-file", "", "`file` of NAME:PASSWORD[:totp=SECRET] lines")
		prefix    = fs.String("advisor-prefix", "", "log in as PREFIX1 ... PREFIXn (n from -advisors) with the password in $ADVICECHAT_LOAD_PASSWORD")
		count     = fs.Int("advisors", 0, "with -advisor-prefix: how many advisors")
		accounts  = fs.String("accounts", "", "accounts `file` to take TOTP secrets (totp_secret) from")
		jsonOut   = fs.Bool("json", false, "print the report as JSON")
		verbose   = fs.Bool("v", false, "log connection errors to stderr")
		audienceF = fs.String("audience", "public", "audience of the conversations: public or professional")
	)
	fs.Var(&advisors, "advisor", "an advisor to log in as, `NAME:PASSWORD[:totp=SECRET]` (repeat; also $ADVICECHAT_LOAD_ADVISORS, one per line)")
	fs.IntVar(&cfg.Conversations, "conversations", 100, "conversations to start in all (0: as many as -duration allows)")
	fs.Float64Var(&cfg.Rate, "rate", 5, "conversations started per second")
	fs.IntVar(&cfg.Messages, "messages", 5, "messages per conversation per side")
	fs.DurationVar(&cfg.Interval, "interval", 200e6, "time between a visitor's messages")
	fs.DurationVar(&cfg.Think, "think", 0, "time an advisor takes to answer")
	fs.Float64Var(&cfg.VisitorEnds, "visitor-ends", 0.3, "fraction of conversations the visitor ends (the advisor ends the rest)")
	fs.DurationVar(&cfg.ReconnectEvery, "reconnect-every", 0, "mean time between random connection drops per client (0: none)")
	fs.Float64Var(&cfg.ReconnectProb, "reconnect-prob", 0, "chance of dropping the connection right after sending a message")
	fs.DurationVar(&cfg.Backoff, "backoff", 100e6, "first reconnect delay after a failed attempt (doubles up to 2s)")
	fs.DurationVar(&cfg.Duration, "duration", 60e9, "stop starting conversations after this long")
	fs.DurationVar(&cfg.Drain, "drain", 30e9, "after the last start, wait at most this long for conversations to end")
	fs.BoolVar(&cfg.SpreadSources, "spread-sources", true, "connect each visitor from its own loopback address (127.1.x.y), as distinct people")
	fs.Int64Var(&cfg.Seed, "seed", 0, "random seed (0: from the clock)")
	if err := fs.Parse(args); err != nil {
		return cfg, false, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.Audience = *audienceF
	for t := range strings.SplitSeq(*targets, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Targets = append(cfg.Targets, t)
		}
	}
	for _, t := range cfg.Targets {
		if _, err := checkTarget(t); err != nil {
			return cfg, false, false, fmt.Errorf("-targets: %w", err)
		}
	}
	cfg.Advisors = advisors
	if env := getenv("ADVICECHAT_LOAD_ADVISORS"); env != "" {
		as, err := parseAdvisorList(env)
		if err != nil {
			return cfg, false, false, fmt.Errorf("ADVICECHAT_LOAD_ADVISORS: %w", err)
		}
		cfg.Advisors = append(cfg.Advisors, as...)
	}
	if *file != "" {
		as, err := readAdvisorsFile(*file)
		if err != nil {
			return cfg, false, false, err
		}
		cfg.Advisors = append(cfg.Advisors, as...)
	}
	if *prefix != "" || *count > 0 {
		pw := getenv("ADVICECHAT_LOAD_PASSWORD")
		if *prefix == "" || *count <= 0 || pw == "" {
			return cfg, false, false, errors.New("-advisor-prefix and -advisors go together, with the password in ADVICECHAT_LOAD_PASSWORD")
		}
		for i := 1; i <= *count; i++ {
			cfg.Advisors = append(cfg.Advisors, Advisor{Name: fmt.Sprintf("%s%d", *prefix, i), Password: pw})
		}
	}
	if *accounts != "" {
		if err := TOTPFromAccounts(*accounts, cfg.Advisors); err != nil {
			return cfg, false, false, err
		}
	}
	if *verbose {
		cfg.Log = func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) }
	}
	return cfg, *jsonOut, *verbose, nil
}

// run is the whole command: 0 all held, 1 a violation (or acked messages
// left unverified), 2 a usage error or a run that could not start.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, jsonOut, _, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "advicechat-load: %v\n", err)
		return 2
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "advicechat-load: %v\n", err)
		return 2
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.WriteText(stdout)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}
