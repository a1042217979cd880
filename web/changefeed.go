package web

import (
	"context"
	"sync"
	"time"

	"github.com/advicechat/advicechat/chat"
)

// changeFeed is what the instance's pushes after routing changes
// (statePush, consolePush) share: the first socket tracked starts the
// push's loop and the instance's one watch of the changed channel.
type changeFeed struct {
	mu       sync.Mutex
	started  bool
	watching bool
}

// start starts fn's loop (paced by wake) once, and watches the changed
// channel for w until a watch succeeds: a failed watch is tried again by
// the next socket, and the socket is refused meanwhile, as when its own
// watch failed.
func (f *changeFeed) start(s *Server, w chat.Watcher, wake <-chan struct{}, every time.Duration, fn func(context.Context)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.started {
		f.started = true
		go paced(s.base, wake, every, fn)
	}
	if f.watching {
		return nil
	}
	if err := s.hub.Watch(s.base, s.queue.ChangedChannel(), w); err != nil {
		return err
	}
	f.watching = true
	return nil
}

// paced runs fn each time wake fires, no sooner than every after its
// last run, until ctx ends: the changes that come within every make one
// run, and a change after a quiet spell runs at once.
func paced(ctx context.Context, wake <-chan struct{}, every time.Duration, fn func(context.Context)) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		if wait := every - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		last = time.Now()
		fn(ctx)
	}
}
