package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
)

var _ chat.Feed = (*Feed)(nil)

// feedBuffer is how many pub/sub events may wait for the hub. go-redis drops
// a message when its channel stays full for a minute; the hub only does
// non-blocking hand-offs, so a large buffer plus the hub's speed keeps it
// from filling, and a Resync after any reconnect repairs what was missed.
const feedBuffer = 8192

// Feed is the instance's single pub/sub connection.
type Feed struct {
	ps     *redis.PubSub
	events chan chat.FeedEvent
	done   chan struct{}
}

// NewFeed opens the pub/sub connection. It runs until Close.
func NewFeed(ctx context.Context, rdb redis.UniversalClient) *Feed {
	ps := rdb.Subscribe(ctx)
	f := &Feed{ps: ps, events: make(chan chat.FeedEvent, feedBuffer), done: make(chan struct{})}
	in := ps.ChannelWithSubscriptions(redis.WithChannelSize(feedBuffer))
	go func() {
		defer close(f.events)
		for m := range in { // ends when ps is closed
			var ev chat.FeedEvent
			switch m := m.(type) {
			case *redis.Message:
				ev = chat.FeedEvent{Channel: m.Channel, Payload: []byte(m.Payload)}
			case *redis.Subscription:
				if m.Kind != "subscribe" {
					continue
				}
				ev = chat.FeedEvent{Channel: m.Channel, Subscribed: true}
			default:
				continue
			}
			select {
			case f.events <- ev:
			case <-f.done:
				return
			}
		}
	}()
	return f
}

// Subscribe adds channels; the confirmation comes on Events.
func (f *Feed) Subscribe(ctx context.Context, channels ...string) error {
	return f.ps.Subscribe(ctx, channels...)
}

// Unsubscribe removes channels.
func (f *Feed) Unsubscribe(ctx context.Context, channels ...string) error {
	return f.ps.Unsubscribe(ctx, channels...)
}

// Events delivers messages and subscription confirmations.
func (f *Feed) Events() <-chan chat.FeedEvent { return f.events }

// Close closes the connection; Events is closed after it.
func (f *Feed) Close() error {
	close(f.done)
	return f.ps.Close()
}
