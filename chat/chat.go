// Package chat holds the conversation model of the service: conversations,
// their entries (messages and system events) with gap-free sequence numbers,
// visitor tokens, the validation of client text, and the per-instance hub
// that fans Redis pub/sub wake-ups out to local sockets.
//
// It knows nothing about HTTP or WebSockets; the web package drives it.
package chat

import (
	"context"
	"errors"
	"time"
)

// Audiences a conversation can be for.
const (
	AudiencePublic       = "public"
	AudienceProfessional = "professional"
)

// Senders of an entry.
const (
	FromVisitor = "visitor"
	FromAdvisor = "advisor"
	FromSystem  = "system"
)

// Kind says what an entry is.
type Kind string

// Entry kinds; docs/protocol.md describes each.
const (
	KindMessage  Kind = "message"
	KindJoined   Kind = "joined"
	KindRequeued Kind = "requeued"
	KindEnded    Kind = "ended"
	// KindNote is an advisor's internal note: advisors and supervisors
	// see it, the visitor never does (their socket sends KindHidden in its
	// place, so the seqs stay gap-free).
	KindNote Kind = "note"
	// KindTransferred: the conversation was handed to another advisor
	// (Name: their display name) or queue (Reason: "queue").
	KindTransferred Kind = "transferred"
	// KindWaitedLong: the visitor has waited the longest wait the service
	// promises; the page offers the other ways to get help.
	KindWaitedLong Kind = "waited_long"
	// KindHidden stands in, on the visitor's socket only, for an entry the
	// visitor may not see. It is never stored.
	KindHidden Kind = "hidden"
	// KindTyping marks a typing signal on a conversation's channel: it is
	// published, never stored, and has no seq.
	KindTyping Kind = "typing"
	// KindTakeover: a visitor socket (ClientID: its nonce) took the
	// conversation over; the visitor's other sockets close. Published,
	// never stored.
	KindTakeover Kind = "takeover"
)

// Reasons a conversation ends or goes back to the queue.
const (
	EndedByVisitor   = "visitor"
	EndedByAdvisor   = "advisor"
	EndedAbandoned   = "abandoned"
	EndedBlocked     = "blocked"
	RequeuedLeft     = "advisor_left"
	RequeuedLostLink = "advisor_lost"
	TransferredQueue = "queue"
)

// Entry is one item of a conversation's timeline. Seq is assigned by the
// store: 1, 2, 3 ... with no gaps, so a reader can tell a missing entry
// from a late one.
type Entry struct {
	Conversation string `json:"conversation"`
	Seq          int64  `json:"seq"`
	Kind         Kind   `json:"kind"`
	From         string `json:"from"`
	ClientID     string `json:"id,omitempty"`
	Text         string `json:"text,omitempty"`
	Name         string `json:"name,omitempty"`
	Reason       string `json:"reason,omitempty"`
	At           int64  `json:"at"`
}

// Conversation is what the store knows about a conversation besides its
// entries. It holds nothing that identifies the visitor: the token is kept
// as a hash only.
type Conversation struct {
	ID        string
	Audience  string
	Lang      string
	Ended     bool
	Created   time.Time
	TokenHash []byte
	// Keep is set while the visitor has asked to keep the conversation
	// under a return code: what the keep package derived from the code
	// (never the code itself), for sealing the thread when it ends. It
	// expires with the conversation, and is taken out when sealed.
	Keep string
	// Returning: the visitor came back with a return code; the thread
	// kept under it is to be continued.
	Returning bool
}

// Errors of the chat domain. The web package maps them to protocol error
// codes.
var (
	ErrNotFound     = errors.New("conversation not found")
	ErrEnded        = errors.New("conversation has ended")
	ErrUnauthorized = errors.New("token does not match conversation")
	// ErrClientIDReused is returned by Append when a client id comes again
	// with other text than the first time.
	ErrClientIDReused = errors.New("client id already used for another message")
	// ErrNotReplicated is returned by Append and End when the entry reached
	// the primary but not enough replicas in time. The sender should retry
	// with the same client id: the retry stores nothing new and waits again.
	ErrNotReplicated = errors.New("entry not replicated in time")
	// ErrRateLimited is returned by Append when the visitor has sent too
	// many messages in the conversation lately; the error says when to
	// retry.
	ErrRateLimited = errors.New("too many messages")
	// ErrConversationFull is returned by Append when the conversation has
	// as many entries or as much text as it may hold; it can still be
	// ended.
	ErrConversationFull = errors.New("the conversation is full")
)

// Store keeps conversations and their entries.
type Store interface {
	// Create stores a new, open conversation.
	Create(ctx context.Context, c Conversation) error
	// Get returns a conversation, or ErrNotFound.
	Get(ctx context.Context, id string) (Conversation, error)
	// Append stores e (Kind, From, and ClientID/Text/Name/Reason as fits)
	// and returns it with Seq and At set. A ClientID seen before in this
	// conversation returns the first stored entry with duplicate true and
	// stores nothing. An ended conversation returns ErrEnded.
	Append(ctx context.Context, e Entry) (stored Entry, duplicate bool, err error)
	// End appends an ended entry, marks the conversation ended and lets
	// all its data expire after the retention period. Ending an ended
	// conversation returns ErrEnded.
	End(ctx context.Context, id, reason string) (Entry, error)
	// SetKeep sets Conversation.Keep of an existing conversation that was
	// never kept; it reports false, and changes nothing, if it was (a
	// conversation has one code at most) or does not exist.
	SetKeep(ctx context.Context, id, keep string) (bool, error)
	// TakeKeep returns Conversation.Keep and removes it, in one step:
	// of two callers at once only one gets it. "" if there is none.
	TakeKeep(ctx context.Context, id string) (string, error)
	// After returns up to limit entries with Seq > after, in order.
	After(ctx context.Context, id string, after int64, limit int) ([]Entry, error)
	// LastSeq returns the highest Seq stored in the conversation.
	LastSeq(ctx context.Context, id string) (int64, error)
	// Channel is the pub/sub channel on which the store announces every
	// stored entry of the conversation.
	Channel(id string) string
	// Signal publishes e on its conversation's channel without storing it:
	// typing, a socket taking the conversation over. A missed signal is
	// missed.
	Signal(ctx context.Context, e Entry) error
}
