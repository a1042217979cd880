package web

// Offers and picks: how a conversation becomes an advisor's by their hand.

import (
	"context"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// offered shows a conversation routing offers this advisor. Writer
// goroutine.
func (a *advisor) offered(ctx context.Context, id string) {
	if a.offers[id] {
		return
	}
	st, err := a.srv.queue.State(ctx, id)
	if err != nil || st.Status != routing.StatusOffered || st.Advisor != a.name {
		return // stale: expired, taken back or accepted since
	}
	a.sock.WriteJSON(protocol.Offered{Type: protocol.TypeOffered, Conversation: conversationInfo(st), Deadline: st.OfferDeadline.UnixMilli()})
	a.offers[id] = true
	a.refreshStatus(ctx)
}

// take accepts an offer (accept) or takes a waiting conversation from the
// queue by hand (pick). Either way the conversation is the advisor's at
// once: the visitor is told who joined, and the advisor's channel brings
// the conversation to every tab.
func (a *advisor) take(how, id string) {
	if !a.authorized("", id) {
		return
	}
	if !chat.ValidID(id) {
		a.sock.SendError(protocol.CodeBadRequest, how+" needs a conversation id", "", "")
		return
	}
	ctx := a.sock.Ctx()
	var asg routing.Assignment
	var err error
	if how == protocol.TypeAccept {
		asg, err = a.srv.queue.Accept(ctx, id, a.name)
	} else {
		asg, err = a.srv.queue.Pick(ctx, id, a.name)
	}
	if code, msg, ok := protocol.Refusal(err); ok {
		a.sock.SendError(code, msg, "", id)
		if how == protocol.TypeAccept {
			// Only an offer this page shows goes: an accept of a
			// conversation the advisor holds must not drop it.
			a.sock.Do(func(ctx context.Context) {
				if a.offers[id] {
					a.unassigned(ctx, id, protocol.ReasonOfferExpired)
				}
			})
		}
		return
	} else if err != nil {
		a.internal(err, id)
		return
	}
	if how == protocol.TypeAccept {
		a.srv.routing.OfferAccepted(asg)
	} else {
		a.srv.routing.Picked(asg)
	}
	a.srv.joined(ctx, asg)
}
