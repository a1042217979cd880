package web

import (
	"encoding/json"

	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// Transfers: an advisor hands a conversation to a colleague or a queue.

// transfer hands one of the advisor's conversations to another advisor or
// queue, with an optional internal note for whoever takes it.
func (a *advisor) transfer(data []byte) {
	var f protocol.Transfer
	if err := json.Unmarshal(data, &f); err != nil {
		a.sock.SendError(protocol.CodeBadRequest, "transfer needs conversation and exactly one of to_advisor and to_queue", "", "")
		return
	}
	note, msg := checkTransfer(f)
	if msg != "" {
		a.sock.SendError(protocol.CodeBadRequest, msg, "", f.Conversation)
		return
	}
	if !a.authorized("", f.Conversation) || !a.owns(f.Conversation, "", false) {
		return
	}
	ctx := a.sock.Ctx()
	asg, err := a.srv.queue.Transfer(ctx, f.Conversation, a.name, routing.Target{Advisor: f.ToAdvisor, Queue: f.ToQueue})
	if code, msg, ok := protocol.Refusal(err); ok {
		a.sock.SendError(code, msg, "", f.Conversation)
		return
	} else if err != nil {
		a.internal(err, f.Conversation)
		return
	}
	a.srv.routing.Transferred(asg)
	_, alias := a.currentAlias()
	a.srv.moved(ctx, asg, a.name, alias, note)
}
