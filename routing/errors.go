package routing

import "errors"

// Errors of the routing calls, to be told apart with errors.Is.
var (
	// ErrUnknownQueue is returned for a queue not in the configuration.
	ErrUnknownQueue = errors.New("unknown queue")
	// ErrBadPriority is returned for a priority outside PriorityNormal to
	// PriorityUrgent.
	ErrBadPriority = errors.New("priority out of range")
	// ErrOfferExpired refuses an Accept of a conversation that is no
	// longer offered to that advisor: the offer expired, was taken back,
	// went to someone else, or the conversation ended.
	ErrOfferExpired = errors.New("offer expired")
	// ErrNotHeld refuses a Transfer by an advisor who does not hold the
	// conversation (active).
	ErrNotHeld = errors.New("conversation not held by that advisor")
	// ErrNotWaiting refuses a Pick of a conversation that is not waiting
	// (offered to someone, active or ended).
	ErrNotWaiting = errors.New("conversation not waiting")
	// ErrAdvisorOffDuty refuses a move to an advisor who is off duty or
	// unknown.
	ErrAdvisorOffDuty = errors.New("advisor off duty")
	// ErrAdvisorFull refuses a move to an advisor whose held and offered
	// conversations fill their capacity.
	ErrAdvisorFull = errors.New("advisor at capacity")
	// ErrNotSkilled refuses a Pick by an advisor without the
	// conversation's audience among their skills.
	ErrNotSkilled = errors.New("advisor lacks the audience skill")
	// ErrEnded is returned for a conversation that has ended or is
	// unknown to routing.
	ErrEnded = errors.New("conversation ended or unknown")
	// ErrBadTarget refuses a Target with neither or both of advisor and
	// queue, or a move to where the conversation is already.
	ErrBadTarget = errors.New("bad target")
)
