package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// text is the message the pairs send: a sentence's length.
const text = "Thank you, that helps. Can we talk about what to say to him tomorrow?"

// usage is what the server's processes spent during a window.
type usage struct {
	cpu   []time.Duration // per process, in the order of system.procs
	redis redisStats
}

func measure(ctx context.Context, s system) (func() usage, error) {
	cpu0, err := cpus(s)
	if err != nil {
		return nil, err
	}
	var r0 redisStats
	if r := s.redis(); r != nil {
		if r0, err = r.stats(ctx); err != nil {
			return nil, err
		}
	}
	return func() usage {
		cpu1, _ := cpus(s)
		u := usage{cpu: make([]time.Duration, len(cpu1))}
		for i := range cpu1 {
			u.cpu[i] = cpu1[i] - cpu0[i]
		}
		if r := s.redis(); r != nil {
			r1, _ := r.stats(ctx)
			u.redis = r1.sub(r0)
		}
		return u
	}, nil
}

func cpus(s system) ([]time.Duration, error) {
	var out []time.Duration
	for _, p := range s.procs() {
		c, err := p.cpu()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// closedLoop has every pair keep one message in flight: a sends, b
// answers once it has it, a sends again once it has the answer. It
// returns the messages relayed in the measured window (after warm-up)
// and what the server used in it. oneWay: only a sends; b answers
// nothing, a sends again once b has the message.
func closedLoop(ctx context.Context, ps []pair, warm, dur time.Duration, oneWay bool, s system) (int64, time.Duration, usage, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var count atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	await := func(e endpoint) bool {
		select {
		case <-e.recv():
			count.Add(1)
			return true
		case <-ctx.Done():
			return false
		case <-time.After(30 * time.Second):
			firstErr.CompareAndSwap(nil, "a message was not relayed within 30s")
			cancel()
			return false
		}
	}
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := p.a.send(text); err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err.Error())
						cancel()
					}
					return
				}
				if !await(p.b) {
					return
				}
				if oneWay {
					continue
				}
				if err := p.b.send(text); err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err.Error())
						cancel()
					}
					return
				}
				if !await(p.a) {
					return
				}
			}
		}()
	}
	fail := func() error {
		if e, _ := firstErr.Load().(string); e != "" {
			return fmt.Errorf("closed loop: %s", e)
		}
		return nil
	}
	sleepCtx(ctx, warm)
	n0, t0 := count.Load(), time.Now()
	stop, err := measure(ctx, s)
	if err != nil {
		return 0, 0, usage{}, err
	}
	sleepCtx(ctx, dur)
	n1, took := count.Load(), time.Since(t0)
	u := stop()
	cancel()
	wg.Wait()
	return n1 - n0, took, u, fail()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// openLoop has each side of every pair send at rate/2 messages a second
// on a fixed schedule, whatever the answers; latency is from the
// scheduled send time to the read at the other side, so a sender held up
// counts against the server as it would against a person.
func openLoop(ctx context.Context, ps []pair, rate float64, dur time.Duration) (*hist, int64, int64) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var h hist
	var sent atomic.Int64
	every := time.Duration(float64(time.Second) / (rate / 2))
	start := time.Now().Add(100 * time.Millisecond)
	end := start.Add(dur)
	var wg sync.WaitGroup
	side := func(from, to endpoint, phase time.Duration) {
		// The sender.
		wg.Add(2)
		go func() {
			defer wg.Done()
			for at := start.Add(phase); at.Before(end); at = at.Add(every) {
				sleepCtx(ctx, time.Until(at))
				if ctx.Err() != nil {
					return
				}
				if from.send("s"+strconv.FormatInt(at.UnixNano(), 10)+" "+text[:40]) != nil {
					return
				}
				sent.Add(1)
			}
		}()
		// The receiver.
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case r := <-to.recv():
					ts, _, _ := strings.Cut(strings.TrimPrefix(r.text, "s"), " ")
					if ns, err := strconv.ParseInt(ts, 10, 64); err == nil {
						h.add(r.at.Sub(time.Unix(0, ns)))
					}
				}
			}
		}()
	}
	for i, p := range ps {
		// Phases spread the pairs' sends evenly over the interval.
		phase := time.Duration(int64(every) * int64(i) / int64(len(ps)))
		side(p.a, p.b, phase)
		side(p.b, p.a, phase+every/2)
	}
	// Everything sent has until 5 s after the end to arrive.
	sleepCtx(ctx, time.Until(end))
	deadline := time.Now().Add(5 * time.Second)
	for h.count() < sent.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	return &h, sent.Load(), h.count()
}
