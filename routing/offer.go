package routing

import (
	"context"
	"fmt"
	"time"
)

// Accept makes a conversation offered to advisor theirs (active), and
// starts their count of missed offers afresh. The advisor is told
// "assigned" on their channel, as for a direct assignment; the caller
// writes the joined entry with the Assignment returned. It is refused with
// ErrOfferExpired once the offer's deadline has passed (even before a
// sweep claims it) or when the conversation is no longer offered to that
// advisor: expired and offered again, taken back, reassigned, ended, or
// accepted already.
func (q *Queue) Accept(ctx context.Context, id, advisor string) (Assignment, error) {
	now := time.UnixMilli(q.cfg.Now().UnixMilli())
	res, err := acceptScript.Run(ctx, q.rdb, []string{q.convKey(id)}, q.argsAt(now, id, advisor)...).StringSlice()
	if err != nil {
		return Assignment{}, fmt.Errorf("accept %s by %s: %w", id, advisor, err)
	}
	if len(res) != 5 || res[0] != "ok" {
		return Assignment{}, fmt.Errorf("accept %s by %s: %w", id, advisor, ErrOfferExpired)
	}
	a := Assignment{Conversation: id, Advisor: advisor, Alias: res[1], Enqueued: unixMilli(res[2]), Assigned: now,
		Priority: atoi(res[3]), Queue: res[4], From: advisor, Was: StatusOffered}
	q.reportAnswered(ctx, a)
	return a, nil
}
