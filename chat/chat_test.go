package chat

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// waitFor bounds every wait on the hub's goroutine.
const waitFor = 5 * time.Second

var cleanTextTests = []struct {
	name string
	in   string
	want string
	err  error
}{
	{"plain", "hello", "hello", nil},
	{"trims spaces", "  hello  ", "hello", nil},
	{"trims newlines and tabs", "\n\thello\r\n", "hello", nil},
	{"trims unicode space", "\u00a0\u3000hello\u2003", "hello", nil},
	{"keeps inner space", " a  b\nc ", "a  b\nc", nil},
	{"empty", "", "", ErrEmptyText},
	{"spaces only", "   ", "", ErrEmptyText},
	{"whitespace only", " \t\r\n\u00a0\u3000 ", "", ErrEmptyText},
	{"4000 ascii", strings.Repeat("a", 4000), strings.Repeat("a", 4000), nil},
	{"4000 two-byte", strings.Repeat("é", 4000), strings.Repeat("é", 4000), nil},
	{"4000 four-byte", strings.Repeat("😀", 4000), strings.Repeat("😀", 4000), nil},
	{"4000 after trim", "  " + strings.Repeat("ß", 4000) + "\n", strings.Repeat("ß", 4000), nil},
	{"4001 ascii", strings.Repeat("a", 4001), "", ErrTextTooLong},
	{"4001 two-byte", strings.Repeat("é", 4001), "", ErrTextTooLong},
	{"4001 four-byte", strings.Repeat("😀", 4001), "", ErrTextTooLong},
	{"invalid byte", "hi \xff there", "", ErrBadUTF8},
	{"truncated sequence", "abc\xe2\x82", "", ErrBadUTF8},
	{"surrogate half", "\xed\xa0\x80", "", ErrBadUTF8},
	{"overlong encoding", "\xc0\xaf", "", ErrBadUTF8},
	{"invalid and blank", " \xff ", "", ErrBadUTF8},
	{"right-to-left", " مرحبا ", "مرحبا", nil},
	{"NUL", "a\x00b", "", ErrControlChar},
	{"escape", "a\x1b[31mred", "", ErrControlChar},
	{"carriage return inside", "a\rb", "", ErrControlChar},
	{"DEL", "a\x7fb", "", ErrControlChar},
	{"C1 control", "a\u0085b", "", ErrControlChar},
	{"bidi override kept", "abc \u202edcba", "abc \u202edcba", nil},
}

func TestCleanText(t *testing.T) {
	for _, tt := range cleanTextTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CleanText(tt.in)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("CleanText(%.40q) = %.40q, %v, want %.40q, %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func FuzzCleanText(f *testing.F) {
	for _, tt := range cleanTextTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanText(in)
		if err != nil {
			if got != "" {
				t.Errorf("CleanText(%q) = %q, %v, want empty text with the error", in, got, err)
			}
			if !errors.Is(err, ErrEmptyText) && !errors.Is(err, ErrTextTooLong) && !errors.Is(err, ErrBadUTF8) && !errors.Is(err, ErrControlChar) {
				t.Errorf("CleanText(%q) error %v, want one of the CleanText errors", in, err)
			}
			return
		}
		if !utf8.ValidString(got) {
			t.Errorf("CleanText(%q) = %q, not valid UTF-8", in, got)
		}
		if got == "" {
			t.Errorf("CleanText(%q) = empty text without error", in)
		}
		if strings.TrimSpace(got) != got {
			t.Errorf("CleanText(%q) = %q, not trimmed", in, got)
		}
		if n := utf8.RuneCountInString(got); n > MaxTextRunes {
			t.Errorf("CleanText(%q) has %d runes, want <= %d", in, n, MaxTextRunes)
		}
		if strings.ContainsFunc(got, func(r rune) bool { return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) }) {
			t.Errorf("CleanText(%q) = %q, holds a control character", in, got)
		}
		if !strings.Contains(in, got) {
			t.Errorf("CleanText(%q) = %q, not a part of the input", in, got)
		}
	})
}

func TestValidClientID(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"a", nil},
		{"0", nil},
		{"550e8400-e29b-41d4-a716-446655440000", nil},
		{"Az09-_", nil},
		{strings.Repeat("x", 64), nil},
		{"", ErrBadClientID},
		{strings.Repeat("x", 65), ErrBadClientID},
		{"a b", ErrBadClientID},
		{"a.b", ErrBadClientID},
		{"a:b", ErrBadClientID},
		{"a/b", ErrBadClientID},
		{"{a}", ErrBadClientID},
		{"é", ErrBadClientID},
		{"a\x00", ErrBadClientID},
		{"a\n", ErrBadClientID},
	}
	for _, tt := range tests {
		if got := ValidClientID(tt.in); !errors.Is(got, tt.want) {
			t.Errorf("ValidClientID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidAudience(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{AudiencePublic, nil},
		{AudienceProfessional, nil},
		{"", ErrBadAudience},
		{"Public", ErrBadAudience},
		{"public ", ErrBadAudience},
		{"police", ErrBadAudience},
	}
	for _, tt := range tests {
		if got := ValidAudience(tt.in); !errors.Is(got, tt.want) {
			t.Errorf("ValidAudience(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0123456789abcdef0123456789abcdef", true},
		{strings.Repeat("0", 32), true},
		{strings.Repeat("f", 32), true},
		{NewID(), true},
		{"", false},
		{strings.Repeat("a", 31), false},
		{strings.Repeat("a", 33), false},
		{"0123456789ABCDEF0123456789ABCDEF", false},
		{"0123456789abcdef0123456789abcdeg", false},
		{"0123456789abcdef0123456789abcde ", false},
		{"{rt}456789abcdef0123456789abcdef", false},
		{"0123456789abcdef0123456789abcd\x00f", false},
		{"0123456789abcdef0123456789abcdé", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.in); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNewIDDistinct(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("ValidID(NewID() = %q) = false, want true", id)
		}
		if seen[id] {
			t.Fatalf("NewID() = %q twice", id)
		}
		seen[id] = true
	}
}

func TestNewToken(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		tok := NewToken()
		if len(tok) != 22 {
			t.Fatalf("len(NewToken()) = %d (%q), want 22", len(tok), tok)
		}
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 16 {
			t.Fatalf("NewToken() = %q decodes to %d bytes, %v, want 16 bytes of base64url", tok, len(raw), err)
		}
		if seen[tok] {
			t.Fatalf("NewToken() = %q twice", tok)
		}
		seen[tok] = true
	}
}

func TestTokenMatches(t *testing.T) {
	tok, other := NewToken(), NewToken()
	hash := HashToken(tok)
	if len(hash) != sha256.Size {
		t.Fatalf("len(HashToken(%q)) = %d, want %d", tok, len(hash), sha256.Size)
	}
	tests := []struct {
		name  string
		token string
		hash  []byte
		want  bool
	}{
		{"own hash", tok, hash, true},
		{"other token", other, hash, false},
		{"empty token", "", hash, false},
		{"hash of the empty token", "", HashToken(""), true},
		{"short hash", tok, hash[:sha256.Size-1], false},
		{"long hash", tok, append(slices.Clone(hash), 0), false},
		{"nil hash", tok, nil, false},
		{"raw token as hash", tok, []byte(tok), false},
		{"flipped bit", tok, func() []byte { h := slices.Clone(hash); h[31] ^= 1; return h }(), false},
	}
	for _, tt := range tests {
		if got := TokenMatches(tt.token, tt.hash); got != tt.want {
			t.Errorf("%s: TokenMatches(%q, %x) = %v, want %v", tt.name, tt.token, tt.hash, got, tt.want)
		}
	}
}

func TestCleanDisplayName(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"Sam", "Sam", nil},
		{"  Sam K.  ", "Sam K.", nil},
		{"\tJoëlle\n", "Joëlle", nil},
		{"x", "x", nil},
		{strings.Repeat("a", 40), strings.Repeat("a", 40), nil},
		{strings.Repeat("ö", 40), strings.Repeat("ö", 40), nil},
		{" " + strings.Repeat("名", 40) + " ", strings.Repeat("名", 40), nil},
		{"", "", ErrBadDisplayArg},
		{"   ", "", ErrBadDisplayArg},
		{"\u3000\n", "", ErrBadDisplayArg},
		{strings.Repeat("a", 41), "", ErrBadDisplayArg},
		{strings.Repeat("ö", 41), "", ErrBadDisplayArg},
		{"Sam\xff", "", ErrBadDisplayArg},
	}
	for _, tt := range tests {
		got, err := CleanDisplayName(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("CleanDisplayName(%q) = %q, %v, want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// fakeFeed records what the hub asks of it; the test sends the events.
type fakeFeed struct {
	events chan FeedEvent

	mu    sync.Mutex
	calls []string // "sub a", "unsub a"
	err   error    // returned by Subscribe
}

func newFakeFeed() *fakeFeed { return &fakeFeed{events: make(chan FeedEvent)} }

func (f *fakeFeed) Subscribe(_ context.Context, channels ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "sub "+strings.Join(channels, ","))
	return f.err
}

func (f *fakeFeed) Unsubscribe(_ context.Context, channels ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "unsub "+strings.Join(channels, ","))
	return nil
}

func (f *fakeFeed) Events() <-chan FeedEvent { return f.events }

func (f *fakeFeed) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// recorder is a Watcher that logs what it is told.
type recorder struct {
	mu   sync.Mutex
	log  []string
	seen chan struct{} // one token per call
}

func newRecorder() *recorder { return &recorder{seen: make(chan struct{}, 100)} }

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
	r.seen <- struct{}{}
}

func (r *recorder) Notify(channel string, payload []byte) {
	r.add("notify " + channel + " " + string(payload))
}
func (r *recorder) Resync(channel string) { r.add("resync " + channel) }

func (r *recorder) Log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// waitCalls waits until r has been called n times in all.
func (r *recorder) waitCalls(tb testing.TB, n int) {
	tb.Helper()
	timeout := time.After(waitFor)
	for range n {
		select {
		case <-r.seen:
		case <-timeout:
			tb.Fatalf("watcher log = %q, want %d calls within %v", r.Log(), n, waitFor)
		}
	}
}

// mustRunHub starts h.Run and stops it when the test ends.
func mustRunHub(tb testing.TB, h *Hub) (cancel func(), done <-chan struct{}) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := make(chan struct{})
	go func() {
		defer close(d)
		h.Run(ctx)
	}()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-d:
		case <-time.After(waitFor):
			tb.Errorf("Hub.Run did not return within %v of the cancel", waitFor)
		}
	})
	return cancel, d
}

// send hands ev to the hub's Run loop.
func send(tb testing.TB, f *fakeFeed, ev FeedEvent) {
	tb.Helper()
	select {
	case f.events <- ev:
	case <-time.After(waitFor):
		tb.Fatalf("hub did not read event %+v within %v", ev, waitFor)
	}
}

func TestHubSubscribesOncePerChannel(t *testing.T) {
	ctx := context.Background()
	f := newFakeFeed()
	h := NewHub(f)
	w1, w2, w3 := newRecorder(), newRecorder(), newRecorder()

	steps := []struct {
		name      string
		do        func() error
		wantCalls []string
		channels  int
	}{
		{"first watcher of a", func() error { return h.Watch(ctx, "a", w1) }, []string{"sub a"}, 1},
		{"second watcher of a", func() error { return h.Watch(ctx, "a", w2) }, []string{"sub a"}, 1},
		{"same watcher again", func() error { return h.Watch(ctx, "a", w2) }, []string{"sub a"}, 1},
		{"first watcher of b", func() error { return h.Watch(ctx, "b", w3) }, []string{"sub a", "sub b"}, 2},
		{"unwatch unknown channel", func() error { h.Unwatch("c", w1); return nil }, []string{"sub a", "sub b"}, 2},
		{"unwatch non-watcher", func() error { h.Unwatch("a", w3); return nil }, []string{"sub a", "sub b"}, 2},
		{"one of two leaves a", func() error { h.Unwatch("a", w1); return nil }, []string{"sub a", "sub b"}, 2},
		{"last leaves a", func() error { h.Unwatch("a", w2); return nil }, []string{"sub a", "sub b", "unsub a"}, 1},
		{"leaves a again", func() error { h.Unwatch("a", w2); return nil }, []string{"sub a", "sub b", "unsub a"}, 1},
		{"comes back to a", func() error { return h.Watch(ctx, "a", w1) }, []string{"sub a", "sub b", "unsub a", "sub a"}, 2},
		{"last leaves b", func() error { h.Unwatch("b", w3); return nil }, []string{"sub a", "sub b", "unsub a", "sub a", "unsub b"}, 1},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := f.Calls(); !slices.Equal(got, s.wantCalls) {
			t.Errorf("%s: feed calls = %q, want %q", s.name, got, s.wantCalls)
		}
		if got := h.Channels(); got != s.channels {
			t.Errorf("%s: Channels() = %d, want %d", s.name, got, s.channels)
		}
	}
}

func TestHubWatchError(t *testing.T) {
	f := newFakeFeed()
	f.err = errors.New("connection lost")
	h := NewHub(f)
	w := newRecorder()
	if err := h.Watch(context.Background(), "a", w); !errors.Is(err, f.err) {
		t.Fatalf("Watch(a) = %v, want %v", err, f.err)
	}
	// The watcher stays registered until the caller unwatches it.
	if got := h.Channels(); got != 1 {
		t.Errorf("Channels() after a failed Watch = %d, want 1", got)
	}
	h.Unwatch("a", w)
	if got, want := f.Calls(), []string{"sub a", "unsub a"}; !slices.Equal(got, want) {
		t.Errorf("feed calls = %q, want %q", got, want)
	}
	if got := h.Channels(); got != 0 {
		t.Errorf("Channels() after Unwatch = %d, want 0", got)
	}
}

func TestHubDispatch(t *testing.T) {
	ctx := context.Background()
	f := newFakeFeed()
	h := NewHub(f)
	mustRunHub(t, h)
	a1, a2, b := newRecorder(), newRecorder(), newRecorder()
	for _, w := range []struct {
		ch string
		w  *recorder
	}{{"a", a1}, {"a", a2}, {"b", b}} {
		if err := h.Watch(ctx, w.ch, w.w); err != nil {
			t.Fatalf("Watch(%s) = %v", w.ch, err)
		}
	}

	// Run handles events in order on one goroutine: once b has seen the
	// last event, every earlier one has been dispatched.
	send(t, f, FeedEvent{Channel: "a", Subscribed: true})
	send(t, f, FeedEvent{Channel: "a", Payload: []byte("x")})
	send(t, f, FeedEvent{Channel: "nobody", Payload: []byte("lost")})
	send(t, f, FeedEvent{Channel: "b", Subscribed: true})
	send(t, f, FeedEvent{Channel: "b", Payload: []byte("y")})
	b.waitCalls(t, 2)
	a1.waitCalls(t, 2)
	a2.waitCalls(t, 2)

	tests := []struct {
		name string
		w    *recorder
		want []string
	}{
		{"a1", a1, []string{"resync a", "notify a x"}},
		{"a2", a2, []string{"resync a", "notify a x"}},
		{"b", b, []string{"resync b", "notify b y"}},
	}
	for _, tt := range tests {
		if got := tt.w.Log(); !slices.Equal(got, tt.want) {
			t.Errorf("watcher %s log = %q, want %q", tt.name, got, tt.want)
		}
	}

	// After Unwatch a watcher hears nothing more.
	h.Unwatch("a", a1)
	send(t, f, FeedEvent{Channel: "a", Payload: []byte("z")})
	send(t, f, FeedEvent{Channel: "b", Payload: []byte("w")})
	b.waitCalls(t, 1)
	a2.waitCalls(t, 1)
	if got, want := a1.Log(), []string{"resync a", "notify a x"}; !slices.Equal(got, want) {
		t.Errorf("unwatched a1 log = %q, want %q", got, want)
	}
	if got, want := a2.Log(), []string{"resync a", "notify a x", "notify a z"}; !slices.Equal(got, want) {
		t.Errorf("a2 log = %q, want %q", got, want)
	}
}

func TestHubRunReturns(t *testing.T) {
	tests := []struct {
		name string
		stop func(f *fakeFeed, cancel func())
	}{
		{"feed closed", func(f *fakeFeed, _ func()) { close(f.events) }},
		{"context cancelled", func(_ *fakeFeed, cancel func()) { cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeFeed()
			h := NewHub(f)
			w := newRecorder()
			if err := h.Watch(context.Background(), "a", w); err != nil {
				t.Fatalf("Watch(a) = %v", err)
			}
			cancel, done := mustRunHub(t, h)
			// The hub is running: it takes an event.
			send(t, f, FeedEvent{Channel: "a", Payload: []byte("1")})
			w.waitCalls(t, 1)
			tt.stop(f, cancel)
			select {
			case <-done:
			case <-time.After(waitFor):
				t.Fatalf("Hub.Run did not return within %v after %s", waitFor, tt.name)
			}
		})
	}
}

func TestHubConcurrentWatchers(t *testing.T) {
	// Many sockets come and go while events flow; the race detector and
	// the final counts check the hub's locking.
	ctx := context.Background()
	f := newFakeFeed()
	h := NewHub(f)
	mustRunHub(t, h)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case f.events <- FeedEvent{Channel: fmt.Sprint("ch", i%4), Payload: []byte("p")}:
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				w := &countingWatcher{}
				ch := fmt.Sprint("ch", (g+i)%4)
				if err := h.Watch(ctx, ch, w); err != nil {
					t.Errorf("Watch(%s) = %v", ch, err)
					return
				}
				h.Unwatch(ch, w)
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-sent
	if got := h.Channels(); got != 0 {
		t.Errorf("Channels() after every watcher left = %d, want 0", got)
	}
	subs, unsubs := 0, 0
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, "sub ") {
			subs++
		} else {
			unsubs++
		}
	}
	if subs != unsubs || subs == 0 {
		t.Errorf("feed got %d subscribes and %d unsubscribes, want as many of each (and some)", subs, unsubs)
	}
}

type countingWatcher struct {
	mu sync.Mutex
	n  int
}

func (w *countingWatcher) Notify(string, []byte) { w.mu.Lock(); w.n++; w.mu.Unlock() }
func (w *countingWatcher) Resync(string)         { w.mu.Lock(); w.n++; w.mu.Unlock() }
