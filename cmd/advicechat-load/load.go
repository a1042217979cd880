package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// runner is the state one Run shares among its clients.
type runner struct {
	cfg   Config
	chk   *Checker
	stats *stats
	totp  totpSteps
	// oneSource is set once binding to another loopback address failed
	// (not Linux): from then on everyone connects from the default one.
	oneSource atomic.Bool
}

// source is the address visitor idx connects to target from, or nil for
// the default.
func (r *runner) source(target string, idx int) net.IP {
	if !r.cfg.SpreadSources || r.oneSource.Load() {
		return nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
		return nil
	}
	return sourceAddr(idx)
}

// sourceFailed tells whether err is a failure to bind the source address,
// and if so stops spreading sources.
func (r *runner) sourceFailed(err error) bool {
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		return false
	}
	if !r.oneSource.Swap(true) {
		r.stats.err("source_bind_failed")
		r.logf("cannot connect from other loopback addresses (%v); all visitors use one", err)
	}
	return true
}

func (r *runner) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		r.cfg.Log(format, args...)
	}
}

// readyTimeout bounds the wait for every advisor to be on duty.
const readyTimeout = 30 * time.Second

// Run plays the load described by cfg and checks the delivery guarantee
// for every message. It returns once every conversation has ended on both
// sides, or Drain after the last start, or when ctx is done; the report
// then counts what was not finished. An error means the run could not
// start (bad config, advisors cannot log in or go on duty).
func Run(ctx context.Context, cfg Config) (Report, error) {
	cfg.Targets = append([]string(nil), cfg.Targets...)
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return Report{}, err
	}
	r := &runner{cfg: cfg, chk: NewChecker(), stats: newStats()}
	seeds := rand.New(rand.NewPCG(uint64(cfg.Seed), 0))

	advisors := make([]*advisorClient, len(cfg.Advisors))
	var loginWG sync.WaitGroup
	loginErrs := make([]error, len(cfg.Advisors))
	for i, acct := range cfg.Advisors {
		advisors[i] = r.newAdvisor(i, acct, seeds.Uint64())
		loginWG.Go(func() { loginErrs[i] = advisors[i].login(ctx) })
	}
	loginWG.Wait()
	if err := errors.Join(loginErrs...); err != nil {
		return Report{}, err
	}

	stop := make(chan struct{})
	advCtx, cancelAdv := context.WithCancel(ctx)
	defer cancelAdv()
	var advWG sync.WaitGroup
	for _, a := range advisors {
		advWG.Go(func() { a.run(advCtx, stop) })
	}
	stopAdvisors := func() {
		close(stop)
		advWG.Wait()
	}
	readyCtx, cancelReady := context.WithTimeout(ctx, readyTimeout)
	for _, a := range advisors {
		select {
		case <-a.ready:
		case <-readyCtx.Done():
		}
	}
	cancelReady()
	for _, a := range advisors {
		select {
		case <-a.ready:
		default:
			cancelAdv()
			advWG.Wait()
			return Report{}, fmt.Errorf("advisor %s did not get on duty within %s", a.acct.Name, readyTimeout)
		}
	}

	// Conversations start on a fixed schedule; a client that falls behind
	// it still measures from the scheduled time.
	start := time.Now()
	visCtx, cancelVis := context.WithCancel(ctx)
	defer cancelVis()
	var visWG sync.WaitGroup
	n := 0
	for ; cfg.Conversations == 0 || n < cfg.Conversations; n++ {
		at := start.Add(time.Duration(float64(n) / cfg.Rate * float64(time.Second)))
		if at.Sub(start) >= cfg.Duration || !sleepCtx(ctx, time.Until(at)) {
			break
		}
		v := r.newVisitor(n, at, seeds.Uint64())
		visWG.Go(func() { v.run(visCtx) })
	}
	lastStart := time.Now()

	// Wait for every conversation to end on both sides, within Drain.
	drainEnd := lastStart.Add(cfg.Drain)
	visDone := make(chan struct{})
	go func() {
		visWG.Wait()
		close(visDone)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
waiting:
	for {
		select {
		case <-tick.C:
			if !time.Now().Before(drainEnd) {
				break waiting
			}
			select {
			case <-visDone:
				if r.chk.Open() == 0 {
					break waiting
				}
			default:
			}
		case <-ctx.Done():
			break waiting
		}
	}
	tick.Stop()
	end := time.Now()
	cancelVis()
	<-visDone
	stopAdvisors()

	return r.report(start, lastStart, end, n), nil
}

// stats counts what is not about single messages.
type stats struct {
	mu         sync.Mutex
	errors     map[string]int
	reconnects map[string]int
	retries    int
}

func newStats() *stats {
	return &stats{errors: map[string]int{}, reconnects: map[string]int{}}
}

func (s *stats) err(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errors[kind]++
}

func (s *stats) dialFailed(err error) {
	var de *dialError
	if errors.As(err, &de) {
		s.err(de.kind())
		return
	}
	s.err("dial")
}

func (s *stats) reconnect(side string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reconnects[side]++
}

func (s *stats) retry() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retries++
}
