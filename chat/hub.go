package chat

import (
	"context"
	"sync"
)

// FeedEvent is what the instance's pub/sub connection delivers: a published
// payload, or the confirmation that a channel is (again) subscribed.
type FeedEvent struct {
	Channel    string
	Payload    []byte
	Subscribed bool
}

// Feed is the one pub/sub connection an instance shares among all its
// sockets. Subscribe and Unsubscribe must not wait for the server's reply;
// the confirmation arrives on Events, also after the feed reconnected and
// subscribed again.
type Feed interface {
	Subscribe(ctx context.Context, channels ...string) error
	Unsubscribe(ctx context.Context, channels ...string) error
	Events() <-chan FeedEvent
}

// Watcher is told what arrives on the channels it watches. Both methods
// are called from the hub's one dispatch goroutine and must not block.
type Watcher interface {
	// Notify passes a payload published on channel.
	Notify(channel string, payload []byte)
	// Resync says that channel was (re)subscribed: anything published
	// before may have been missed, so the watcher re-reads the stream.
	Resync(channel string)
}

// Hub fans the instance's pub/sub traffic out to local watchers. It
// subscribes a channel when its first local watcher arrives and
// unsubscribes when the last one leaves, so Redis sees one subscription per
// channel per instance however many sockets watch it.
type Hub struct {
	feed Feed

	// subMu orders the feed calls: a Subscribe and an Unsubscribe of one
	// channel reach the feed in the order the watchers came and went. It
	// is held across network I/O, so dispatch never takes it.
	subMu sync.Mutex

	// mu guards watchers; it is never held across a call out.
	mu       sync.Mutex
	watchers map[string]map[Watcher]struct{}
}

// NewHub returns a hub over feed. Call Run to start dispatching.
func NewHub(feed Feed) *Hub {
	return &Hub{feed: feed, watchers: make(map[string]map[Watcher]struct{})}
}

// Watch adds w as a watcher of channel; anything published on it from
// then on reaches Notify. The first watcher of a channel subscribes it, and
// its Resync is called once the subscription is confirmed; a later watcher
// joins a live subscription and gets no Resync, so it reads the stream
// itself after Watch returns. On error the watcher is still registered and
// the caller should Unwatch it.
func (h *Hub) Watch(ctx context.Context, channel string, w Watcher) error {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	set, ok := h.watchers[channel]
	if !ok {
		set = make(map[Watcher]struct{})
		h.watchers[channel] = set
	}
	set[w] = struct{}{}
	h.mu.Unlock()
	if ok {
		return nil
	}
	return h.feed.Subscribe(ctx, channel)
}

// Unwatch removes w from channel; it is a no-op if w was not watching.
func (h *Hub) Unwatch(channel string, w Watcher) {
	h.subMu.Lock()
	defer h.subMu.Unlock()
	h.mu.Lock()
	set, ok := h.watchers[channel]
	if ok {
		delete(set, w)
		if len(set) > 0 {
			ok = false
		} else {
			delete(h.watchers, channel)
		}
	}
	h.mu.Unlock()
	if !ok {
		return
	}
	// A failed unsubscribe only leaves a channel whose messages nobody
	// reads; the next reconnect of the feed drops it.
	_ = h.feed.Unsubscribe(context.Background(), channel)
}

// Channels returns how many channels have local watchers.
func (h *Hub) Channels() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.watchers)
}

// Run dispatches feed events until ctx is done or the feed's event channel
// closes.
func (h *Hub) Run(ctx context.Context) {
	events := h.feed.Events()
	var targets []Watcher
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			targets = targets[:0]
			h.mu.Lock()
			for w := range h.watchers[ev.Channel] {
				targets = append(targets, w)
			}
			h.mu.Unlock()
			for _, w := range targets {
				if ev.Subscribed {
					w.Resync(ev.Channel)
				} else {
					w.Notify(ev.Channel, ev.Payload)
				}
			}
		}
	}
}
