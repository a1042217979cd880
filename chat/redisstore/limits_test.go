package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

func limitedStore(tb testing.TB, o redisstore.Options) (*redisstore.Store, *clock) {
	tb.Helper()
	r := redistest.New(tb)
	clk := &clock{t: time.UnixMilli(1_760_000_000_000)}
	o.Prefix, o.IdleTTL, o.Retention, o.Now = r.Prefix, testIdleTTL, testRetention, clk.Now
	return redisstore.New(r.Client, o), clk
}

// TestVisitorRate: the visitor's message rate is kept with the
// conversation, so a new socket (here: any caller) cannot reset it; it
// refills with time, a retry of a stored message costs nothing, and the
// advisor is not limited.
func TestVisitorRate(t *testing.T) {
	ctx := context.Background()
	s, clk := limitedStore(t, redisstore.Options{MessageBurst: 3, MessageRate: 0.5})
	c := mustCreate(t, s)
	msg := func(from, id string) error {
		_, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: from, ClientID: id, Text: "hello " + id})
		return err
	}
	for i := range 3 {
		if err := msg(chat.FromVisitor, fmt.Sprint("v", i)); err != nil {
			t.Fatalf("message %d within the burst: %v", i, err)
		}
	}
	err := msg(chat.FromVisitor, "v3")
	if !errors.Is(err, chat.ErrRateLimited) || !strings.Contains(err.Error(), "retry in 2.0s") {
		t.Errorf("message past the burst = %v, want ErrRateLimited with a retry in 2s", err)
	}
	if err := msg(chat.FromVisitor, "v2"); err != nil {
		t.Errorf("a retry of a stored message = %v, want its ack", err)
	}
	for i := range 10 {
		if err := msg(chat.FromAdvisor, fmt.Sprint("a", i)); err != nil {
			t.Errorf("advisor message %d = %v, want no limit", i, err)
		}
	}
	clk.Add(2 * time.Second)
	if err := msg(chat.FromVisitor, "v3"); err != nil {
		t.Errorf("message after the refill = %v", err)
	}
	if err := msg(chat.FromVisitor, "v4"); !errors.Is(err, chat.ErrRateLimited) {
		t.Errorf("second message after one refill = %v, want ErrRateLimited", err)
	}
}

// TestConversationFull: a conversation takes as many entries and as much
// text as it may, then refuses messages with ErrConversationFull; it can
// still be ended, and nothing past the cap was stored.
func TestConversationFull(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		o    redisstore.Options
		text string
		fit  int
	}{
		{"entries", redisstore.Options{MaxEntries: 5}, "short", 5},
		{"bytes", redisstore.Options{MaxBytes: 1000}, strings.Repeat("é", 200), 2}, // 400 bytes each
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := limitedStore(t, tt.o)
			c := mustCreate(t, s)
			for i := range tt.fit {
				from := []string{chat.FromVisitor, chat.FromAdvisor}[i%2]
				if _, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: from, ClientID: fmt.Sprint("m", i), Text: tt.text}); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			for _, from := range []string{chat.FromVisitor, chat.FromAdvisor} {
				_, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: from, ClientID: "over-" + from, Text: tt.text})
				if !errors.Is(err, chat.ErrConversationFull) {
					t.Errorf("%s message past the cap = %v, want ErrConversationFull", from, err)
				}
			}
			last, _ := s.LastSeq(ctx, c.ID)
			if last != int64(tt.fit) {
				t.Errorf("LastSeq = %d, want %d: something past the cap was stored", last, tt.fit)
			}
			if _, err := s.End(ctx, c.ID, chat.EndedByAdvisor); err != nil {
				t.Errorf("End of a full conversation = %v", err)
			}
		})
	}
}
