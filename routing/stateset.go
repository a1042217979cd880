package routing

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// StateSet keeps the routing state of a set of conversations (an
// instance's waiting and chatting visitors) up to date after routing
// changes, at a cost that does not grow with the size of the set: Update
// reads every queue once (one ZRANGE each) and the wait estimates' basis
// once, takes each waiting conversation's position from there, and reads a
// conversation's own hash only when it is new to the set or its status
// may have changed (it left its queue, or came into one). What an update
// costs in Redis commands is thus the number of queues, the estimate and
// one HMGET per conversation that moved, however many wait.
//
// Add and Remove may be called from any goroutine; Update from one at a
// time.
type StateSet struct {
	q *Queue

	mu    sync.Mutex
	known map[string]*setEntry // nil entry: added, not read yet
}

// setEntry is what the set last read of one conversation.
type setEntry struct {
	st ConversationState
	// fallback is the conversation's fb field: it accepts a fallback
	// language (the estimate needs it).
	fallback bool
}

// NewStateSet returns an empty set.
func (q *Queue) NewStateSet() *StateSet {
	return &StateSet{q: q, known: make(map[string]*setEntry)}
}

// Add puts a conversation in the set; the next Update reads it.
func (s *StateSet) Add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.known[id]; !ok {
		s.known[id] = nil
	}
}

// Remove takes a conversation out of the set.
func (s *StateSet) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.known, id)
}

// Len is the number of conversations in the set.
func (s *StateSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.known)
}

// ChangeKeepsActive reports whether a routing change of kind (the payload
// on ChangedChannel) leaves every active conversation as it was: a
// conversation enqueued, assigned from a queue, an offer accepted or a
// priority raised changes no conversation that was active before (an
// offer accepted was offered, not active). Every other kind (duty,
// presence, move, release, sweep) may end one, move it, or take its
// advisor's console away.
func ChangeKeepsActive(kind string) bool {
	switch kind {
	case "enqueue", "assign", "accept", "priority":
		return true
	}
	return false
}

// Update returns the state of every conversation in the set after routing
// changes. With activeToo false (every change since the last Update was
// one that ChangeKeepsActive), an active conversation read before is not
// read again. A waiting one still in its queue gets its new position and
// estimate without a read of its own; one that is new, left its queue,
// came into one, or is offered, ended or unknown is read again (States).
func (s *StateSet) Update(ctx context.Context, activeToo bool) (map[string]ConversationState, error) {
	q := s.q
	s.mu.Lock()
	prev := make(map[string]*setEntry, len(s.known))
	for id, e := range s.known {
		prev[id] = e
	}
	s.mu.Unlock()
	out := make(map[string]ConversationState, len(prev))
	if len(prev) == 0 {
		return out, nil
	}
	pipe := q.rdb.Pipeline()
	members := make([]*redis.StringSliceCmd, len(q.cfg.Queues))
	for i, n := range q.cfg.Queues {
		members[i] = pipe.ZRange(ctx, q.queueKey(n), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("queue members: %w", err)
	}
	type place struct {
		queue string
		pos   int
	}
	places := make(map[string]place)
	for i, n := range q.cfg.Queues {
		for r, id := range members[i].Val() {
			if _, ok := prev[id]; ok {
				places[id] = place{queue: n, pos: r + 1}
			}
		}
	}
	var reread []string
	var waiting []string
	for id, e := range prev {
		p, queued := places[id]
		switch {
		case e == nil:
			reread = append(reread, id)
		case e.st.Status == StatusWaiting && queued && p.queue == e.st.Queue:
			waiting = append(waiting, id)
		case e.st.Status == StatusActive && !queued && !activeToo:
			out[id] = e.st
		default:
			reread = append(reread, id)
		}
	}
	// One estimate basis for all: for those still waiting and for those
	// read again.
	var basis *estimateBasis
	if len(waiting) > 0 || len(reread) > 0 {
		b, err := q.estimateBasis(ctx)
		if err != nil {
			return nil, err
		}
		basis = &b
	}
	fresh := make(map[string]*setEntry, len(reread))
	if len(reread) > 0 {
		sts, fbs, err := q.readStates(ctx, reread, basis)
		if err != nil {
			return nil, err
		}
		for i, id := range reread {
			fresh[id] = &setEntry{st: sts[i], fallback: fbs[i]}
			out[id] = sts[i]
		}
	}
	if len(waiting) > 0 {
		for _, id := range waiting {
			e := prev[id]
			st := e.st
			st.Position = places[id].pos
			w := want{queue: st.Queue, lang: st.Lang, fallback: e.fallback, enqueued: st.Enqueued}
			if d, ok := basis.wait(w, st.Position); ok {
				st.EstimatedWait = d
			} else {
				st.EstimatedWait = UnknownWait
			}
			fresh[id] = &setEntry{st: st, fallback: e.fallback}
			out[id] = st
		}
	}
	s.mu.Lock()
	for id, e := range fresh {
		// Removed while the update ran: stays out.
		if _, ok := s.known[id]; ok {
			s.known[id] = e
		}
	}
	s.mu.Unlock()
	return out, nil
}
