package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadFor is the load every fault test plays: two sides typing, each
// conversation a few seconds, for d.
func loadFor(t *testing.T, targets []string, advisors []Advisor, d time.Duration) Config {
	seed := time.Now().UnixNano()
	t.Logf("load seed %d", seed)
	return Config{
		Targets:     targets,
		Advisors:    advisors,
		Rate:        8,
		Messages:    6,
		Interval:    150 * time.Millisecond,
		Think:       20 * time.Millisecond,
		VisitorEnds: 0.3,
		Duration:    d,
		Drain:       45 * time.Second,
		// Conversations: every one started in d.
		SpreadSources: true,
		Seed:          seed,
		Log:           t.Logf,
	}
}

// checkGuarantee fails the test unless every acked message reached the
// other side exactly once, in order, in conversations that all ended.
func checkGuarantee(t *testing.T, rep Report) {
	t.Helper()
	var b bytes.Buffer
	rep.WriteText(&b)
	t.Logf("report:\n%s", b.String())
	if rep.Lost != 0 || rep.Duplicated != 0 || rep.OutOfOrder != 0 || rep.Gaps != 0 || rep.Holes != 0 || rep.Mismatched != 0 {
		t.Errorf("lost %d, duplicated %d, out of order %d, gaps %d, holes %d, mismatched %d; want all 0",
			rep.Lost, rep.Duplicated, rep.OutOfOrder, rep.Gaps, rep.Holes, rep.Mismatched)
	}
	if rep.Unfinished != 0 || rep.Unverified != 0 {
		t.Errorf("%d conversations did not end on both sides (%d acked messages unverified); want 0", rep.Unfinished, rep.Unverified)
	}
	if rep.Acked == 0 || rep.Conversations == 0 {
		t.Errorf("acked %d messages in %d conversations; the load did not run", rep.Acked, rep.Conversations)
	}
}

func runLoad(t *testing.T, cfg Config) Report {
	t.Helper()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// TestLoadBaseline plays the load without faults against one instance:
// the numbers to compare the fault tests with. ADVICECHAT_LOAD_RATE (per
// second), ADVICECHAT_LOAD_MESSAGES and ADVICECHAT_SOAK make it heavier
// (make load).
func TestLoadBaseline(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	d := newDeployment(t, r.URL)
	d.start(1)
	cfg := loadFor(t, d.targets(), d.addAdvisors("adv", 5, "-max", "20"), soak(t, 3*time.Second))
	if v := os.Getenv("ADVICECHAT_LOAD_RATE"); v != "" {
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || rate <= 0 {
			t.Fatalf("ADVICECHAT_LOAD_RATE=%q is not a positive number", v)
		}
		cfg.Rate = rate
	}
	if v := os.Getenv("ADVICECHAT_LOAD_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("ADVICECHAT_LOAD_MESSAGES=%q is not a positive number", v)
		}
		cfg.Messages = n
	}
	checkGuarantee(t, runLoad(t, cfg))
}

// TestFaultReconnects: two instances, visitors and advisors spread over
// both, every client dropping its connection at random every few seconds
// (and sometimes right after sending, before the ack) while both sides
// type. Each reconnect may land on the other instance.
func TestFaultReconnects(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	d := newDeployment(t, r.URL)
	d.start(2)
	cfg := loadFor(t, d.targets(), d.addAdvisors("adv", 4, "-max", "20"), soak(t, 4*time.Second))
	cfg.ReconnectEvery = 2 * time.Second
	cfg.ReconnectProb = 0.05
	rep := runLoad(t, cfg)
	checkGuarantee(t, rep)
	if rep.Reconnects[sideVisitor] == 0 || rep.Reconnects[sideAdvisor] == 0 || rep.Retries == 0 {
		t.Errorf("reconnects %v, retries %d: the fault did not happen", rep.Reconnects, rep.Retries)
	}
}

// TestFaultKillInstance: one of two instances is killed with SIGKILL in
// the middle of the load; its clients reconnect to the other and resume.
// Messages in flight to the dead instance are retried with the same ids.
func TestFaultKillInstance(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	d := newDeployment(t, r.URL)
	d.start(2)
	dur := soak(t, 4*time.Second)
	cfg := loadFor(t, d.targets(), d.addAdvisors("adv", 4, "-max", "20"), dur)
	var wg sync.WaitGroup
	wg.Go(func() {
		time.Sleep(dur / 2)
		t.Logf("SIGKILL %s", d.apps[0].name)
		d.apps[0].kill(t)
	})
	rep := runLoad(t, cfg)
	wg.Wait()
	checkGuarantee(t, rep)
	if rep.Errors["connection_lost"] == 0 {
		t.Errorf("errors %v: no client lost its connection to the killed instance", rep.Errors)
	}
}

// TestFaultPubSubCut: the pub/sub connection of one instance after
// another is cut (CLIENT KILL ID of a pub/sub client) while messages
// flow. Whatever was published meanwhile must come from the stream when
// the instance subscribes again.
func TestFaultPubSubCut(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	d := newDeployment(t, r.URL)
	d.start(2)
	dur := soak(t, 4*time.Second)
	cfg := loadFor(t, d.targets(), d.addAdvisors("adv", 4, "-max", "20"), dur)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	kills := 0
	wg.Go(func() {
		ctx := context.Background()
		tick := time.NewTicker(400 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			list, err := r.Client.ClientList(ctx).Result()
			if err != nil {
				continue
			}
			var ids []string
			for line := range strings.SplitSeq(list, "\n") {
				if strings.Contains(line, " cmd=subscribe") || strings.Contains(line, " sub=") && !strings.Contains(line, " sub=0 ") {
					for f := range strings.FieldsSeq(line) {
						if id, ok := strings.CutPrefix(f, "id="); ok {
							ids = append(ids, id)
						}
					}
				}
			}
			if len(ids) == 0 {
				continue
			}
			id := ids[rand.IntN(len(ids))]
			if n, err := r.Client.Do(ctx, "CLIENT", "KILL", "ID", id).Int(); err == nil && n > 0 {
				kills++
			}
		}
	})
	rep := runLoad(t, cfg)
	close(stop)
	wg.Wait()
	checkGuarantee(t, rep)
	t.Logf("cut %d pub/sub connections", kills)
	if kills == 0 {
		t.Error("no pub/sub connection was cut")
	}
}
