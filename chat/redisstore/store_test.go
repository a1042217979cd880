package redisstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

const (
	testIdleTTL   = time.Hour
	testRetention = 5 * time.Minute
	// waitFor bounds every wait for pub/sub traffic.
	waitFor = 5 * time.Second
)

// clock is a time the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mustStore returns a store under the test's own prefix on the test's
// Redis, with a hand-moved clock.
func mustStore(tb testing.TB) (*redisstore.Store, *redistest.Redis, *clock) {
	tb.Helper()
	r := redistest.New(tb)
	clk := &clock{t: time.UnixMilli(1_760_000_000_000)}
	s := redisstore.New(r.Client, redisstore.Options{Prefix: r.Prefix, IdleTTL: testIdleTTL, Retention: testRetention, Now: clk.Now})
	return s, r, clk
}

// mustCreate stores a new open conversation and returns it.
func mustCreate(tb testing.TB, s *redisstore.Store) chat.Conversation {
	tb.Helper()
	c := chat.Conversation{
		ID:        chat.NewID(),
		Audience:  chat.AudiencePublic,
		Lang:      "de",
		Created:   time.UnixMilli(1_750_000_000_123),
		TokenHash: chat.HashToken(chat.NewToken()),
	}
	if err := s.Create(context.Background(), c); err != nil {
		tb.Fatalf("Create(%s) = %v", c.ID, err)
	}
	return c
}

func TestCreateGet(t *testing.T) {
	ctx := context.Background()
	s, _, _ := mustStore(t)
	unknown := chat.NewID()
	if _, err := s.Get(ctx, unknown); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want %v", err, chat.ErrNotFound)
	}
	if _, err := s.LastSeq(ctx, unknown); !errors.Is(err, chat.ErrNotFound) {
		t.Errorf("LastSeq(unknown) error = %v, want %v", err, chat.ErrNotFound)
	}

	tests := []chat.Conversation{
		{ID: chat.NewID(), Audience: chat.AudiencePublic, Lang: "de", Created: time.UnixMilli(1_750_000_000_123), TokenHash: chat.HashToken("a")},
		{ID: chat.NewID(), Audience: chat.AudienceProfessional, Lang: "ar", Created: time.UnixMilli(1), TokenHash: chat.HashToken("b")},
		{ID: chat.NewID(), Audience: chat.AudiencePublic, Lang: "", Created: time.UnixMilli(0), TokenHash: nil},
	}
	for _, want := range tests {
		if err := s.Create(ctx, want); err != nil {
			t.Fatalf("Create(%+v) = %v", want, err)
		}
		got, err := s.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("Get(%s) = %v", want.ID, err)
		}
		if got.ID != want.ID || got.Audience != want.Audience || got.Lang != want.Lang || got.Ended ||
			!got.Created.Equal(want.Created) || !bytes.Equal(got.TokenHash, want.TokenHash) {
			t.Errorf("Get(%s) = %+v, want %+v", want.ID, got, want)
		}
		if n, err := s.LastSeq(ctx, want.ID); n != 0 || err != nil {
			t.Errorf("LastSeq(%s) = %d, %v, want 0, nil", want.ID, n, err)
		}
	}
}

func TestAppend(t *testing.T) {
	ctx := context.Background()
	s, _, clk := mustStore(t)
	c := mustCreate(t, s)
	id := c.ID
	msg := func(from, cid, text string) chat.Entry {
		return chat.Entry{Conversation: id, Kind: chat.KindMessage, From: from, ClientID: cid, Text: text}
	}

	steps := []struct {
		name    string
		in      chat.Entry
		wantSeq int64 // seq of the returned entry
		dup     bool
		err     error
		last    int64 // LastSeq after the step
	}{
		{"first message", msg(chat.FromVisitor, "m1", "Hello, I am worried about my son."), 1, false, nil, 1},
		{"advisor answers", msg(chat.FromAdvisor, "a1", "Hi / مرحبا \"quoted\" 😀\nsecond line"), 2, false, nil, 2},
		{"system entry without client id", chat.Entry{Conversation: id, Kind: chat.KindJoined, From: chat.FromSystem, Name: "Sam"}, 3, false, nil, 3},
		{"visitor resends m1", msg(chat.FromVisitor, "m1", "Hello, I am worried about my son."), 1, true, nil, 3},
		{"visitor reuses m1 for other text", msg(chat.FromVisitor, "m1", "something else"), 0, false, chat.ErrClientIDReused, 3},
		{"advisor uses the visitor's m1", msg(chat.FromAdvisor, "m1", "Hello, I am worried about my son."), 4, false, nil, 4},
		{"advisor resends m1", msg(chat.FromAdvisor, "m1", "Hello, I am worried about my son."), 4, true, nil, 4},
		{"visitor resends m1 again", msg(chat.FromVisitor, "m1", "Hello, I am worried about my son."), 1, true, nil, 4},
		{"second visitor message", msg(chat.FromVisitor, "m2", "second"), 5, false, nil, 5},
		{"advisor resends a1", msg(chat.FromAdvisor, "a1", "Hi / مرحبا \"quoted\" 😀\nsecond line"), 2, true, nil, 5},
		{"requeued entry", chat.Entry{Conversation: id, Kind: chat.KindRequeued, From: chat.FromSystem, Reason: chat.RequeuedLostLink}, 6, false, nil, 6},
	}
	stored := make(map[int64]chat.Entry) // what each first Append returned
	for _, st := range steps {
		clk.Add(time.Second) // a duplicate must keep the first At
		got, dup, err := s.Append(ctx, st.in)
		if !errors.Is(err, st.err) || dup != st.dup || got.Seq != st.wantSeq {
			t.Fatalf("%s: Append(%+v) = seq %d, %v, %v, want seq %d, %v, %v", st.name, st.in, got.Seq, dup, err, st.wantSeq, st.dup, st.err)
		}
		if err == nil && !dup {
			want := st.in
			want.Seq, want.At = st.wantSeq, clk.Now().UnixMilli()
			if got != want {
				t.Errorf("%s: Append(%+v) = %+v, want %+v", st.name, st.in, got, want)
			}
			stored[got.Seq] = got
		}
		if dup {
			if want := stored[st.wantSeq]; got != want {
				t.Errorf("%s: duplicate Append(%+v) = %+v, want the first entry %+v", st.name, st.in, got, want)
			}
		}
		if n, err := s.LastSeq(ctx, id); n != st.last || err != nil {
			t.Errorf("%s: LastSeq = %d, %v, want %d, nil", st.name, n, err, st.last)
		}
	}

	var all []chat.Entry
	for seq := int64(1); seq <= 6; seq++ {
		all = append(all, stored[seq])
	}
	pages := []struct {
		after int64
		limit int
		want  []chat.Entry
	}{
		{0, 100, all},
		{0, 2, all[0:2]},
		{2, 2, all[2:4]},
		{4, 2, all[4:6]},
		{5, 2, all[5:6]},
		{6, 2, nil},
		{100, 2, nil},
		{3, 1, all[3:4]},
	}
	for _, p := range pages {
		got, err := s.After(ctx, id, p.after, p.limit)
		if err != nil || !slices.Equal(got, p.want) {
			t.Errorf("After(%d, %d) = %+v, %v, want %+v", p.after, p.limit, got, err, p.want)
		}
	}
	if got, err := s.After(ctx, chat.NewID(), 0, 10); err != nil || len(got) != 0 {
		t.Errorf("After(unknown, 0, 10) = %+v, %v, want none", got, err)
	}
}

func TestEnd(t *testing.T) {
	ctx := context.Background()
	s, r, clk := mustStore(t)
	c := mustCreate(t, s)
	first, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "hi"})
	if err != nil {
		t.Fatalf("Append = %v", err)
	}
	clk.Add(time.Minute)
	end, err := s.End(ctx, c.ID, chat.EndedByAdvisor)
	want := chat.Entry{Conversation: c.ID, Seq: 2, Kind: chat.KindEnded, From: chat.FromSystem, Reason: chat.EndedByAdvisor, At: clk.Now().UnixMilli()}
	if err != nil || end != want {
		t.Fatalf("End(%s) = %+v, %v, want %+v, nil", c.ID, end, err, want)
	}
	if got, err := s.Get(ctx, c.ID); err != nil || !got.Ended {
		t.Errorf("Get(%s) after End = %+v, %v, want Ended", c.ID, got, err)
	}

	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"Append after End", func() error {
			_, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m2", Text: "late"})
			return err
		}, chat.ErrEnded},
		{"Append without client id after End", func() error {
			_, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindJoined, From: chat.FromSystem, Name: "Sam"})
			return err
		}, chat.ErrEnded},
		{"End after End", func() error { _, err := s.End(ctx, c.ID, chat.EndedByVisitor); return err }, chat.ErrEnded},
		{"Append to unknown", func() error {
			_, _, err := s.Append(ctx, chat.Entry{Conversation: chat.NewID(), Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "hi"})
			return err
		}, chat.ErrNotFound},
		{"End unknown", func() error { _, err := s.End(ctx, chat.NewID(), chat.EndedByVisitor); return err }, chat.ErrNotFound},
	}
	for _, tt := range tests {
		if err := tt.do(); !errors.Is(err, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, err, tt.want)
		}
	}
	if n, err := s.LastSeq(ctx, c.ID); n != 2 || err != nil {
		t.Errorf("LastSeq after End = %d, %v, want 2, nil", n, err)
	}
	if got, err := s.After(ctx, c.ID, 0, 10); err != nil || !slices.Equal(got, []chat.Entry{first, end}) {
		t.Errorf("After(0, 10) after End = %+v, %v, want %+v", got, err, []chat.Entry{first, end})
	}
	// Failed appends to unknown conversations leave nothing behind.
	keys := r.Keys(t)
	for _, k := range keys {
		if !slices.Contains(s.Keys(c.ID), k) {
			t.Errorf("key %q exists, want only the keys %q of %s", k, s.Keys(c.ID), c.ID)
		}
	}
}

// checkTTLs fails unless every key under the test's prefix has a TTL in
// (0, max].
func checkTTLs(tb testing.TB, r *redistest.Redis, step string, want int, max time.Duration) {
	tb.Helper()
	keys := r.Keys(tb)
	if len(keys) != want {
		tb.Errorf("%s: keys = %q, want %d keys", step, keys, want)
	}
	for _, k := range keys {
		ttl, err := r.Client.TTL(context.Background(), k).Result()
		if err != nil || ttl <= 0 || ttl > max {
			tb.Errorf("%s: TTL(%s) = %v, %v, want in (0, %v]", step, k, ttl, err, max)
		}
	}
}

// TestClientIDsOfAnEarlierBuild: builds before the client ids moved into
// the meta hash kept them in a hash of their own and marked the meta hash
// 'hc'. During an upgrade both builds write to the same conversations: a
// message an earlier build stored is still known by its client id, and
// the ids stored now go to the old hash too, for the earlier build to find.
// A conversation no earlier build wrote to has no such hash.
func TestClientIDsOfAnEarlierBuild(t *testing.T) {
	ctx := context.Background()
	s, r, clk := mustStore(t)
	c := mustCreate(t, s)
	meta, log, cids := s.Keys(c.ID)[0], s.Keys(c.ID)[1], s.Keys(c.ID)[2]
	msg := func(cid, text string) chat.Entry {
		return chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: cid, Text: text}
	}

	if _, _, err := s.Append(ctx, msg("m1", "new build")); err != nil {
		t.Fatalf("Append(m1) = %v", err)
	}
	if n, err := r.Client.Exists(ctx, cids).Result(); n != 0 || err != nil {
		t.Fatalf("client-id hash of a conversation no earlier build wrote to: EXISTS = %d, %v, want 0", n, err)
	}

	// What the earlier build's script did for its message m0, seq 2.
	clk.Add(time.Second)
	at := clk.Now().UnixMilli()
	if err := r.Client.XAdd(ctx, &redis.XAddArgs{Stream: log, ID: "0-2", Values: []any{"k", "message", "f", "visitor", "t", at, "c", "m0", "x", "old build"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Client.HSet(ctx, cids, "visitor:m0", 2).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Client.HSet(ctx, meta, "seq", 2, "hc", "1").Err(); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name string
		in   chat.Entry
		seq  int64
		dup  bool
		err  error
	}{
		{"the earlier build's message resent", msg("m0", "old build"), 2, true, nil},
		{"its client id with other text", msg("m0", "other"), 0, false, chat.ErrClientIDReused},
		{"this build's message resent", msg("m1", "new build"), 1, true, nil},
		{"a new message", msg("m3", "after the mark"), 3, false, nil},
		{"the new message resent", msg("m3", "after the mark"), 3, true, nil},
	}
	for _, st := range steps {
		got, dup, err := s.Append(ctx, st.in)
		if !errors.Is(err, st.err) || dup != st.dup || got.Seq != st.seq {
			t.Errorf("%s: Append = seq %d, %v, %v, want seq %d, %v, %v", st.name, got.Seq, dup, err, st.seq, st.dup, st.err)
		}
	}
	if v, err := r.Client.HGet(ctx, cids, "visitor:m3").Result(); v != "3" || err != nil {
		t.Errorf("the earlier build's hash for m3 = %q, %v, want \"3\" (so it finds ids stored now)", v, err)
	}
	if d, err := r.Client.TTL(ctx, cids).Result(); err != nil || d <= 0 {
		t.Errorf("TTL of the earlier build's hash = %v, %v, want one set", d, err)
	}
}

func TestTTLs(t *testing.T) {
	ctx := context.Background()
	s, r, _ := mustStore(t)
	c := mustCreate(t, s)
	checkTTLs(t, r, "after Create", 1, testIdleTTL)

	if _, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "hi"}); err != nil {
		t.Fatalf("Append = %v", err)
	}
	checkTTLs(t, r, "after Append", 2, testIdleTTL)
	if _, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindJoined, From: chat.FromSystem, Name: "Sam"}); err != nil {
		t.Fatalf("Append = %v", err)
	}
	checkTTLs(t, r, "after Append without client id", 2, testIdleTTL)

	if _, err := s.End(ctx, c.ID, chat.EndedByVisitor); err != nil {
		t.Fatalf("End = %v", err)
	}
	checkTTLs(t, r, "after End", 2, testRetention)

	// Rejected appends do not bring an ended conversation back to life.
	_, _, _ = s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m2", Text: "late"})
	_, _, _ = s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "hi"})
	checkTTLs(t, r, "after appends to the ended conversation", 2, testRetention)
}

func TestKeysShareOneSlot(t *testing.T) {
	ctx := context.Background()
	s, r, _ := mustStore(t)
	ids := make(map[string]bool)
	for range 20 {
		c := mustCreate(t, s)
		ids[c.ID] = true
		if _, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "hi"}); err != nil {
			t.Fatalf("Append = %v", err)
		}
		keys := s.Keys(c.ID)
		if len(keys) != 3 {
			t.Fatalf("Keys(%s) = %q, want 3 keys", c.ID, keys)
		}
		for _, k := range keys {
			if got, want := redistest.KeySlot(k), redistest.KeySlot(keys[0]); got != want {
				t.Errorf("redistest.KeySlot(%s) = %d, want %d (the slot of %s)", k, got, want, keys[0])
			}
		}
	}
	// Every key the store wrote is one of those, so in its conversation's
	// slot.
	for _, k := range r.Keys(t) {
		found := false
		for id := range ids {
			if slices.Contains(s.Keys(id), k) {
				found = true
			}
		}
		if !found {
			t.Errorf("key %q is not among the Keys of any conversation", k)
		}
	}
}

// watcher records what the hub passes on.
type watcher struct {
	notes   chan []byte
	resyncs chan string
}

func newWatcher() *watcher {
	return &watcher{notes: make(chan []byte, 100), resyncs: make(chan string, 100)}
}

func (w *watcher) Notify(_ string, payload []byte) {
	select {
	case w.notes <- payload:
	default:
		panic("watcher: too many notifications")
	}
}

func (w *watcher) Resync(channel string) {
	select {
	case w.resyncs <- channel:
	default:
		panic("watcher: too many resyncs")
	}
}

func (w *watcher) waitResync(tb testing.TB, channel string) {
	tb.Helper()
	select {
	case got := <-w.resyncs:
		if got != channel {
			tb.Fatalf("Resync(%s), want Resync(%s)", got, channel)
		}
	case <-time.After(waitFor):
		tb.Fatalf("no Resync(%s) within %v", channel, waitFor)
	}
}

func (w *watcher) waitEntry(tb testing.TB) chat.Entry {
	tb.Helper()
	select {
	case p := <-w.notes:
		var e chat.Entry
		if err := json.Unmarshal(p, &e); err != nil {
			tb.Fatalf("published payload %s: %v", p, err)
		}
		return e
	case <-time.After(waitFor):
		tb.Fatalf("no Notify within %v", waitFor)
	}
	return chat.Entry{}
}

// mustFeedHub opens a feed on r and runs a hub over it until the test ends.
func mustFeedHub(tb testing.TB, r *redistest.Redis) (*redisstore.Feed, *chat.Hub) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	feed := redisstore.NewFeed(ctx, r.Client)
	hub := chat.NewHub(feed)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hub.Run(ctx)
	}()
	tb.Cleanup(func() {
		// Closing the feed closes its Events, which ends Run by itself.
		if err := feed.Close(); err != nil {
			tb.Errorf("Feed.Close() = %v", err)
		}
		select {
		case <-done:
		case <-time.After(waitFor):
			tb.Errorf("Hub.Run did not return within %v of Feed.Close", waitFor)
		}
		cancel()
	})
	return feed, hub
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	s, r, clk := mustStore(t)
	_, hub := mustFeedHub(t, r)
	c, other := mustCreate(t, s), mustCreate(t, s)
	w, wOther := newWatcher(), newWatcher()
	if err := hub.Watch(ctx, s.Channel(c.ID), w); err != nil {
		t.Fatalf("Watch = %v", err)
	}
	w.waitResync(t, s.Channel(c.ID))
	if err := hub.Watch(ctx, s.Channel(other.ID), wOther); err != nil {
		t.Fatalf("Watch = %v", err)
	}
	wOther.waitResync(t, s.Channel(other.ID))

	appends := []chat.Entry{
		{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "Hello / مرحبا \"x\" \\ 😀\n\t<b>"},
		{Conversation: c.ID, Kind: chat.KindJoined, From: chat.FromSystem, Name: "Sam K."},
		{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromAdvisor, ClientID: "a-1_x", Text: "Hi"},
		{Conversation: c.ID, Kind: chat.KindRequeued, From: chat.FromSystem, Reason: chat.RequeuedLeft},
	}
	for _, in := range appends {
		clk.Add(1234 * time.Millisecond)
		stored, _, err := s.Append(ctx, in)
		if err != nil {
			t.Fatalf("Append(%+v) = %v", in, err)
		}
		if got := w.waitEntry(t); got != stored {
			t.Errorf("published entry = %+v, want %+v", got, stored)
		}
	}
	// A duplicate and a rejected append publish nothing; the next entry
	// that does is the end.
	if _, dup, err := s.Append(ctx, appends[0]); !dup || err != nil {
		t.Fatalf("Append(duplicate) = %v, %v, want duplicate", dup, err)
	}
	end, err := s.End(ctx, c.ID, chat.EndedByVisitor)
	if err != nil {
		t.Fatalf("End = %v", err)
	}
	if got := w.waitEntry(t); got != end {
		t.Errorf("published entry = %+v, want the end %+v", got, end)
	}
	if _, err := s.End(ctx, c.ID, chat.EndedByVisitor); !errors.Is(err, chat.ErrEnded) {
		t.Fatalf("End again = %v, want %v", err, chat.ErrEnded)
	}

	// The other conversation's watcher heard only its own entry: pub/sub
	// keeps order on the one connection, so once that arrived, anything
	// wrongly sent to it before would have too.
	mine, _, err := s.Append(ctx, chat.Entry{Conversation: other.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "other"})
	if err != nil {
		t.Fatalf("Append = %v", err)
	}
	if got := wOther.waitEntry(t); got != mine {
		t.Errorf("other conversation's watcher got %+v, want %+v", got, mine)
	}
	if n := len(w.notes) + len(wOther.notes); n != 0 {
		t.Errorf("%d unexpected notifications", n)
	}

	// The last watcher leaving unsubscribes the shared connection.
	hub.Unwatch(s.Channel(c.ID), w)
	waitNumSub(t, r, s.Channel(c.ID), 0)
	waitNumSub(t, r, s.Channel(other.ID), 1)
}

// waitNumSub waits until channel has want subscribers on the server.
func waitNumSub(tb testing.TB, r *redistest.Redis, channel string, want int64) {
	tb.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(waitFor)
	for {
		n, err := r.Client.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && n[channel] == want {
			return
		}
		select {
		case <-tick.C:
		case <-timeout:
			tb.Fatalf("PUBSUB NUMSUB %s = %v, %v, want %d within %v", channel, n, err, want, waitFor)
		}
	}
}

func TestFeedResubscribesAfterReconnect(t *testing.T) {
	ctx := context.Background()
	s, r, _ := mustStore(t)
	if r.Mini == nil {
		t.Skip("needs the embedded Redis to drop connections; a shared real Redis cannot be restarted")
	}
	_, hub := mustFeedHub(t, r)
	c := mustCreate(t, s)
	w := newWatcher()
	if err := hub.Watch(ctx, s.Channel(c.ID), w); err != nil {
		t.Fatalf("Watch = %v", err)
	}
	w.waitResync(t, s.Channel(c.ID))

	// Every connection drops; the feed's connection comes back subscribed
	// and says so, so watchers re-read what they may have missed.
	r.Mini.Close()
	if err := r.Mini.Restart(); err != nil {
		t.Fatalf("restart embedded redis: %v", err)
	}
	w.waitResync(t, s.Channel(c.ID))
	stored, _, err := s.Append(ctx, chat.Entry{Conversation: c.ID, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "m1", Text: "after"})
	if err != nil {
		t.Fatalf("Append after reconnect = %v", err)
	}
	if got := w.waitEntry(t); got != stored {
		t.Errorf("published entry after reconnect = %+v, want %+v", got, stored)
	}
}

func TestFeedCloseEndsEvents(t *testing.T) {
	r := redistest.New(t)
	feed := redisstore.NewFeed(context.Background(), r.Client)
	if err := feed.Subscribe(context.Background(), r.Prefix+"x"); err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	if err := feed.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	timeout := time.After(waitFor)
	for {
		select {
		case _, ok := <-feed.Events():
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("Events not closed within %v of Close", waitFor)
		}
	}
}
