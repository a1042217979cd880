package routing

import (
	"context"
	_ "embed"
	"fmt"
	"time"
)

//go:embed lua/presence.lua
var presenceLua string

var presenceScript = script(presenceLua)

// presenceFor is Config.PresenceFor when it is not set: half the advisor
// grace.
func (q *Queue) presenceFor() time.Duration {
	if q.cfg.PresenceFor > 0 {
		return q.cfg.PresenceFor
	}
	return q.cfg.AdvisorGrace / 2
}

// Present records that instance holds a live console socket of each
// advisor named, until Config.PresenceFor from now; the instance renews it
// with every heartbeat. An advisor is connected while any instance's
// record has not run out. Only a connected advisor is given new
// conversations (assigned, offered, transferred or reassigned to them);
// one who is not keeps what they hold through the advisor grace, and their
// visitors are told (ConversationState.AdvisorAway). instance is any name
// unique to the calling process.
func (q *Queue) Present(ctx context.Context, instance string, names ...string) error {
	return q.presence(ctx, instance, true, names)
}

// Absent records that instance holds no console socket of advisor any
// more (the last one closed). With no other instance's record left the
// advisor is no longer connected, at once.
func (q *Queue) Absent(ctx context.Context, instance, advisor string) error {
	return q.presence(ctx, instance, false, []string{advisor})
}

func (q *Queue) presence(ctx context.Context, instance string, up bool, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if instance == "" {
		return fmt.Errorf("presence: no instance name")
	}
	flag := "0"
	if up {
		flag = "1"
	}
	args := q.args(instance, flag, q.presenceFor().Milliseconds(), seconds(q.cfg.IdleTTL))
	for _, n := range names {
		args = append(args, n)
	}
	if err := presenceScript.Run(ctx, q.rdb, []string{q.p + "seen"}, args...).Err(); err != nil {
		return fmt.Errorf("presence: %w", err)
	}
	return nil
}

// Connected reports whether an advisor has a live console (Present) on
// some instance; an advisor whose presence was never recorded counts as
// connected.
func (q *Queue) Connected(ctx context.Context, advisor string) (bool, error) {
	now := q.cfg.Now().UnixMilli()
	pipe := q.rdb.Pipeline()
	ex := pipe.Exists(ctx, q.liveKey(advisor))
	n := pipe.ZCount(ctx, q.liveKey(advisor), fmt.Sprintf("(%d", now), "+inf")
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("connected %s: %w", advisor, err)
	}
	return ex.Val() == 0 || n.Val() > 0, nil
}

func (q *Queue) liveKey(name string) string { return q.p + "adv:" + name + ":live" }
