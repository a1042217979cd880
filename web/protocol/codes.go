package protocol

import (
	"errors"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
)

// Code is an error frame's code (and an HTTP refusal's "error").
type Code string

// The error codes; docs/protocol.md says when each is sent.
const (
	CodeBadJSON        Code = "bad_json"          // not a JSON text object with a string type
	CodeBadUTF8        Code = "bad_utf8"          // a message's text is not valid UTF-8
	CodeBadRequest     Code = "bad_request"       // a field is missing or wrong
	CodeUnknownType    Code = "unknown_type"      // no such frame type here
	CodeNotStarted     Code = "not_started"       // start, resume or hello comes first
	CodeEmpty          Code = "empty"             // a message without text
	CodeTooLong        Code = "too_long"          // a message over 4000 characters
	CodeRateLimited    Code = "rate_limited"      // too many messages or conversations
	CodeClosed         Code = "closed"            // outside opening hours
	CodeBusy           Code = "busy"              // the wait would be too long
	CodeUnavailable    Code = "unavailable"       // the sender is blocked
	CodeNotFound       Code = "not_found"         // no such conversation (of yours)
	CodeUnauthorized   Code = "unauthorized"      // bad token, or the session has ended
	CodeForbidden      Code = "forbidden"         // not a supervisor
	CodeEnded          Code = "ended"             // the conversation has ended
	CodeInternal       Code = "internal"          // the server failed; retry
	CodeOfferExpired   Code = "offer_expired"     // the offer is gone
	CodeNotWaiting     Code = "not_waiting"       // no longer waiting to be picked
	CodeAdvisorOffDuty Code = "advisor_off_duty"  // a transfer to someone not on duty
	CodeAdvisorFull    Code = "advisor_full"      // a transfer to someone without room
	CodeNotSkilled     Code = "not_skilled"       // the audience is not the advisor's
	CodeUnknownQueue   Code = "unknown_queue"     // a transfer to no such queue
	CodeNotEnded       Code = "not_ended"         // feedback before the end
	CodeFull           Code = "conversation_full" // the conversation holds all it may
	CodeUnknownCode    Code = "unknown_code"      // a return code that is wrong, expired or malformed
	CodeAlreadyKept    Code = "already_kept"      // a conversation has one return code at most
	CodeChatOpen       Code = "chat_open"         // a new question while the chat is open and not busy
	CodeQuestionTaken  Code = "question_taken"    // another advisor is answering the question
)

// Codes that are counted as refusals but never sent in an error frame:
// the handshake is refused with 403, the socket is closed with 1008.
const (
	CodeBadOrigin      Code = "bad_origin"
	CodeStartTimeout   Code = "start_timeout"
	CodeTooManySockets Code = "too_many_sockets" // handshake refused with 429
)

// Codes lists every code an error frame or HTTP refusal may carry, for
// the documentation's conformance test.
var Codes = []Code{
	CodeBadJSON, CodeBadUTF8, CodeBadRequest, CodeUnknownType, CodeNotStarted,
	CodeEmpty, CodeTooLong, CodeRateLimited, CodeClosed, CodeBusy,
	CodeUnavailable, CodeNotFound, CodeUnauthorized, CodeForbidden, CodeEnded,
	CodeInternal, CodeOfferExpired, CodeNotWaiting, CodeAdvisorOffDuty,
	CodeAdvisorFull, CodeNotSkilled, CodeUnknownQueue, CodeNotEnded, CodeFull,
	CodeUnknownCode, CodeAlreadyKept, CodeChatOpen, CodeQuestionTaken,
}

// refusal is one row of the table from errors to codes.
type refusal struct {
	err  error
	code Code
	msg  string // "": the error's own text
}

// refusals is the one table from the chat and routing packages' errors to
// what a client is told. An error not in it is the server's failure:
// CodeInternal, and logged.
var refusals = []refusal{
	{chat.ErrEnded, CodeEnded, "the conversation has ended"},
	{chat.ErrNotFound, CodeNotFound, "no such conversation"},
	{chat.ErrUnauthorized, CodeUnauthorized, "token does not match the conversation"},
	{chat.ErrClientIDReused, CodeBadRequest, ""},
	{chat.ErrRateLimited, CodeRateLimited, ""},
	{chat.ErrConversationFull, CodeFull, "this conversation is as long as a conversation may be; the advisor can end it, and you can start a new one"},
	{chat.ErrEmptyText, CodeEmpty, ""},
	{chat.ErrTextTooLong, CodeTooLong, ""},
	{chat.ErrBadUTF8, CodeBadUTF8, ""},
	{chat.ErrControlChar, CodeBadRequest, ""},
	{chat.ErrBadClientID, CodeBadRequest, ""},
	{chat.ErrBadAudience, CodeBadRequest, ""},
	{chat.ErrBadDisplayArg, CodeBadRequest, ""},
	{routing.ErrOfferExpired, CodeOfferExpired, "the offer has expired or gone to someone else"},
	{routing.ErrNotWaiting, CodeNotWaiting, "the conversation is no longer waiting"},
	{routing.ErrNotHeld, CodeNotFound, "not one of your open conversations"},
	{routing.ErrEnded, CodeEnded, "the conversation has ended"},
	{routing.ErrAdvisorOffDuty, CodeAdvisorOffDuty, "that advisor is not on duty"},
	{routing.ErrAdvisorFull, CodeAdvisorFull, "that advisor has no room for another conversation"},
	{routing.ErrNotSkilled, CodeNotSkilled, "this conversation's audience is not among your skills"},
	{routing.ErrUnknownQueue, CodeUnknownQueue, "no such queue"},
	{routing.ErrBadTarget, CodeBadRequest, "transfer needs exactly one of to_advisor and to_queue, other than where it is"},
	{routing.ErrBadPriority, CodeBadRequest, "priority must be 0, 1 or 2"},
}

// Refusal returns the code and message a client is told for err, and
// false for nil or an error that is no refusal but a failure.
func Refusal(err error) (Code, string, bool) {
	if err == nil {
		return "", "", false
	}
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			if r.msg == "" {
				return r.code, err.Error(), true
			}
			return r.code, r.msg, true
		}
	}
	return "", "", false
}
