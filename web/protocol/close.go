package protocol

import "github.com/coder/websocket"

// StatusSlow closes a socket whose client does not read fast enough, or
// whose write failed; the client resumes from its last seq.
const StatusSlow websocket.StatusCode = 4008

// StatusTakenOver closes a visitor's socket when a newer one, in another
// tab or on another instance, took over its conversation. The page does
// not reconnect by itself: it says the chat is open elsewhere.
const StatusTakenOver websocket.StatusCode = 4001

// Close is how the server closes a socket: the status code, which tells
// the client what to do, and a reason for people reading logs.
type Close struct {
	Code   websocket.StatusCode
	Reason string
}

// The closes the server makes. 1000: done, do not reconnect; 1001: this
// instance is going, reconnect at once; 1008: refused, do not reconnect
// with the same credentials; 1011: the server failed, reconnect with
// backoff; 1013: try again later, with backoff; 4001: taken over by
// another socket, do not reconnect by yourself; 4008: too slow, resume.
var (
	CloseNormal              = Close{websocket.StatusNormalClosure, ""}
	CloseEnded               = Close{websocket.StatusNormalClosure, "conversation ended"}
	CloseShutdown            = Close{websocket.StatusGoingAway, "server restarting, reconnect"}
	CloseGoingAway           = Close{websocket.StatusGoingAway, "server going away"}
	CloseNoPong              = Close{websocket.StatusGoingAway, "no pong"}
	CloseUnknownConversation = Close{websocket.StatusPolicyViolation, "unknown conversation"}
	CloseBadToken            = Close{websocket.StatusPolicyViolation, "bad token"}
	CloseSessionEnded        = Close{websocket.StatusPolicyViolation, "session ended"}
	CloseLoggedOut           = Close{websocket.StatusPolicyViolation, "logged out"}
	CloseNotSupervisor       = Close{websocket.StatusPolicyViolation, "not a supervisor"}
	CloseNoStart             = Close{websocket.StatusPolicyViolation, "no start frame"}
	CloseInternal            = Close{websocket.StatusInternalError, "internal error, reconnect"}
	CloseSlow                = Close{StatusSlow, "too slow, reconnect"}
	CloseWriteFailed         = Close{StatusSlow, "write failed"}
	CloseTakenOver           = Close{StatusTakenOver, "opened in another tab"}
	CloseTryLater            = Close{websocket.StatusTryAgainLater, "too many reconnects, try later"}
)

// Closes lists every close the server makes, for the documentation's
// conformance test.
var Closes = []Close{
	CloseNormal, CloseEnded, CloseShutdown, CloseGoingAway, CloseNoPong,
	CloseUnknownConversation, CloseBadToken, CloseSessionEnded, CloseLoggedOut,
	CloseNotSupervisor, CloseNoStart, CloseInternal, CloseSlow, CloseWriteFailed,
	CloseTakenOver, CloseTryLater,
}
