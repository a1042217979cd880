package web

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
	"github.com/advicechat/advicechat/web/socket"
)

// The orchestration of chat and routing: what the service writes into a
// conversation when routing moves it, and the steps that touch both.

// Hooks returns what the routing worker calls after it assigned, requeued
// or abandoned a conversation: the matching entry goes into the
// conversation, which tells both sides.
func (s *Server) Hooks() routing.Hooks {
	return routing.Hooks{
		Assigned: s.joined,
		Requeued: func(ctx context.Context, r routing.Requeue) {
			// Lost connection or not responding: to the visitor the same,
			// their advisor is gone and someone else will answer.
			s.appendRequeued(ctx, r.Conversation, chat.RequeuedLostLink)
		},
		MaxWaited: func(ctx context.Context, id string) {
			s.appendSystem(ctx, chat.Entry{Conversation: id, Kind: chat.KindWaitedLong}, "record a long wait")
		},
		Abandoned: func(ctx context.Context, id string) {
			if _, err := s.store.End(ctx, id, chat.EndedAbandoned); err != nil && !errors.Is(err, chat.ErrEnded) && !errors.Is(err, chat.ErrNotFound) && ctx.Err() == nil {
				s.log.Warn("end abandoned conversation", "err", err)
			}
		},
	}
}

// joined records that an advisor has a conversation: the visitor sees who
// joined, under their display name.
func (s *Server) joined(ctx context.Context, a routing.Assignment) {
	s.audit(auditAssigned, a.Advisor, "conversation", a.Conversation)
	s.appendSystem(ctx, chat.Entry{Conversation: a.Conversation, Kind: chat.KindJoined, Name: a.Alias}, "record assignment")
}

// moved records a transfer or reassignment: the internal note for whoever
// takes it (if any, under the name of the one who wrote it), then where it
// went, which the visitor sees as "connected to another advisor" or back
// in the queue.
func (s *Server) moved(ctx context.Context, a routing.Assignment, by, byAlias, note string) {
	s.audit(auditTransferred, by, "conversation", a.Conversation, "to", a.Advisor+a.Queue)
	if note != "" {
		s.appendSystem(ctx, chat.Entry{Conversation: a.Conversation, Kind: chat.KindNote, From: chat.FromAdvisor, Name: byAlias, Text: note}, "record a transfer note")
	}
	e := chat.Entry{Conversation: a.Conversation, Kind: chat.KindTransferred, Name: a.Alias}
	if a.Advisor == "" {
		e.Reason = chat.TransferredQueue
	}
	s.appendSystem(ctx, e, "record a transfer")
}

// appendSystem stores an entry the service writes (From system unless
// set); a failure is logged as what.
func (s *Server) appendSystem(ctx context.Context, e chat.Entry, what string) {
	if e.From == "" {
		e.From = chat.FromSystem
	}
	if _, _, err := s.store.Append(ctx, e); err != nil && ctx.Err() == nil {
		s.log.Warn(what, "err", err)
	}
}

func (s *Server) appendRequeued(ctx context.Context, id, reason string) {
	_, _, err := s.store.Append(ctx, chat.Entry{Conversation: id, Kind: chat.KindRequeued, From: chat.FromSystem, Reason: reason})
	if err != nil && ctx.Err() == nil {
		s.log.Warn("record requeue", "err", err)
	}
}

// checkMessage validates a message frame's id and text and returns the
// entry to store, or a protocol error code and message.
func checkMessage(f protocol.Message) (chat.Entry, protocol.Code, string) {
	if err := chat.ValidClientID(f.ID); err != nil {
		code, msg, _ := protocol.Refusal(err)
		return chat.Entry{}, code, msg
	}
	if f.BadText {
		return chat.Entry{}, protocol.CodeBadUTF8, chat.ErrBadUTF8.Error()
	}
	text, err := chat.CleanText(f.Text)
	if code, msg, ok := protocol.Refusal(err); ok {
		return chat.Entry{}, code, msg
	}
	return chat.Entry{Kind: chat.KindMessage, ClientID: f.ID, Text: text}, "", ""
}

// appendMessage stores a message and acks it, or sends the error.
func (s *Server) appendMessage(sock *socket.Socket, e chat.Entry, conv string) {
	stored, dup, err := s.store.Append(sock.Ctx(), e)
	if code, msg, ok := protocol.Refusal(err); ok {
		sock.SendError(code, msg, e.ClientID, conv)
		return
	}
	switch {
	case err != nil:
		if sock.Ctx().Err() == nil {
			sock.Log().Error("store message", "err", err)
		}
		sock.SendError(protocol.CodeInternal, "internal error; retry with the same id", e.ClientID, conv)
	default:
		if !dup {
			s.metrics.messages.WithLabelValues(e.From).Inc()
		}
		sock.Ack(stored, dup, conv)
	}
}

// checkTransfer checks where a transfer (console) or reassignment
// (supervisor) goes and its note: exactly one of an advisor and a queue,
// and a note that is a valid message text or blank. It returns the
// cleaned note, or what is wrong.
func checkTransfer(f protocol.Transfer) (note, problem string) {
	if (f.ToAdvisor == "") == (f.ToQueue == "") {
		return "", "give exactly one of to_advisor and to_queue"
	}
	if f.BadNote {
		return "", "note: " + chat.ErrBadUTF8.Error()
	}
	if strings.TrimSpace(f.Note) == "" {
		return "", ""
	}
	n, err := chat.CleanText(f.Note)
	if err != nil {
		return "", "note: " + err.Error()
	}
	return n, ""
}

// typeLogout is the event on an advisor's routing channel that closes their
// sockets on every instance: they logged out.
const typeLogout = "logout"

// offDuty takes an advisor off duty and tells the visitors whose
// conversations went back to the queue.
func (s *Server) offDuty(ctx context.Context, name string) error {
	// The visitors must hear of it even if the socket or request that
	// asked is gone by the time the entries are written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := s.queue.TakeOffDuty(ctx, name)
	if err != nil {
		return err
	}
	for _, id := range res.Requeued {
		s.appendRequeued(ctx, id, chat.RequeuedLeft)
	}
	// Withdrawn offers had no advisor in them yet: nothing to tell.
	s.routing.Requeued(routing.CauseOffDuty, len(res.Requeued)+len(res.Withdrawn))
	s.routing.OffersWithdrawn(len(res.Withdrawn))
	s.log.Info("advisor off duty", "advisor", name, "requeued", len(res.Requeued), "withdrawn", len(res.Withdrawn))
	s.audit(auditDutyOff, name, "requeued", len(res.Requeued))
	return nil
}

// loggedOut takes an advisor who logged out off duty and closes their
// sockets on every instance.
func (s *Server) loggedOut(ctx context.Context, name string) {
	if err := s.offDuty(ctx, name); err != nil {
		s.log.Error("off duty at logout", "advisor", name, "err", err)
	}
	if err := s.rdb.Publish(ctx, s.queue.AdvisorChannel(name), `{"type":"`+typeLogout+`"}`).Err(); err != nil {
		s.log.Warn("announce a logout", "err", err)
	}
}
