package main

import (
	"testing"

	"github.com/advicechat/advicechat/web/protocol"
)

// colleagues are the names in a queue frame's advisors list.
func colleagues(f frame) []string {
	var names []string
	for _, a := range frameItems(f, "advisors") {
		names = append(names, a.str("name"))
	}
	return names
}

// After a routing change the instance pushes every console the queue view
// and its own status: a colleague going on and off duty shows in the list
// of those one can transfer to (never oneself), and a duty change made in
// another tab shows in this one.
func TestConsolesHearRoutingChanges(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	anna, annaHC := onDutyAdvisor(t, a, "anna", "-name", "Anna")
	bram, _ := onDutyAdvisor(t, a, "bram", "-name", "Bram", "-max", "2")

	isQueueWith := func(names ...string) func(frame) bool {
		return func(f frame) bool {
			if f.str("type") != protocol.TypeQueue {
				return false
			}
			got := colleagues(f)
			if len(got) != len(names) {
				return false
			}
			for i := range got {
				if got[i] != names[i] {
					return false
				}
			}
			return true
		}
	}
	f := anna.expectKeeping("Bram among the colleagues", isQueueWith("bram"))
	if c := frameItems(f, "advisors")[0]; c.str("alias") != "Bram" || c.num("capacity") != 2 {
		t.Errorf("Bram listed as %v", c)
	}
	// (Bram's first view listed Anna already; a view the page has is not
	// sent again.)

	// Anna's second tab goes off duty: her first tab hears it.
	tab := a.advisor(t, annaHC, nil)
	tab.expectType("status")
	tab.send(protocol.Duty{Type: protocol.TypeDuty, On: new(false)})
	anna.expectKeeping("off duty in the first tab too", func(f frame) bool { return f.str("type") == protocol.TypeStatus && f["duty"] == false })
	bram.expectKeeping("Anna gone from the colleagues", isQueueWith())

	bram.send(protocol.Duty{Type: protocol.TypeDuty, On: new(false)})
	anna.expectKeeping("Bram gone from the colleagues", isQueueWith())
}
