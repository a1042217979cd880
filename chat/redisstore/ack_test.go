package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// TestAckWaitsForReplicas: with AckReplicas set, an entry that no replica
// has is not acknowledged, and retrying it with the same client id stores
// nothing new.
func TestAckWaitsForReplicas(t *testing.T) {
	r := redistest.New(t)
	if r.Mini != nil {
		t.Skip("the embedded Redis has no WAIT; CI runs this on a real Redis")
	}
	ctx := context.Background()
	s := redisstore.New(r.Client, redisstore.Options{Prefix: r.Prefix, AckReplicas: 1, AckTimeout: 50 * time.Millisecond})
	id := chat.NewID()
	if err := s.Create(ctx, chat.Conversation{ID: id, Audience: "public", Lang: "nl", Created: time.Now(), TokenHash: chat.HashToken("x")}); err != nil {
		t.Fatal(err)
	}
	ps := r.Client.Subscribe(ctx, s.Channel(id))
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	e := chat.Entry{Conversation: id, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "c1", Text: "hallo"}
	for range 2 {
		if _, _, err := s.Append(ctx, e); !errors.Is(err, chat.ErrNotReplicated) {
			t.Fatalf("Append without replicas = %v, want ErrNotReplicated", err)
		}
	}
	// Nothing was announced: Redis delivers in the order it runs the
	// publishes, so an announcement would come before this marker.
	r.Client.Publish(ctx, s.Channel(id), "marker")
	if m, err := ps.ReceiveMessage(ctx); err != nil || m.Payload != "marker" {
		t.Fatalf("first message on the channel = %v, %v; want the marker: an unreplicated entry was announced", m, err)
	}
	if last, err := s.LastSeq(ctx, id); err != nil || last != 1 {
		t.Fatalf("LastSeq = %d, %v; want 1: the retry must not store a second copy", last, err)
	}
	// Without the wait, the retry is the duplicate it is.
	plain := redisstore.New(r.Client, redisstore.Options{Prefix: r.Prefix})
	got, dup, err := plain.Append(ctx, e)
	if err != nil || !dup || got.Seq != 1 {
		t.Fatalf("Append = %+v, %v, %v; want the first copy (seq 1) as a duplicate", got, dup, err)
	}
}
