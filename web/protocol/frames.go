// Package protocol is the wire protocol of the service's WebSockets, as
// docs/protocol.md describes it: every frame a client sends or receives,
// the catalogue of error codes and close codes, and the one table that
// turns the chat and routing packages' errors into codes.
//
// The server, the load tool and the test clients all use these types, so
// the protocol is written once in Go. A frame is a JSON object whose
// "type" names it; each struct here carries that field.
package protocol

import (
	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/keep"
)

// Frame types a client sends.
const (
	TypeStart    = "start"    // visitor: a new conversation
	TypeResume   = "resume"   // visitor: an existing conversation
	TypeMessage  = "message"  // both: a message (also a server entry kind)
	TypeEnd      = "end"      // both: end a conversation
	TypeTyping   = "typing"   // both: the sender is typing (also sent by the server)
	TypeHello    = "hello"    // advisor: the first frame, what the page has
	TypeDuty     = "duty"     // advisor: on or off duty
	TypeAccept   = "accept"   // advisor: accept an offer
	TypePick     = "pick"     // advisor: take a waiting conversation by hand
	TypeTransfer = "transfer" // advisor: hand a conversation on
	TypeAlias    = "alias"    // advisor: the display name
	TypeNote     = "note"     // advisor: an internal note
	TypeBlock    = "block"    // advisor: end and block the sender
)

// Frame types the server sends.
const (
	TypeStarted     = "started"
	TypeState       = "state"
	TypeAck         = "ack"
	TypeError       = "error"
	TypeEntry       = "entry"
	TypeInterrupted = "interrupted"
	TypeConsole     = "console"
	TypeStatus      = "status"
	TypeQueue       = "queue"
	TypeAssigned    = "assigned"
	TypeOffered     = "offered"
	TypeUnassigned  = "unassigned"
	TypeOffDuty     = "off_duty"
	TypeOverview    = "overview"
	TypeEarlier     = "earlier"
)

// Head is what every frame has: its type. A pointer, so that a frame
// without one can be told from one with an empty type.
type Head struct {
	Type *string `json:"type"`
}

// Start asks for a new conversation (visitor).
type Start struct {
	Type     string `json:"type"`
	Audience string `json:"audience"`
	Lang     string `json:"lang"`
	// Fallback: may an advisor who speaks a fallback language answer
	// after a while; absent means yes.
	Fallback *bool `json:"fallback,omitempty"`
	// Urgent: the visitor said they are in danger now. The conversation
	// goes before all others.
	Urgent bool `json:"urgent,omitempty"`
	// Code: the visitor came back with a return code; the new
	// conversation continues the thread kept under it.
	Code string `json:"code,omitempty"`
}

// Resume reattaches a socket to a conversation (visitor): After is the last
// seq the client holds and At that entry's at, which lets the server tell
// a loss in a failover.
type Resume struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Token        string `json:"token"`
	After        int64  `json:"after"`
	At           int64  `json:"at,omitempty"`
}

// Message is a message or an internal note. A visitor's socket has one
// conversation and leaves Conversation empty.
type Message struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation,omitempty"`
	ID           string `json:"id"`
	Text         string `json:"text"`
	// BadText: the text as sent was not valid UTF-8 or held a lone
	// surrogate escape; Text then has U+FFFD in its place (text.go).
	BadText bool `json:"-"`
}

// Hello is an advisor socket's first frame: per conversation, the last seq
// the page holds and that entry's at.
type Hello struct {
	Type  string           `json:"type"`
	After map[string]int64 `json:"after"`
	At    map[string]int64 `json:"at,omitempty"`
}

// Duty puts the advisor on or off duty; Capacity, going on duty, is fewer
// conversations at once than the account allows.
type Duty struct {
	Type     string `json:"type"`
	On       *bool  `json:"on"`
	Capacity *int   `json:"capacity,omitempty"`
}

// Target names a conversation: accept, pick and typing from an advisor
// (a visitor's typing frame has only the type).
type Target struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation,omitempty"`
}

// Transfer hands a conversation to exactly one of an advisor or a queue,
// with an optional internal note. The supervisor's reassign takes the same
// body over HTTP, without the type.
type Transfer struct {
	Type         string `json:"type,omitempty"`
	Conversation string `json:"conversation"`
	ToAdvisor    string `json:"to_advisor,omitempty"`
	ToQueue      string `json:"to_queue,omitempty"`
	Note         string `json:"note,omitempty"`
	// BadNote: the note as sent was not valid UTF-8 or held a lone
	// surrogate escape (text.go).
	BadNote bool `json:"-"`
}

// Alias sets the advisor's display name.
type Alias struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

// End ends a conversation (end) or ends it and blocks the sender (block);
// an advisor names the conversation and may give outcome tags. A visitor
// sends only the type.
type End struct {
	Type         string   `json:"type"`
	Conversation string   `json:"conversation,omitempty"`
	Tags         []string `json:"tags,omitempty"`
}

// Started answers start: the conversation and the visitor's token, which
// the client keeps to resume.
type Started struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Token        string `json:"token"`
}

// State is the visitor's conversation state.
type State struct {
	Type     string `json:"type"`
	Status   string `json:"status"`
	Position int    `json:"position,omitempty"`
	// Wait is the estimated wait in whole minutes (at least 1) while
	// waiting; absent when nobody on duty serves the queue.
	Wait    int    `json:"wait,omitempty"`
	Advisor string `json:"advisor,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Ack confirms that a message is stored, under Seq.
type Ack struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Seq          int64  `json:"seq"`
	Conversation string `json:"conversation,omitempty"`
}

// Error refuses a frame; ID names the message and Conversation the
// conversation it was about, where there is one.
type Error struct {
	Type         string `json:"type"`
	Code         Code   `json:"code"`
	Message      string `json:"message"`
	ID           string `json:"id,omitempty"`
	Conversation string `json:"conversation,omitempty"`
}

// Entry is a stored entry of a conversation.
type Entry struct {
	Type string `json:"type"`
	chat.Entry
}

// Earlier shows the advisor of a returning visitor's conversation what
// the visitor's return code kept before: each earlier conversation, as
// the visitor saw it.
type Earlier struct {
	Type         string      `json:"type"`
	Conversation string      `json:"conversation"`
	Parts        []keep.Part `json:"parts"`
}

// Typing tells a client that the other side is typing.
type Typing struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	From         string `json:"from"`
}

// Interrupted tells a client that the entries it holds after Seq are no
// longer stored: a Redis failover lost them (docs/delivery.md).
type Interrupted struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Seq          int64  `json:"seq"`
}

// Canned is one ready-made answer of the console.
type Canned struct {
	Lang  string `json:"lang"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Console gives the console what the configuration holds for it.
type Console struct {
	Type   string   `json:"type"`
	Canned []Canned `json:"canned"`
	Tags   []string `json:"tags"`
}

// Status is the advisor's own duty, display name and load.
type Status struct {
	Type       string `json:"type"`
	Duty       bool   `json:"duty"`
	Alias      string `json:"alias"`
	Capacity   int    `json:"capacity"`
	Max        int    `json:"max"`
	Load       int    `json:"load"`
	Offered    int    `json:"offered"`
	Supervisor bool   `json:"supervisor,omitempty"`
}

// ConversationInfo is what the console shows of a conversation it is
// given or offered: what routing holds of it, never anything the visitor
// wrote.
type ConversationInfo struct {
	ID       string `json:"id"`
	Audience string `json:"audience"`
	Lang     string `json:"lang"`
	Waited   int64  `json:"waited"`
	Priority int    `json:"priority"`
}

// Assigned gives the advisor a conversation.
type Assigned struct {
	Type         string           `json:"type"`
	Conversation ConversationInfo `json:"conversation"`
}

// Offered offers a conversation: the advisor accepts it before Deadline
// (Unix ms) or it goes to someone else.
type Offered struct {
	Type         string           `json:"type"`
	Conversation ConversationInfo `json:"conversation"`
	Deadline     int64            `json:"deadline"`
}

// Unassigned: a conversation is no longer the advisor's, nor offered to
// them; Reason is one of the Reason* constants.
type Unassigned struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	Reason       string `json:"reason"`
}

// Why a conversation left an advisor (Unassigned.Reason).
const (
	ReasonEnded         = "ended"
	ReasonRequeued      = "requeued"
	ReasonOfferExpired  = "offer_expired"
	ReasonNotResponding = "not_responding"
	ReasonTransferred   = "transferred"
	ReasonReassigned    = "reassigned"
)

// OffDuty: routing took the advisor off duty (missed offers).
type OffDuty struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// QueueStat is one queue's count and longest wait (seconds).
type QueueStat struct {
	Name        string `json:"name"`
	Waiting     int    `json:"waiting"`
	LongestWait int64  `json:"longest_wait"`
	// ByPriority counts the waiting by priority: normal, high, in danger
	// (the supervisor's overview only).
	ByPriority []int `json:"by_priority,omitempty"`
}

// Waiting is one waiting conversation in the console's queue view (to
// pick by hand) and the supervisor's overview.
type Waiting struct {
	ID       string `json:"id"`
	Queue    string `json:"queue"`
	Lang     string `json:"lang"`
	Priority int    `json:"priority"`
	Waited   int64  `json:"waited"`
	Position int    `json:"position"`
}

// Colleague is an advisor on duty, a possible target of a transfer.
type Colleague struct {
	Name     string `json:"name"`
	Alias    string `json:"alias"`
	Load     int    `json:"load"`
	Capacity int    `json:"capacity"`
}

// Queue is the console's queue view.
type Queue struct {
	Type     string      `json:"type"`
	Queues   []QueueStat `json:"queues"`
	Waiting  []Waiting   `json:"waiting"`
	Advisors []Colleague `json:"advisors"`
}

// OverviewAdvisor is one advisor in the supervisor's overview.
type OverviewAdvisor struct {
	Username     string   `json:"username"`
	Alias        string   `json:"alias"`
	Duty         bool     `json:"duty"`
	Load         int      `json:"load"`
	Offered      int      `json:"offered"`
	Capacity     int      `json:"capacity"`
	Languages    []string `json:"languages"`
	Audiences    []string `json:"audiences"`
	MissedOffers int      `json:"missed_offers"`
	Seen         *int64   `json:"seen,omitempty"`
	// Connected: they have a console open on some instance. On duty
	// without one they keep their conversations through the advisor
	// grace and get no new ones.
	Connected     bool     `json:"connected"`
	Conversations []string `json:"conversations"`
}

// Overview is the supervisor view's frame: every queue, advisor and
// waiting conversation.
type Overview struct {
	Type     string            `json:"type"`
	Queues   []QueueStat       `json:"queues"`
	Advisors []OverviewAdvisor `json:"advisors"`
	Waiting  []Waiting         `json:"waiting"`
	// Questions counts the open questions per audience and language
	// (questions.go).
	Questions []QuestionCount `json:"questions"`
}

// Reassigned answers a supervisor's reassignment (HTTP): where the
// conversation is now and where it was.
type Reassigned struct {
	Conversation string `json:"conversation"`
	Advisor      string `json:"advisor,omitempty"`
	Alias        string `json:"alias,omitempty"`
	Queue        string `json:"queue,omitempty"`
	From         string `json:"from,omitempty"`
	Was          string `json:"was"`
}

// APIError is the body of a refused HTTP request of the console or the
// supervisor view.
type APIError struct {
	Error   Code   `json:"error"`
	Message string `json:"message"`
}
