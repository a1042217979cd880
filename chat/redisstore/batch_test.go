package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// holdEvalSha holds the first hold EVALSHA commands sent one by one (not
// in a pipeline) until release is closed, telling held of each. With
// failPipelines, every pipeline of EVALSHAs fails before it is sent, as
// on a connection lost.
type holdEvalSha struct {
	mu            sync.Mutex
	hold          int
	held          chan struct{}
	release       chan struct{}
	failPipelines bool
	panicking     bool // fail them by a panic
}

func (h *holdEvalSha) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *holdEvalSha) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		fail, panicking := h.failPipelines, h.panicking
		h.mu.Unlock()
		// Only the batch's: a new connection's set-up is a pipeline too.
		if fail && cmds[0].Name() == "evalsha" {
			if panicking {
				panic(errLostConnection)
			}
			return errLostConnection
		}
		return next(ctx, cmds)
	}
}

var errLostConnection = errors.New("connection lost")

func (h *holdEvalSha) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			h.mu.Lock()
			take := h.hold > 0
			if take {
				h.hold--
			}
			h.mu.Unlock()
			if take {
				h.held <- struct{}{}
				<-h.release
			}
		}
		return next(ctx, cmd)
	}
}

// TestAppendsBatchedUnderLoad: appends that arrive while the most runs are
// under way queue and go as one pipeline, each with its own result: every
// message stored once, at its own seq, seqs without gaps, a resend a
// duplicate. Also when Redis has lost its script cache before the batch
// goes (a restart, a failover): each run then falls back to the script
// sent whole. And when the batch's connection is lost, or its run
// panics: each of its runs fails, later appends still go, and each is
// stored once when sent again.
func TestAppendsBatchedUnderLoad(t *testing.T) {
	for _, fault := range []string{"none", "script cache lost", "connection lost", "panic"} {
		t.Run(fault, func(t *testing.T) {
			ctx := context.Background()
			r := redistest.New(t)
			c, err := redisstore.Connect(r.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h := &holdEvalSha{hold: redisstore.MaxRunningAppends, held: make(chan struct{}), release: make(chan struct{})}
			c.AddHook(h)
			s := redisstore.New(c, redisstore.Options{Prefix: r.Prefix, IdleTTL: testIdleTTL, Retention: testRetention})
			queued := make(chan int, 100)
			var mu sync.Mutex
			var batches []int
			s.WatchAppends(func(n int) { queued <- n }, func(n int) {
				mu.Lock()
				batches = append(batches, n)
				mu.Unlock()
			})
			convs := []chat.Conversation{mustCreate(t, s), mustCreate(t, s), mustCreate(t, s)}

			type result struct {
				in  chat.Entry
				out chat.Entry
				err error
			}
			results := make(chan result, 100)
			send := func(e chat.Entry) {
				defer func() {
					if p := recover(); p != nil { // the batch's leader, in "panic"
						results <- result{in: e, err: fmt.Errorf("panic: %v", p)}
					}
				}()
				out, _, err := s.Append(ctx, e)
				results <- result{e, out, err}
			}
			msg := func(i int, id string) chat.Entry {
				return chat.Entry{Conversation: convs[i%len(convs)].ID, Kind: chat.KindMessage, From: chat.FromAdvisor, ClientID: id, Text: "text of " + id}
			}
			var sent []chat.Entry
			got := make(map[string][]int64) // conversation → seqs
			// The runs under way, each held at its EVALSHA.
			for i := range redisstore.MaxRunningAppends {
				e := msg(i, fmt.Sprintf("d%d", i))
				sent = append(sent, e)
				go send(e)
				<-h.held
			}
			// The ones behind them queue.
			const behind = 20
			for i := range behind {
				e := msg(i, fmt.Sprintf("q%d", i))
				sent = append(sent, e)
				go send(e)
			}
			for range behind {
				<-queued
			}
			if fault == "none" {
				// A service entry has no client id: it never waits for a
				// batch (a pipeline resent whole would store it twice).
				done := make(chan result, 1)
				go func() {
					out, _, err := s.Append(ctx, chat.Entry{Conversation: convs[0].ID, Kind: chat.KindJoined, From: chat.FromSystem, Name: "Sam"})
					done <- result{out: out, err: err}
				}()
				select {
				case res := <-done:
					if res.err != nil {
						t.Fatalf("Append(joined) = %v", res.err)
					}
					got[convs[0].ID] = append(got[convs[0].ID], res.out.Seq)
				case <-time.After(10 * time.Second):
					t.Fatal("a service entry waited behind the runs under way")
				}
			}
			switch fault {
			case "script cache lost":
				if err := c.ScriptFlush(ctx).Err(); err != nil {
					t.Fatal(err)
				}
			case "connection lost", "panic":
				h.mu.Lock()
				h.failPipelines, h.panicking = true, fault == "panic"
				h.mu.Unlock()
			}
			close(h.release)

			var failed []chat.Entry
			for range sent {
				res := <-results
				if (fault == "connection lost" || fault == "panic") && res.in.ClientID[0] == 'q' {
					if res.err == nil || !strings.Contains(res.err.Error(), errLostConnection.Error()) {
						t.Errorf("Append(%s) in the failed batch = %+v, %v, want an error naming %q", res.in.ClientID, res.out, res.err, errLostConnection)
					}
					failed = append(failed, res.in)
					continue
				}
				if res.err != nil {
					t.Fatalf("Append(%s) = %v", res.in.ClientID, res.err)
				}
				if res.out.Text != res.in.Text || res.out.ClientID != res.in.ClientID || res.out.Conversation != res.in.Conversation {
					t.Errorf("Append(%s) = %+v, another message's result", res.in.ClientID, res.out)
				}
				got[res.in.Conversation] = append(got[res.in.Conversation], res.out.Seq)
			}
			mu.Lock()
			if !slices.Equal(batches, []int{behind}) {
				t.Errorf("batches sent = %v, want one of %d", batches, behind)
			}
			mu.Unlock()
			// What the lost batch held, sent again one by one.
			h.mu.Lock()
			h.failPipelines = false
			h.mu.Unlock()
			for _, e := range failed {
				out, dup, err := s.Append(ctx, e)
				if err != nil || dup {
					t.Fatalf("Append(%s) again after the lost batch = %v, %v, want stored", e.ClientID, dup, err)
				}
				got[e.Conversation] = append(got[e.Conversation], out.Seq)
			}
			for _, conv := range convs {
				stored, err := s.After(ctx, conv.ID, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				seqs := got[conv.ID]
				slices.Sort(seqs)
				if len(stored) != len(seqs) {
					t.Errorf("conversation %s holds %d entries, %d were acknowledged", conv.ID, len(stored), len(seqs))
				}
				for i, seq := range seqs {
					if seq != int64(i+1) {
						t.Errorf("conversation %s: seqs %v, want 1 to %d", conv.ID, seqs, len(seqs))
						break
					}
				}
			}
			// Each resent: the first copy, nothing new.
			for _, e := range sent {
				out, dup, err := s.Append(ctx, e)
				if err != nil || !dup || out.Text != e.Text {
					t.Errorf("resend of %s = %+v, %v, %v, want the first copy", e.ClientID, out, dup, err)
				}
			}
		})
	}
}
