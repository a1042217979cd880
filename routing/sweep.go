package routing

import (
	"context"
	"fmt"
	"time"
)

// Causes of a requeue, as SweepResult and the requeue metric name them.
const (
	CauseAdvisorLost   = "advisor_lost"   // their heartbeat stopped
	CauseOffDuty       = "off_duty"       // they went off duty
	CauseOfferExpired  = "offer_expired"  // an offer was not accepted in time
	CauseNotResponding = "not_responding" // they missed Config.MissedOffers offers in a row
	CauseTransferred   = "transferred"    // moved from an advisor to a queue
)

// Requeue is a conversation that went back to the queue because its
// advisor was lost or stopped responding.
type Requeue struct {
	Conversation string
	Advisor      string
	// Cause is CauseAdvisorLost or CauseNotResponding.
	Cause string
}

// ExpiredOffer is an offer that was not accepted in time: the conversation
// is back at its place in the queue, and Advisor is not offered it again
// while another eligible advisor has room.
type ExpiredOffer struct {
	Conversation string
	Advisor      string
	// NotResponding is set when this was the advisor's last allowed miss:
	// they are off duty now, their conversations back in the queue
	// (SweepResult.Requeued and Withdrawn with CauseNotResponding).
	NotResponding bool
}

// Abandonment is a conversation ended because its visitor stayed away.
type Abandonment struct {
	Conversation string
	// Was is its state then: StatusWaiting, StatusOffered or StatusActive.
	Was string
	// Advisor held it, or had it offered; "" if it waited.
	Advisor string
}

// SweepResult is what one sweep claimed.
type SweepResult struct {
	// Requeued were active and are back in the queue: the visitor's
	// advisor was lost or stopped responding.
	Requeued []Requeue
	// Abandoned are the ids of Abandonments.
	Abandoned    []string
	Abandonments []Abandonment
	// OffersExpired were not accepted in time.
	OffersExpired []ExpiredOffer
	// MaxWaited have waited Config.MaxWait and still wait (waiting or
	// offered); each is reported once.
	MaxWaited []string
	// Withdrawn were offered to an advisor who was lost or stopped
	// responding, and are back in the queue; nobody had joined them.
	Withdrawn []Requeue
}

// outageGap is the longest time between two sweeps (each instance sweeps
// every second) that is not an outage. After a longer gap the deadlines
// and timers move on by the gap before anything is claimed, so the first
// sweep after a Redis failover does not take every advisor off duty nor
// expire every offer.
const outageGap = 5 * time.Second

// timersPerSweep bounds the timers one sweep fires, and so how long its
// script blocks Redis; the rest fire on the next sweep.
const timersPerSweep = 500

// Sweep acts on expired heartbeats and due timers; see lua/sweep.lua. Each
// is claimed by exactly one caller, whichever instance sweeps first, and
// fires even if the instance that set it is gone.
func (q *Queue) Sweep(ctx context.Context) (SweepResult, error) {
	missed := q.cfg.MissedOffers
	if missed < 0 {
		missed = 0
	}
	res, err := sweepScript.Run(ctx, q.rdb, []string{q.p + "seen"},
		q.args(q.cfg.AdvisorGrace.Milliseconds(), q.cfg.VisitorGrace.Milliseconds(), seconds(q.cfg.Retention),
			outageGap.Milliseconds(), missed, timersPerSweep)...).Slice()
	if err != nil {
		return SweepResult{}, fmt.Errorf("sweep: %w", err)
	}
	var out SweepResult
	if len(res) != 5 {
		return out, fmt.Errorf("sweep: unexpected reply %v", res)
	}
	requeues := func(v any) []Requeue {
		l := strs(v)
		var rs []Requeue
		for i := 0; i+2 < len(l); i += 3 {
			rs = append(rs, Requeue{Conversation: l[i], Advisor: l[i+1], Cause: l[i+2]})
		}
		return rs
	}
	out.Requeued = requeues(res[0])
	ab := strs(res[1])
	for i := 0; i+2 < len(ab); i += 3 {
		out.Abandoned = append(out.Abandoned, ab[i])
		out.Abandonments = append(out.Abandonments, Abandonment{Conversation: ab[i], Was: ab[i+1], Advisor: ab[i+2]})
		state := StatusWaiting // offered: still waiting, for the visitor
		if ab[i+1] == StatusActive {
			state = StatusActive
		}
		q.report(ctx, FieldAbandoned(state))
	}
	ex := strs(res[2])
	for i := 0; i+2 < len(ex); i += 3 {
		out.OffersExpired = append(out.OffersExpired, ExpiredOffer{Conversation: ex[i], Advisor: ex[i+1], NotResponding: ex[i+2] == "1"})
	}
	out.MaxWaited = strs(res[3])
	out.Withdrawn = requeues(res[4])
	return out, nil
}
