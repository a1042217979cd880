package web

import (
	"sync"
	"time"
)

// holds are a console socket's leases on the conversations it holds: a
// conversation that routing said is the advisor's open one is taken as
// such for a short while (Config.SessionLease) by what the advisor writes
// into it (messages, notes, typing), without asking routing again. Every
// change that takes a conversation from an advisor (requeue, transfer,
// reassign, end, a withdrawn offer) is announced on the advisor's channel
// in the same script that makes it; the announcement drops the lease, and
// a resubscription of that channel, after which announcements may have
// been missed, drops all. A lease read before an announcement is never
// taken after it (gen). What a lease lets through is what the read it
// replaces let through a moment earlier: a message sent while the change
// was on its way; and the store refuses anything new in an ended
// conversation all the same.
type holds struct {
	mu    sync.Mutex
	gen   uint64
	until map[string]time.Time
}

// generation is the count of drops so far: take a lease only if it is
// still that after the read.
func (h *holds) generation() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gen
}

// take leases conv until d from now, unless a drop came since gen.
func (h *holds) take(conv string, gen uint64, d time.Duration) {
	if d <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen {
		return
	}
	if h.until == nil {
		h.until = map[string]time.Time{}
	}
	now := time.Now()
	for id, t := range h.until {
		if !now.Before(t) {
			delete(h.until, id) // the socket's conversations are few
		}
	}
	h.until[conv] = now.Add(d)
}

// has reports whether the lease on conv stands.
func (h *holds) has(conv string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.until[conv]
	return ok && time.Now().Before(t)
}

// drop ends the lease on conv, or on all with conv "".
func (h *holds) drop(conv string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
	if conv == "" {
		clear(h.until)
		return
	}
	delete(h.until, conv)
}
