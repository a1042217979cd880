package web

import (
	"testing"
	"time"
)

// TestHolds: a lease stands for its time; a drop ends it, or all with "";
// a lease read before a drop is not taken after it; no lease with no
// time.
func TestHolds(t *testing.T) {
	var h holds
	gen := h.generation()
	h.take("c1", gen, time.Minute)
	h.take("c2", gen, time.Minute)
	if !h.has("c1") || !h.has("c2") || h.has("c3") {
		t.Fatal("leases taken do not stand, or one not taken does")
	}
	h.drop("c1")
	if h.has("c1") || !h.has("c2") {
		t.Error("a drop of c1 did not end it alone")
	}
	h.take("c1", gen, time.Minute) // read before the drop
	if h.has("c1") {
		t.Error("a lease read before a drop was taken after it")
	}
	h.drop("")
	if h.has("c2") {
		t.Error("a drop of all left c2")
	}
	gen = h.generation()
	h.take("c3", gen, 0)
	h.take("c4", gen, time.Nanosecond)
	time.Sleep(time.Millisecond) // past a lease of a nanosecond, not a race
	if h.has("c3") || h.has("c4") {
		t.Error("a lease of no time, or one past its time, stands")
	}
}
