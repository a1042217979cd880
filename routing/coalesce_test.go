package routing

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Many State calls at once, as the waiting visitors' sockets make after a
// routing change, each get their own conversation's state, the same as
// States reads for it alone; none is lost or mixed up.
func TestStateCoalesced(t *testing.T) {
	ctx := context.Background()
	q, _, _ := mustQueue(t, Config{})
	const n = 300
	for i := range n {
		mustEnqueue(t, q, fmt.Sprintf("c%03d", i), "public", i+1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for i := range n + 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%03d", i)
			st, err := q.State(ctx, id)
			if err != nil {
				errs <- err
				return
			}
			want, err := q.States(ctx, []string{id})
			if err != nil {
				errs <- err
				return
			}
			if st.ID != id || st.Status != want[0].Status || st.Position != want[0].Position {
				errs <- fmt.Errorf("State(%s) = %s at %d, States says %s at %d", id, st.Status, st.Position, want[0].Status, want[0].Position)
			}
			if i < n && (st.Status != StatusWaiting || st.Position != i+1) {
				errs <- fmt.Errorf("State(%s) = %s at %d, want waiting at %d", id, st.Status, st.Position, i+1)
			}
			if i == n && st.Status != "" {
				errs <- fmt.Errorf("State of an unknown conversation = %q, want none", st.Status)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := q.State(ctx, "c000"); err == nil {
		t.Error("State with a cancelled context succeeded")
	}
}

// A shared overview is read after it was asked for: a change made before
// the call is in it, however many consoles ask at once.
func TestSharedOverviewFresh(t *testing.T) {
	ctx := context.Background()
	q, _, _ := mustQueue(t, Config{})
	for round := range 5 {
		mustEnqueue(t, q, fmt.Sprintf("w%d", round), "public", round+1)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ov, err := q.SharedOverview(ctx)
				if err != nil {
					errs <- err
					return
				}
				if got := len(ov.Waiting); got != round+1 {
					errs <- fmt.Errorf("round %d: shared overview lists %d waiting, want %d", round, got, round+1)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}
