package chat

import (
	"context"
	"testing"
	"time"
)

// blockingFeed is a feed whose Subscribe of one channel hangs until
// released, as go-redis does while it redials.
type blockingFeed struct {
	*fakeFeed
	slow    string
	entered chan struct{}
	release chan struct{}
}

func (f *blockingFeed) Subscribe(ctx context.Context, channels ...string) error {
	if len(channels) == 1 && channels[0] == f.slow {
		close(f.entered)
		<-f.release
	}
	return f.fakeFeed.Subscribe(ctx, channels...)
}

// TestHubDispatchWhileSubscribeHangs: a subscription that hangs on the
// network must not stop the delivery of other channels' traffic.
func TestHubDispatchWhileSubscribeHangs(t *testing.T) {
	feed := &blockingFeed{fakeFeed: newFakeFeed(), slow: "slow", entered: make(chan struct{}), release: make(chan struct{})}
	h := NewHub(feed)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()

	fast := newRecorder()
	if err := h.Watch(ctx, "fast", fast); err != nil {
		t.Fatal(err)
	}
	watched := make(chan struct{})
	go func() {
		_ = h.Watch(ctx, "slow", newRecorder())
		close(watched)
	}()
	<-feed.entered

	feed.events <- FeedEvent{Channel: "fast", Payload: []byte("hello")}
	select {
	case <-fast.seen:
	case <-time.After(5 * time.Second):
		t.Fatal("an event on another channel waited for a hanging Subscribe")
	}
	close(feed.release)
	<-watched
	cancel()
	<-done
}
