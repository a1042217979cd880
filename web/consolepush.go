package web

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// consolePush tells the instance's advisor consoles the queue view and
// their own status after routing changes. As with the visitors' states
// (statePush), the instance watches the changed channel once, and one
// goroutine reads routing's overview once per burst of changes (at most
// once per consoleEvery, and always once after the last change), encodes
// the queue view once, and hands the same view to every console. A
// console's writer then only picks its own row out of it (its status)
// and leaves itself out of the colleagues: no console reads Redis or
// encodes the queues for a change, so what a change costs the instance
// does not grow with its consoles times the queue or the advisors.
type consolePush struct {
	srv *Server

	feed changeFeed

	mu       sync.Mutex
	consoles map[*advisor]struct{}
	dirty    bool

	wake chan struct{}
}

func newConsolePush(s *Server) *consolePush {
	return &consolePush{srv: s, consoles: make(map[*advisor]struct{}), wake: make(chan struct{}, 1)}
}

// consoleEvery is the shortest time between two views pushed to the
// consoles: a person reads a queue view a few times a second at most,
// and each view is a frame to every console (the larger, the more
// advisors are on duty). A change after a quiet spell is pushed at once.
const consoleEvery = 250 * time.Millisecond

// track adds a console: from the next routing change on, it is handed
// every new view.
func (p *consolePush) track(a *advisor) error {
	p.mu.Lock()
	p.consoles[a] = struct{}{}
	p.mu.Unlock()
	if err := p.feed.start(p.srv, p, p.wake, consoleEvery, p.push); err != nil {
		p.untrack(a)
		return err
	}
	return nil
}

func (p *consolePush) untrack(a *advisor) {
	p.mu.Lock()
	delete(p.consoles, a)
	p.mu.Unlock()
}

// Notify implements chat.Watcher: a routing change (hub goroutine).
func (p *consolePush) Notify(string, []byte) { p.mark() }

// Resync implements chat.Watcher: changes may have been missed.
func (p *consolePush) Resync(string) { p.mark() }

func (p *consolePush) mark() {
	p.mu.Lock()
	p.dirty = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// push reads the overview once and hands it to every console.
func (p *consolePush) push(ctx context.Context) {
	p.mu.Lock()
	dirty := p.dirty
	p.dirty = false
	p.mu.Unlock()
	if !dirty {
		return
	}
	asked := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	ov, err := p.srv.queue.SharedOverview(rctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			// Read again at the next change (a lost connection to Redis
			// ends in a Resync, which is one).
			p.srv.log.Warn("read the queue view for the consoles", "err", err)
		}
		return
	}
	v := newConsoleView(ov, time.Now())
	v.asked = asked
	p.mu.Lock()
	for a := range p.consoles {
		a.pushView(v)
	}
	p.mu.Unlock()
}

// consoleView is one overview as every console of the instance shows it,
// the shared parts encoded once. Read it, never change it.
type consoleView struct {
	ov routing.Overview
	// asked is when its read was asked for: it holds no change from
	// before then.
	asked time.Time
	// row is each advisor's index in ov.Advisors.
	row map[string]int
	// head is the queue frame up to the colleagues' array, open.
	head []byte
	// colleagues are the advisors on duty, each encoded, with names.
	names      []string
	colleagues [][]byte
}

func newConsoleView(ov routing.Overview, now time.Time) *consoleView {
	qv := queueView{now: now}
	head, _ := json.Marshal(struct {
		Type    string               `json:"type"`
		Queues  []protocol.QueueStat `json:"queues"`
		Waiting []protocol.Waiting   `json:"waiting"`
	}{protocol.TypeQueue, qv.queues(ov, false), qv.waiting(ov, queueViewDepth)})
	// {"type":...,"waiting":[...]} becomes {"type":...,"waiting":[...],"advisors":[
	head = append(head[:len(head)-1], `,"advisors":[`...)
	v := &consoleView{ov: ov, row: make(map[string]int, len(ov.Advisors)), head: head}
	for i, adv := range ov.Advisors {
		v.row[adv.Name] = i
		if !adv.Duty {
			continue
		}
		b, _ := json.Marshal(protocol.Colleague{Name: adv.Name, Alias: adv.Alias, Load: adv.Load() + len(adv.Offers), Capacity: adv.Capacity})
		v.names = append(v.names, adv.Name)
		v.colleagues = append(v.colleagues, b)
	}
	return v
}

// queueFrame is the queue frame for the console of self: the queues, the
// front of them and every colleague on duty but self.
func (v *consoleView) queueFrame(self string) []byte {
	n := len(v.head) + 2
	for i, c := range v.colleagues {
		if v.names[i] != self {
			n += len(c) + 1
		}
	}
	b := make([]byte, 0, n)
	b = append(b, v.head...)
	first := true
	for i, c := range v.colleagues {
		if v.names[i] == self {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, c...)
	}
	return append(b, "]}"...)
}

// status is self's routing data in the view, if it lists them.
func (v *consoleView) status(self string) (routing.AdvisorStatus, bool) {
	i, ok := v.row[self]
	if !ok {
		return routing.AdvisorStatus{}, false
	}
	return statusOf(v.ov.Advisors[i]), true
}

// statusOf is an advisor's status as the overview lists them.
func statusOf(adv routing.AdvisorOverview) routing.AdvisorStatus {
	return routing.AdvisorStatus{Duty: adv.Duty, Alias: adv.Alias, Capacity: adv.Capacity, Conversations: adv.Conversations, Offered: adv.Offers}
}

// pushedView is the view last handed to a console, taken by its writer;
// a newer one replaces one not yet taken.
type pushedView = atomic.Pointer[consoleView]

// pushView hands the console's writer a view read after a routing change.
func (a *advisor) pushView(v *consoleView) {
	a.view.Store(v)
	a.sock.DoOnce("view", a.takeView)
}

// takeView shows the latest pushed view: the queue frame and the status,
// each if it changed. A part the console has read for itself since the
// view was asked for (after its own action) is newer than the view's, and
// stays: an older view never undoes it, and the change that made it
// brings a view of its own. Writer goroutine.
func (a *advisor) takeView(ctx context.Context) {
	v := a.view.Swap(nil)
	if v == nil {
		return
	}
	if !v.asked.Before(a.queueRead) {
		a.writeQueue(v.queueFrame(a.name))
	}
	if v.asked.Before(a.statusRead) {
		return
	}
	st, ok := v.status(a.name)
	if !ok {
		// Not listed (off duty and forgotten): their own data, as
		// refreshStatus reads it.
		var err error
		if st, err = a.srv.queue.AdvisorStatus(ctx, a.name); err != nil {
			return
		}
	}
	a.writeStatus(st, true)
}
