package routing

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
)

// commandCounter counts the commands a client sends, pipelined ones one
// by one.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// checkSameAsStates fails unless got holds, for every id, what States
// reads for it.
func checkSameAsStates(t *testing.T, q *Queue, ids []string, got map[string]ConversationState) {
	t.Helper()
	want, err := q.States(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		g, ok := got[id]
		w := want[i]
		if !ok || g.Status != w.Status || g.Position != w.Position || g.EstimatedWait != w.EstimatedWait ||
			g.Advisor != w.Advisor || g.AdvisorAway != w.AdvisorAway || g.Queue != w.Queue {
			t.Errorf("%s: the set says %+v (%v), States %+v", id, g, ok, w)
		}
	}
}

// A set of waiting conversations follows assignments with positions and
// estimates that States would read, and what an update after a change
// costs in commands is the same with 10 conversations as with 200.
func TestStateSetFollowsChanges(t *testing.T) {
	ctx := context.Background()
	perUpdate := map[int]int64{}
	for _, n := range []int{10, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			q0, r, _ := mustQueue(t, Config{})
			c := mustClient(t, r)
			counter := &commandCounter{}
			c.AddHook(counter)
			q, err := New(c, q0.Config())
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			set := q.NewStateSet()
			for i := range n {
				id := fmt.Sprintf("c%03d", i)
				mustEnqueue(t, q, id, "public", i+1)
				ids = append(ids, id)
				set.Add(id)
			}
			set.Add("unknown")
			got, err := set.Update(ctx, true)
			if err != nil {
				t.Fatal(err)
			}
			checkSameAsStates(t, q, append(ids, "unknown"), got)
			if st := got["unknown"]; st.Status != "" {
				t.Errorf("an unknown conversation: %+v", st)
			}
			mustOnDuty(t, q, Advisor{Name: "anna", Capacity: 2, Audiences: []string{"public"}})
			if as := mustAssign(t, q, 10); len(as) != 2 {
				t.Fatalf("assigned %v, want two", pairs(as))
			}
			// The first update after the assignments reads the two that
			// left the queue; the next, after one more enqueue, reads
			// only the one added.
			if got, err = set.Update(ctx, false); err != nil {
				t.Fatal(err)
			}
			checkSameAsStates(t, q, ids, got)
			if got["c000"].Status != StatusActive || got["c002"].Position != 1 {
				t.Errorf("after two assignments: c000 %+v, c002 %+v", got["c000"], got["c002"])
			}
			mustEnqueue(t, q, "late", "public", n-1)
			set.Add("late")
			before := counter.n.Load()
			if got, err = set.Update(ctx, false); err != nil {
				t.Fatal(err)
			}
			perUpdate[n] = counter.n.Load() - before
			checkSameAsStates(t, q, append(ids, "late"), got)
			// An active conversation is read again when a change may
			// have ended it.
			mustRelease(t, q, "c000", StatusActive, "anna", true)
			if got, err = set.Update(ctx, true); err != nil {
				t.Fatal(err)
			}
			if got["c000"].Status != StatusEnded {
				t.Errorf("after release: c000 %+v", got["c000"])
			}
			checkSameAsStates(t, q, ids, got)
			set.Remove("c001")
			if got, err = set.Update(ctx, false); err != nil {
				t.Fatal(err)
			}
			if _, ok := got["c001"]; ok || set.Len() != n+1 {
				t.Errorf("removed c001 still in the set (%d in it)", set.Len())
			}
		})
	}
	if perUpdate[10] != perUpdate[200] || perUpdate[10] == 0 {
		t.Errorf("commands per update: %d with 10 waiting, %d with 200; want the same", perUpdate[10], perUpdate[200])
	}
	t.Logf("commands per update (client side): %v", perUpdate)
}

// Only the kinds of change that cannot touch an active conversation let
// an update skip reading it.
func TestChangeKeepsActive(t *testing.T) {
	for _, k := range []string{"enqueue", "assign", "accept", "priority"} {
		if !ChangeKeepsActive(k) {
			t.Errorf("%s: want kept", k)
		}
	}
	for _, k := range []string{"duty", "presence", "move", "release", "sweep", "", "other"} {
		if ChangeKeepsActive(k) {
			t.Errorf("%s: want not kept", k)
		}
	}
}
