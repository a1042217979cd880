package main

import (
	"fmt"
	"testing"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestManyWaitingVisitorsFollowTheirPlace: the instance reads its waiting
// visitors' states together after each routing change and pushes each
// its own. Every one of many waiting visitors is told its new place when
// those ahead are assigned, and again when they come back to the front of
// the queue; the assigned ones are told they are active.
func TestManyWaitingVisitorsFollowTheirPlace(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_SOCKETS_PER_CLIENT": "100"})
	const n = 25
	vs := make([]*client, n)
	for i := range vs {
		vs[i], _, _ = startConversation(t, a, "public")
		vs[i].expect(fmt.Sprintf("visitor %d waiting at %d", i, i+1), waitingAt(i+1))
	}
	adv, _ := onDutyAdvisor(t, a, "marit", "-name", "Marit", "-max", "3")
	for i := range 3 {
		adv.expectType("assigned")
		vs[i].expect(fmt.Sprintf("visitor %d active", i), func(f frame) bool {
			return f.str("type") == "state" && f.str("status") == "active"
		})
	}
	for i := 3; i < n; i++ {
		vs[i].expect(fmt.Sprintf("visitor %d moved up to %d", i, i-2), waitingAt(i-2))
	}
	// Off duty: the three go back to the front, the others back to where
	// they were.
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(false)})
	for i := range n {
		vs[i].expect(fmt.Sprintf("visitor %d waiting at %d again", i, i+1), waitingAt(i+1))
	}
}

func waitingAt(pos int) func(frame) bool {
	return func(f frame) bool {
		return f.str("type") == "state" && f.str("status") == "waiting" && f.num("position") == int64(pos)
	}
}
