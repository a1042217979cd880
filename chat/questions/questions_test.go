package questions

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/keep"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

func newStore(t *testing.T, keepFor time.Duration) (*Store, *redistest.Redis) {
	r := redistest.New(t)
	return New(r.Client, Options{Prefix: r.Prefix, Keep: keepFor, Audiences: []string{"public", "professional"}, Langs: []string{"nl", "en"}}), r
}

func leave(t *testing.T, s *Store, audience, lang, text string, left time.Time) Question {
	t.Helper()
	k := keep.NewCode().Keys()
	q := Question{Audience: audience, Lang: lang, Text: text, Left: left, Keys: k.Encode(), Lookup: k.Lookup}
	id, err := s.Leave(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	q.ID = id
	return q
}

func TestOpenOldestFirstPerIndex(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, time.Hour)
	now := time.Now()
	b := leave(t, s, "public", "nl", "tweede", now.Add(-time.Minute))
	a := leave(t, s, "public", "nl", "eerste", now.Add(-2*time.Minute))
	c := leave(t, s, "professional", "en", "third", now)
	idx, err := s.Open(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, i := range idx {
		for _, q := range i.Questions {
			if q.Text != "" {
				t.Errorf("the view carries the text of %s", q.ID)
			}
			got[i.Audience+":"+i.Lang] = append(got[i.Audience+":"+i.Lang], q.ID)
		}
		want := map[string]int{"public:nl": 2, "professional:en": 1}[i.Audience+":"+i.Lang]
		if i.Open != want {
			t.Errorf("%s:%s open = %d, want %d", i.Audience, i.Lang, i.Open, want)
		}
	}
	if l := got["public:nl"]; len(l) != 2 || l[0] != a.ID || l[1] != b.ID {
		t.Errorf("public:nl = %v, want oldest first [%s %s]", l, a.ID, b.ID)
	}
	if l := got["professional:en"]; len(l) != 1 || l[0] != c.ID {
		t.Errorf("professional:en = %v, want [%s]", l, c.ID)
	}
	by, err := s.ByLookup(ctx, a.Lookup)
	if err != nil || len(by) != 1 || by[0].Text != "eerste" {
		t.Errorf("ByLookup = %+v, %v", by, err)
	}
}

// TestTakeOnceAmongMany races advisors for one question: exactly one
// holds it, the others are told it is taken; the holder may give it back,
// and a lapsed take goes to the next.
func TestTakeOnceAmongMany(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, time.Hour)
	now := time.Now()
	q := leave(t, s, "public", "nl", "vraag", now)
	names := []string{"anna", "bram", "cor", "dirk", "eva", "fien", "gijs", "hans"}
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	start := make(chan struct{})
	for i, n := range names {
		wg.Go(func() {
			<-start
			_, errs[i] = s.Take(ctx, q.ID, n, now, time.Minute)
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if winner != "" {
				t.Fatalf("both %s and %s took the question", winner, names[i])
			}
			winner = names[i]
		case !errors.Is(err, ErrTaken):
			t.Fatalf("%s: %v, want ErrTaken", names[i], err)
		}
	}
	if winner == "" {
		t.Fatal("nobody took the question")
	}
	got, err := s.Get(ctx, q.ID)
	if err != nil || !got.TakenBy(winner, now) {
		t.Fatalf("Get = %+v, %v; want taken by %s", got, err, winner)
	}
	other := "zz"
	if ok, _ := s.Release(ctx, q.ID, other); ok {
		t.Error("someone else released the winner's question")
	}
	// After the lease, another may take it.
	if _, err := s.Take(ctx, q.ID, other, now.Add(2*time.Minute), time.Minute); err != nil {
		t.Fatalf("take after the lease: %v", err)
	}
	if ok, err := s.Release(ctx, q.ID, other); !ok || err != nil {
		t.Fatalf("Release = %v, %v", ok, err)
	}
	if _, err := s.Take(ctx, q.ID, winner, now.Add(2*time.Minute), time.Minute); err != nil {
		t.Fatalf("take after a release: %v", err)
	}

	if ok, err := s.Finish(ctx, got); !ok || err != nil {
		t.Fatalf("Finish = %v, %v", ok, err)
	}
	if _, err := s.Take(ctx, q.ID, other, now, time.Minute); !errors.Is(err, ErrGone) {
		t.Fatalf("take of an answered question: %v, want ErrGone", err)
	}
	if ok, _ := s.Finish(ctx, got); ok {
		t.Error("a second Finish found the question")
	}
}

func TestSweepCountsExpiredOnce(t *testing.T) {
	ctx := context.Background()
	s, r := newStore(t, time.Second)
	q := leave(t, s, "public", "en", "at night", time.Now())
	if n, err := s.Sweep(ctx); n != 0 || err != nil {
		t.Fatalf("Sweep before the expiry = %d, %v", n, err)
	}
	if r.Mini != nil {
		r.Mini.FastForward(2 * time.Second)
	} else {
		deadline := time.Now().Add(10 * time.Second)
		for r.Client.Exists(ctx, s.hashKey(q.ID)).Val() == 1 {
			if time.Now().After(deadline) {
				t.Fatal("question outlived its keep")
			}
			time.Sleep(50 * time.Millisecond) // polling Redis's expiry
		}
	}
	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Go(func() {
			n, err := s.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 1 {
		t.Errorf("sweeps counted %v, want one expiry in all", counts)
	}
	idx, _ := s.Open(ctx, 50)
	for _, i := range idx {
		if i.Open != 0 {
			t.Errorf("%s:%s still counts %d", i.Audience, i.Lang, i.Open)
		}
	}
}
