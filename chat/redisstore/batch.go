package redisstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// appender runs the append script, gathering the runs that arrive while
// maxRunning are under way into one pipeline: a group commit. A run that
// finds fewer under way goes out at once, on the caller's goroutine, as it
// would without the appender, so a quiet service pays nothing for it.
// Under load (a surge of conversations, many messages at once) the runs
// queued behind them go as one pipeline, led by the first of them once one
// of the runs ahead is back: one write and one read for the whole batch
// where each run made its own, on this side and on Redis's.
//
// Every run keeps its own result, and a caller's runs stay in its order
// (it waits for each). Runs of different conversations have no order
// among themselves, with or without the appender; on a Cluster the
// pipeline goes to each node its keys live on. A queued run is sent even
// if its caller's context ends meanwhile (the others wait for the
// batch), as a run already on the wire would be. The store gives the
// appender only runs with a client id: go-redis sends a pipeline again
// whole after a lost connection, runs answered before included, and the
// id makes that a duplicate, not a second entry.
type appender struct {
	rdb redis.UniversalClient
	// queued and batched, when set, are told the queue's length after
	// each run queued and the size of each batch sent (tests).
	queued, batched func(n int)

	mu      sync.Mutex
	running int // runs and batches under way
	queue   []*appendRun
}

// appendRun is one run of the script waiting in an appender's queue.
type appendRun struct {
	keys []string
	args []any
	res  []int64
	err  error
	// batch is set when this run leads its batch: it is then woken to send
	// the whole batch, its own run included.
	batch []*appendRun
	done  chan struct{}
}

const (
	// maxRunning runs and batches may be under way at once: up to that
	// many callers go straight out, as on a connection pool; the next
	// ones queue.
	maxRunning = 8
	// maxBatch bounds a pipeline; the rest waits for the next one.
	maxBatch = 128
)

func (a *appender) run(ctx context.Context, keys []string, args []any) ([]int64, error) {
	a.mu.Lock()
	if a.running < maxRunning {
		a.running++
		a.mu.Unlock()
		defer a.next() // even after a panic: the queue must not wait on a slot never freed
		return appendScript.Run(ctx, a.rdb, keys, args...).Int64Slice()
	}
	r := &appendRun{keys: keys, args: args, done: make(chan struct{})}
	a.queue = append(a.queue, r)
	n := len(a.queue)
	a.mu.Unlock()
	if a.queued != nil {
		a.queued(n)
	}
	<-r.done
	if r.batch != nil {
		defer a.next()
		// The batch runs to its end whatever becomes of this caller's
		// context: the others wait for it.
		a.send(context.WithoutCancel(ctx), r.batch)
	}
	return r.res, r.err
}

// next hands the queue, if any, to its first run to send, or marks the
// appender idle.
func (a *appender) next() {
	a.mu.Lock()
	if len(a.queue) == 0 {
		a.running--
		a.mu.Unlock()
		return
	}
	n := min(len(a.queue), maxBatch)
	batch := a.queue[:n:n]
	a.queue = append([]*appendRun(nil), a.queue[n:]...)
	a.mu.Unlock()
	batch[0].batch = batch
	close(batch[0].done)
}

// send runs a batch and hands each run its result; the leader's own
// done is closed already. The others are woken even if it panics.
func (a *appender) send(ctx context.Context, batch []*appendRun) {
	defer func() {
		p := recover()
		for _, r := range batch[1:] {
			if p != nil && r.res == nil && r.err == nil {
				r.err = fmt.Errorf("append batch: %v", p)
			}
			close(r.done)
		}
		if p != nil {
			panic(p)
		}
	}()
	if a.batched != nil {
		a.batched(len(batch))
	}
	if len(batch) == 1 {
		r := batch[0]
		r.res, r.err = appendScript.Run(ctx, a.rdb, r.keys, r.args...).Int64Slice()
		return
	}
	pipe := a.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, r := range batch {
		cmds[i] = appendScript.EvalSha(ctx, pipe, r.keys, r.args...)
	}
	_, execErr := pipe.Exec(ctx) // each command has its own error
	for i, r := range batch {
		switch err := cmds[i].Err(); {
		case isNoScript(err):
			// A Redis that lost its script cache (a restart, a failover
			// to a replica that never ran it): Run sends the script whole.
			r.res, r.err = appendScript.Run(ctx, a.rdb, r.keys, r.args...).Int64Slice()
		case err == nil && cmds[i].Val() == nil && execErr != nil:
			// Never answered: the pipeline failed before it came to it.
			r.err = execErr
		default:
			r.res, r.err = cmds[i].Int64Slice()
		}
	}
}

func isNoScript(err error) bool { return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") }
