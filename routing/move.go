package routing

import (
	"context"
	"fmt"
	"time"
)

// Target is where a conversation moves: to one advisor, who holds it at
// once (no offer), or to one queue, where it waits again with its original
// waiting time and priority, before all who came after it. Exactly one of
// the two is set.
type Target struct {
	Advisor string
	Queue   string
}

// String names the target for errors and logs.
func (t Target) String() string {
	if t.Advisor != "" {
		return "advisor " + t.Advisor
	}
	return "queue " + t.Queue
}

// Transfer moves a conversation that advisor from holds (active) to
// another advisor or a queue. To an advisor, they must be on duty
// (ErrAdvisorOffDuty, also for an unknown name) with room: held and
// offered conversations below capacity (ErrAdvisorFull); their skills are
// not checked, the transfer is a person's decision. To a queue, it must be
// configured (ErrUnknownQueue) and the conversation's audience becomes that
// queue. from is told "unassigned" with reason "transferred", a new
// advisor "assigned". Refused with ErrNotHeld when from does not hold it.
//
// The Assignment returned says where it went (Advisor and Alias, or Queue)
// for the caller's "transferred" entry; From is from.
func (q *Queue) Transfer(ctx context.Context, id, from string, to Target) (Assignment, error) {
	if to.Advisor == from && to.Queue == "" {
		return Assignment{}, fmt.Errorf("transfer %s from %s to itself: %w", id, from, ErrBadTarget)
	}
	return q.move(ctx, "transfer", id, from, to)
}

// Reassign is the supervisor's move of a conversation, whoever has it: a
// waiting one leaves its queue, an offered one's offer is taken back, an
// active one leaves its advisor, who is told "unassigned" with reason
// "reassigned". The target is checked as for Transfer. Refused with
// ErrEnded for a conversation that ended or is unknown, and ErrBadTarget
// for a move to the advisor who holds it already. From and Was of the
// Assignment say who had it and how.
func (q *Queue) Reassign(ctx context.Context, id string, to Target) (Assignment, error) {
	return q.move(ctx, "reassign", id, "", to)
}

// Pick gives a waiting conversation to advisor, who took it by hand from
// the queue view: it is theirs (active) at once. Refused with ErrNotWaiting
// if it is not waiting (offered, active, ended, unknown),
// ErrAdvisorOffDuty, ErrAdvisorFull, and ErrNotSkilled if the conversation's
// audience is not among the advisor's; its language is the advisor's call.
func (q *Queue) Pick(ctx context.Context, id, advisor string) (Assignment, error) {
	return q.move(ctx, "pick", id, advisor, Target{Advisor: advisor})
}

var moveErrors = map[string]error{
	"not_held":    ErrNotHeld,
	"not_waiting": ErrNotWaiting,
	"ended":       ErrEnded,
	"off_duty":    ErrAdvisorOffDuty,
	"full":        ErrAdvisorFull,
	"not_skilled": ErrNotSkilled,
	"same":        ErrBadTarget,
}

func (q *Queue) move(ctx context.Context, mode, id, from string, to Target) (Assignment, error) {
	if (to.Advisor == "") == (to.Queue == "") {
		return Assignment{}, fmt.Errorf("%s %s: %w: want an advisor or a queue", mode, id, ErrBadTarget)
	}
	if to.Queue != "" && !q.HasQueue(to.Queue) {
		return Assignment{}, fmt.Errorf("%s %s: %w %q", mode, id, ErrUnknownQueue, to.Queue)
	}
	now := time.UnixMilli(q.cfg.Now().UnixMilli())
	res, err := moveScript.Run(ctx, q.rdb, []string{q.convKey(id)}, q.argsAt(now, id, mode, from, to.Advisor, to.Queue)...).StringSlice()
	if err != nil {
		return Assignment{}, fmt.Errorf("%s %s to %s: %w", mode, id, to, err)
	}
	if len(res) == 1 && moveErrors[res[0]] != nil {
		return Assignment{}, fmt.Errorf("%s %s to %s: %w", mode, id, to, moveErrors[res[0]])
	}
	if len(res) != 8 || res[0] != "ok" {
		return Assignment{}, fmt.Errorf("%s %s to %s: unexpected reply %q", mode, id, to, res)
	}
	a := Assignment{Conversation: id, Advisor: res[1], Alias: res[2], Enqueued: unixMilli(res[3]), Assigned: now,
		Priority: atoi(res[4]), Queue: res[5], From: res[6], Was: res[7]}
	if a.Was != StatusActive {
		// Its wait is over (reportAnswered ignores a move to a queue).
		q.reportAnswered(ctx, a)
	}
	return a, nil
}
