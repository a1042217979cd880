package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// row is one figure of the table: advicechat's, the relay's where it has
// one, and how they compare.
type row struct {
	figure    string
	app, base float64
	hasBase   bool
	unit      string
}

type results struct {
	sizes sizes
	short bool
	rows  []row
	notes []string
	plot  plotData
}

func (r *results) add(figure string, app float64, unit string) {
	r.rows = append(r.rows, row{figure: figure, app: app, unit: unit})
}

func (r *results) addVs(figure string, app, base float64, unit string) {
	r.rows = append(r.rows, row{figure: figure, app: app, base: base, hasBase: true, unit: unit})
}

func num(v float64, unit string) string {
	var s string
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 100:
		s = fmt.Sprintf("%.0f", v)
	case v >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.3g", v)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

func (r *results) markdown() string {
	var b strings.Builder
	mode := "full"
	if r.short {
		mode = "short"
	}
	fmt.Fprintf(&b, "| figure (%s run) | advicechat | bare relay | ratio |\n| --- | --- | --- | --- |\n", mode)
	for _, x := range r.rows {
		base, ratio := "—", "—"
		if x.hasBase {
			base = num(x.base, x.unit)
			if x.base > 0 {
				ratio = fmt.Sprintf("%.2f×", x.app/x.base)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.figure, num(x.app, x.unit), base, ratio)
	}
	for _, n := range r.notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

func secs(d time.Duration) float64 { return d.Seconds() }
func ms(d time.Duration) float64   { return float64(d) / float64(time.Millisecond) }

// runIdle opens idle sockets in steps: memory per socket, and what each
// start cost the server as the queue grows.
func (r *results) runIdle(ctx context.Context, o options, sz sizes, systems []system) error {
	most := sz.idle[len(sz.idle)-1]
	per := map[string]map[int]float64{}
	for _, s := range systems {
		o.logf("%s: %d idle sockets", s.name(), most)
		per[s.name()] = map[int]float64{}
		rss0, err := s.procs()[0].rss()
		if err != nil {
			return err
		}
		last, err := measure(ctx, s)
		if err != nil {
			return err
		}
		prevOpen := 0
		done, err := s.idle(ctx, most, sz.idleStep, func(open int) {
			u := last()
			last, _ = measure(ctx, s)
			k := float64(open - prevOpen)
			prevOpen = open
			if s.redis() != nil {
				var cpu time.Duration
				for _, c := range u.cpu {
					cpu += c
				}
				r.plot.starts = append(r.plot.starts, startCost{queue: open, commands: float64(u.redis.calls) / k, cpuMs: ms(cpu) / k})
			}
			for _, n := range sz.idle {
				if n == open {
					rss, _ := s.procs()[0].rss()
					per[s.name()][n] = float64(rss-rss0) / float64(n) / 1024
				}
			}
		})
		if err != nil {
			return err
		}
		done()
	}
	for _, n := range sz.idle {
		r.addVs(fmt.Sprintf("memory per idle socket (waiting visitor), %d sockets", n), per["advicechat"][n], per["bare relay"][n], "KiB")
	}
	if len(r.plot.starts) > 0 {
		first, lastStep := r.plot.starts[0], r.plot.starts[len(r.plot.starts)-1]
		r.add(fmt.Sprintf("Redis commands per start, queue of %d → %d", first.queue, lastStep.queue), first.commands, "")
		r.rows[len(r.rows)-1].figure += fmt.Sprintf(" (last step: %.0f)", lastStep.commands)
	}
	return nil
}

// runAdmission measures how long waiting visitors who start at once take
// until each can talk to an advisor.
func (r *results) runAdmission(ctx context.Context, o options, sz sizes, systems []system) error {
	base := map[int]time.Duration{}
	for _, n := range sz.admitN {
		o.logf("bare relay: admission of %d", n)
		d, _, err := systems[1].admit(ctx, n, 0)
		if err != nil {
			return err
		}
		base[n] = d
	}
	for _, a := range sz.admitA {
		for _, n := range sz.admitN {
			o.logf("advicechat: admission of %d with %d advisors", n, a)
			d, pairs, err := systems[0].admit(ctx, n, a)
			if err != nil {
				return err
			}
			r.addVs(fmt.Sprintf("admission: %d visitors start at once, %d advisors free: time until %d pairs have joined on both sides (relay: %d pairs connect and join)", n, a, pairs, n), secs(d), secs(base[n]), "s")
			r.add(fmt.Sprintf("admission rate, %d visitors, %d advisors", n, a), float64(pairs)/secs(d), "conv/s")
			r.plot.admission = append(r.plot.admission, admitPoint{n: n, advisors: a, secs: secs(d)})
		}
	}
	for _, n := range sz.admitN {
		r.plot.baseAdmission = append(r.plot.baseAdmission, admitPoint{n: n, secs: secs(base[n])})
	}
	return nil
}

// runRelay is the closed loop at each number of pairs.
func (r *results) runRelay(ctx context.Context, o options, sz sizes, systems []system) error {
	rate := map[string]map[int]float64{}
	for _, s := range systems {
		rate[s.name()] = map[int]float64{}
		for _, n := range sz.pairs {
			o.logf("%s: closed loop, %d pairs", s.name(), n)
			ps, done, err := s.pairs(ctx, n)
			if err != nil {
				return err
			}
			count, took, _, err := closedLoop(ctx, ps, sz.warm, sz.dur, false, s)
			done()
			if err != nil {
				return err
			}
			rate[s.name()][n] = float64(count) / secs(took)
		}
	}
	for _, n := range sz.pairs {
		r.addVs(fmt.Sprintf("closed loop, %d pairs, one message in flight per pair", n), rate["advicechat"][n], rate["bare relay"][n], "msg/s")
	}
	return nil
}

// runCost relays messages one way at a time, visitors' then advisors',
// and divides what the server and Redis did by the messages.
func (r *results) runCost(ctx context.Context, o options, sz sizes, s *appSystem) error {
	ps, done, err := s.pairs(ctx, sz.costPairs)
	if err != nil {
		return err
	}
	defer done()
	for _, dir := range []string{"visitor", "advisor"} {
		o.logf("advicechat: %s messages, %d pairs", dir, sz.costPairs)
		use := ps
		if dir == "advisor" {
			use = make([]pair, len(ps))
			for i, p := range ps {
				use[i] = pair{p.b, p.a}
			}
		}
		count, took, u, err := closedLoop(ctx, use, sz.warm, sz.dur, true, s)
		if err != nil {
			return err
		}
		if count == 0 {
			return fmt.Errorf("no %s message relayed", dir)
		}
		k := float64(count)
		// One way, one message in flight per pair: what a message costs
		// its sender in time (checks and append before the next is read).
		r.add(fmt.Sprintf("%s messages one way, %d pairs, one in flight per pair", dir, sz.costPairs), k/took.Seconds(), "msg/s")
		r.add(fmt.Sprintf("Redis commands per %s message (INFO commandstats, script-internal ones included)", dir), float64(u.redis.calls)/k, "")
		r.add(fmt.Sprintf("script runs per %s message", dir), float64(u.redis.scripts)/k, "")
		r.notes = append(r.notes, fmt.Sprintf("Redis commands per %s message: %s.", dir, u.redis.perMessage(k)))
		r.add(fmt.Sprintf("CPU per 1000 %s messages: server", dir), secs(u.cpu[0])*1000/k, "s")
		r.add(fmt.Sprintf("CPU per 1000 %s messages: Redis", dir), secs(u.cpu[1])*1000/k, "s")
	}
	return nil
}

// runOpenLoop sends at fixed rates and reads latency percentiles.
func (r *results) runOpenLoop(ctx context.Context, o options, sz sizes, systems []system) error {
	type pct struct{ p50, p99 time.Duration }
	got := map[string]map[float64]pct{}
	for _, s := range systems {
		got[s.name()] = map[float64]pct{}
		ps, done, err := s.pairs(ctx, sz.openPairs)
		if err != nil {
			return err
		}
		for _, rate := range sz.openRates {
			o.logf("%s: open loop, %d pairs × %g msg/s", s.name(), sz.openPairs, rate)
			h, sent, recv := openLoop(ctx, ps, rate, sz.openDur)
			if recv < sent {
				r.notes = append(r.notes, fmt.Sprintf("%s, open loop at %g msg/s: %d of %d messages not read within 5 s of the end.", s.name(), rate, sent-recv, sent))
			}
			got[s.name()][rate] = pct{h.quantile(0.5), h.quantile(0.99)}
		}
		done()
	}
	for _, rate := range sz.openRates {
		a, b := got["advicechat"][rate], got["bare relay"][rate]
		r.addVs(fmt.Sprintf("open loop %d pairs × %g msg/s: p50", sz.openPairs, rate), ms(a.p50), ms(b.p50), "ms")
		r.addVs(fmt.Sprintf("open loop %d pairs × %g msg/s: p99", sz.openPairs, rate), ms(a.p99), ms(b.p99), "ms")
	}
	return nil
}
