package routing

import (
	"context"
	"fmt"
)

// Priorities of a waiting conversation. A conversation of higher priority
// goes before every one of lower priority, however long they have waited;
// within one priority the longest waiting goes first.
const (
	PriorityNormal = 0
	PriorityHigh   = 1
	// PriorityUrgent is for a visitor who said they are in danger now.
	PriorityUrgent = 2
)

// priorityShift is how far each step of priority moves a queue score: the
// score is the enqueue time in Unix ms less priority times this, 2^42 ms
// (some 139 years). Keep it equal to PRI_SHIFT in lua/lib.lua.
const priorityShift = 1 << 42

func checkPriority(p int) error {
	if p < PriorityNormal || p > PriorityUrgent {
		return fmt.Errorf("%w: %d", ErrBadPriority, p)
	}
	return nil
}

// SetPriority changes a conversation's priority. A waiting conversation
// moves to its new place at once, keeping its waiting time; an offered or
// active one keeps the priority for when it waits again. It returns an
// error wrapping ErrBadPriority for a priority out of range and ErrEnded
// for a conversation that ended or is unknown.
func (q *Queue) SetPriority(ctx context.Context, id string, p int) error {
	if err := checkPriority(p); err != nil {
		return fmt.Errorf("set priority of %s: %w", id, err)
	}
	res, err := priorityScript.Run(ctx, q.rdb, []string{q.convKey(id)}, q.args(id, p)...).Text()
	if err != nil {
		return fmt.Errorf("set priority of %s: %w", id, err)
	}
	if res != "ok" {
		return fmt.Errorf("set priority of %s: %w", id, ErrEnded)
	}
	return nil
}
