package web

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/advicechat/advicechat/routing"
)

// statePush tells the instance's visitor sockets their routing state after
// routing changes. The instance watches the changed channel once (not
// once per socket), and one goroutine reads the states of all its
// visitors' conversations together (routing.StateSet: one read of each
// queue, and a conversation's own hash only when it moved), then hands
// each socket whose state changed its new one. Changes that arrive while
// a read is under way make one more read once it is back, so a burst of
// changes costs a few reads (at most one per pushEvery), and every change
// is followed by a read that began after it.
type statePush struct {
	srv  *Server
	set  *routing.StateSet
	feed changeFeed

	mu       sync.Mutex
	visitors map[string]*visitor // conversation -> its socket here
	dirty    bool
	// activeToo: a change since the last read may have changed an
	// active conversation (routing.ChangeKeepsActive).
	activeToo bool

	wake chan struct{}
	// sent is what each socket was last handed; loop-owned.
	sent map[string]pushedState
}

// pushedState is the part of a state a visitor's page shows.
type pushedState struct {
	status   string
	position int
	wait     int
	advisor  string
	away     bool
}

func shown(st routing.ConversationState) pushedState {
	return pushedState{status: st.Status, position: st.Position, wait: waitMinutes(st.EstimatedWait), advisor: st.Advisor, away: st.AdvisorAway}
}

func newStatePush(s *Server) *statePush {
	return &statePush{srv: s, set: s.queue.NewStateSet(), visitors: make(map[string]*visitor),
		wake: make(chan struct{}, 1), sent: make(map[string]pushedState)}
}

// track adds a visitor's conversation: from the next routing change on,
// its socket is told its state when it changes.
func (p *statePush) track(v *visitor) error {
	p.mu.Lock()
	p.visitors[v.conv] = v
	p.mu.Unlock()
	p.set.Add(v.conv)
	if err := p.feed.start(p.srv, p, p.wake, pushEvery, p.read); err != nil {
		p.untrack(v)
		return err
	}
	return nil
}

// untrack takes a visitor's conversation out, if this socket still has it.
func (p *statePush) untrack(v *visitor) {
	p.mu.Lock()
	if p.visitors[v.conv] != v {
		p.mu.Unlock()
		return
	}
	delete(p.visitors, v.conv)
	p.mu.Unlock()
	p.set.Remove(v.conv)
}

// Notify implements chat.Watcher: a routing change (hub goroutine).
func (p *statePush) Notify(_ string, payload []byte) {
	p.mark(!routing.ChangeKeepsActive(string(payload)))
}

// Resync implements chat.Watcher: changes may have been missed.
func (p *statePush) Resync(string) { p.mark(true) }

func (p *statePush) mark(activeToo bool) {
	p.mu.Lock()
	p.dirty = true
	p.activeToo = p.activeToo || activeToo
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pushEvery is the shortest time between two reads: the changes of a
// surge (a start, an assignment, each a change) that come within it make
// one read, and each waiting visitor is told their new place at most this
// often, not once per change. A change after a quiet spell is read at
// once.
const pushEvery = 100 * time.Millisecond

// read reads and hands out states after changes (run by paced).
func (p *statePush) read(ctx context.Context) {
	p.mu.Lock()
	dirty, activeToo := p.dirty, p.activeToo
	p.dirty, p.activeToo = false, false
	p.mu.Unlock()
	if !dirty {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	sts, err := p.set.Update(rctx, activeToo)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			p.srv.log.Warn("read visitors' routing states", "err", err)
			// Read again at the next change, actives too.
			p.mu.Lock()
			p.activeToo = true
			p.mu.Unlock()
		}
		return
	}
	p.mu.Lock()
	for id := range p.sent {
		if _, ok := p.visitors[id]; !ok {
			delete(p.sent, id)
		}
	}
	for id, st := range sts {
		v := p.visitors[id]
		if v == nil {
			continue
		}
		f := shown(st)
		if old, ok := p.sent[id]; ok && old == f {
			continue
		}
		p.sent[id] = f
		v.pushState(st)
	}
	p.mu.Unlock()
}

// pushed is the state last handed to a visitor's socket, taken by its
// writer; a newer one replaces one not yet taken.
type pushed = atomic.Pointer[routing.ConversationState]
