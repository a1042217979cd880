package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// row is one figure of the table: advicechat's, the relay's and
// Centrifugo's where they have one, and how they compare.
type row struct {
	figure          string
	app, base, peer float64
	hasBase         bool
	hasPeer         bool
	unit            string
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

// addAll adds a figure of every system measured, by system name.
func (r *results) addAll(figure string, v map[string]float64, unit string) {
	x := row{figure: figure, app: v[appName], unit: unit}
	x.base, x.hasBase = v[relayName]
	x.peer, x.hasPeer = v[peerName]
	r.rows = append(r.rows, x)
}

// The systems' names, as the table's columns.
const (
	appName   = "advicechat"
	relayName = "bare relay"
	peerName  = "Centrifugo"
)

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
	peer := slices.ContainsFunc(r.rows, func(x row) bool { return x.hasPeer })
	ratio := func(has bool, of, v float64) string {
		if !has || !(v > 0) || math.IsNaN(of) {
			return "—"
		}
		return fmt.Sprintf("%.2f×", of/v)
	}
	value := func(has bool, v float64, unit string) string {
		if !has {
			return "—"
		}
		return num(v, unit)
	}
	if peer {
		fmt.Fprintf(&b, "| figure (%s run) | advicechat | Centrifugo | bare relay | ÷ Centrifugo | ÷ relay |\n| --- | --- | --- | --- | --- | --- |\n", mode)
	} else {
		fmt.Fprintf(&b, "| figure (%s run) | advicechat | bare relay | ratio |\n| --- | --- | --- | --- |\n", mode)
	}
	for _, x := range r.rows {
		if peer {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", x.figure, num(x.app, x.unit), value(x.hasPeer, x.peer, x.unit),
				value(x.hasBase, x.base, x.unit), ratio(x.hasPeer, x.app, x.peer), ratio(x.hasBase, x.app, x.base))
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", x.figure, num(x.app, x.unit), value(x.hasBase, x.base, x.unit), ratio(x.hasBase, x.app, x.base))
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
			if s.name() == appName {
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
		v := map[string]float64{}
		for name, m := range per {
			v[name] = m[n]
		}
		r.addAll(fmt.Sprintf("memory per idle socket (waiting visitor), %d sockets", n), v, "KiB")
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
	others := map[string]map[int]time.Duration{}
	for _, s := range systems[1:] {
		others[s.name()] = map[int]time.Duration{}
		for _, n := range sz.admitN {
			o.logf("%s: admission of %d", s.name(), n)
			d, _, err := s.admit(ctx, n, 0)
			if err != nil {
				return err
			}
			others[s.name()][n] = d
		}
	}
	base := others[relayName]
	for _, a := range sz.admitA {
		for _, n := range sz.admitN {
			o.logf("advicechat: admission of %d with %d advisors", n, a)
			d, pairs, err := systems[0].admit(ctx, n, a)
			if err != nil {
				return err
			}
			v := map[string]float64{appName: secs(d)}
			for name, m := range others {
				v[name] = secs(m[n])
			}
			r.addAll(fmt.Sprintf("admission: %d visitors start at once, %d advisors free: time until %d pairs have joined on both sides (relay: %d pairs connect and join; Centrifugo: %d connect and subscribe, and their peers have the join)", n, a, pairs, n, n), v, "s")
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
	rate, cpu := map[int]map[string]float64{}, map[int]map[string]float64{}
	for _, n := range sz.pairs {
		rate[n], cpu[n] = map[string]float64{}, map[string]float64{}
	}
	for _, s := range systems {
		for _, n := range sz.pairs {
			o.logf("%s: closed loop, %d pairs", s.name(), n)
			ps, done, err := s.pairs(ctx, n)
			if err != nil {
				return err
			}
			count, took, u, err := closedLoop(ctx, ps, sz.warm, sz.dur, false, s)
			done()
			if err != nil {
				return err
			}
			if count == 0 {
				return fmt.Errorf("%s: no message relayed in the closed loop", s.name())
			}
			rate[n][s.name()] = float64(count) / secs(took)
			var c time.Duration
			for _, d := range u.cpu {
				c += d
			}
			cpu[n][s.name()] = secs(c) * 1000 / float64(count)
		}
	}
	for _, n := range sz.pairs {
		r.addAll(fmt.Sprintf("closed loop, %d pairs, one message in flight per pair", n), rate[n], "msg/s")
	}
	for _, n := range sz.pairs {
		r.addAll(fmt.Sprintf("CPU per 1000 messages relayed in the closed loop, %d pairs: server + its Redis", n), cpu[n], "s")
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
	type pct struct {
		p50, p99 time.Duration
		all      bool // every message sent was read
		none     bool // none was
	}
	got := map[string]map[float64]pct{}
	for _, s := range systems {
		got[s.name()] = map[float64]pct{}
		var ps []pair
		done := func() {}
		for _, rate := range sz.openRates {
			if ps == nil {
				var err error
				if ps, done, err = s.pairs(ctx, sz.openPairs); err != nil {
					return err
				}
			}
			o.logf("%s: open loop, %d pairs × %g msg/s", s.name(), sz.openPairs, rate)
			h, sent, recv := openLoop(ctx, ps, rate, sz.openDur)
			if recv < sent {
				r.notes = append(r.notes, fmt.Sprintf("%s, open loop at %g msg/s: %d of %d messages not read within 5 s of the end.", s.name(), rate, sent-recv, sent))
				// Past its knee a server may have closed sockets it
				// could not write to fast enough: the next rate gets
				// fresh pairs.
				done()
				ps = nil
			}
			got[s.name()][rate] = pct{h.quantile(0.5), h.quantile(0.99), recv == sent, recv == 0}
		}
		done()
	}
	for _, rate := range sz.openRates {
		p50, p99 := map[string]float64{}, map[string]float64{}
		for name, m := range got {
			p50[name], p99[name] = ms(m[rate].p50), ms(m[rate].p99)
			if m[rate].none {
				p50[name], p99[name] = math.NaN(), math.NaN()
			}
		}
		r.addAll(fmt.Sprintf("open loop %d pairs × %g msg/s: p50", sz.openPairs, rate), p50, "ms")
		r.addAll(fmt.Sprintf("open loop %d pairs × %g msg/s: p99", sz.openPairs, rate), p99, "ms")
	}
	// The goal's figure: the highest of the rates tried that each system
	// kept under a p99 of 50 ms with every message read (0: none of them).
	best := map[string]float64{}
	for name, m := range got {
		best[name] = 0
		for rate, p := range m {
			if p.all && p.p99 <= openLoopBound && rate > best[name] {
				best[name] = rate
			}
		}
	}
	r.addAll(fmt.Sprintf("open loop %d pairs: highest rate tried with p99 ≤ %v", sz.openPairs, openLoopBound), best, "msg/s per pair")
	return nil
}

// openLoopBound is the p99 the open-loop goal names.
const openLoopBound = 50 * time.Millisecond
