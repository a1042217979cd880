package web

import (
	"time"

	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// queueViewDepth is how many waiting conversations the console lists.
const queueViewDepth = 50

// queueView turns routing's overview into what the console's queue view
// and the supervisor's overview show of the queues, with times as seconds
// before now. Both show the same, so it is written once.
type queueView struct{ now time.Time }

func (v queueView) secs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(0, int64(v.now.Sub(t).Seconds()))
}

// queues is every queue's count and longest wait; byPriority adds the
// counts by priority (the supervisor's view).
func (v queueView) queues(ov routing.Overview, byPriority bool) []protocol.QueueStat {
	out := make([]protocol.QueueStat, len(ov.Queues))
	for i, q := range ov.Queues {
		out[i] = protocol.QueueStat{Name: q.Name, Waiting: q.Waiting, LongestWait: v.secs(q.Oldest)}
		if byPriority {
			out[i].ByPriority = q.ByPriority[:]
		}
	}
	return out
}

// waiting lists up to limit waiting conversations in routing's order:
// what routing holds of each, never anything the visitor wrote.
func (v queueView) waiting(ov routing.Overview, limit int) []protocol.Waiting {
	out := make([]protocol.Waiting, 0, min(len(ov.Waiting), limit))
	for _, w := range ov.Waiting[:min(len(ov.Waiting), limit)] {
		out = append(out, protocol.Waiting{ID: w.ID, Queue: w.Queue, Lang: w.Lang, Priority: w.Priority, Waited: v.secs(w.Enqueued), Position: w.Position})
	}
	return out
}
