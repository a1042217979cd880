package web

// Duty, display name, and what the advisor sees of themselves and the
// queues.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/protocol"
)

// refreshStatus sends the advisor's duty, alias and load. Writer goroutine.
//
// It reads the instance's shared overview (one read for every console
// of the instance that asks at once) and the advisor's own routing data
// only if the overview does not list them. After routing changes the
// status comes with the pushed view instead (consolepush.go).
func (a *advisor) refreshStatus(ctx context.Context) {
	a.statusRead = time.Now()
	ov, err := a.srv.queue.SharedOverview(ctx)
	if err != nil {
		return
	}
	var st routing.AdvisorStatus
	found := false
	for _, adv := range ov.Advisors {
		if adv.Name == a.name {
			st, found = statusOf(adv), true
			break
		}
	}
	if !found {
		if st, err = a.srv.queue.AdvisorStatus(ctx, a.name); err != nil {
			return
		}
	}
	a.writeStatus(st, false)
}

// writeStatus writes the status frame for st; onlyChanged leaves out one
// the page has already. Writer goroutine.
func (a *advisor) writeStatus(st routing.AdvisorStatus, onlyChanged bool) {
	acct, alias := a.currentAlias()
	capacity := st.Capacity
	if !st.Duty || capacity == 0 {
		capacity = acct.MaxConversations
	}
	b, err := json.Marshal(protocol.Status{Type: protocol.TypeStatus, Duty: st.Duty, Alias: alias, Capacity: capacity, Max: acct.MaxConversations,
		Load: len(st.Conversations), Offered: len(st.Offered), Supervisor: acct.Role == accounts.RoleSupervisor})
	if err != nil || onlyChanged && string(b) == string(a.lastStatus) {
		return
	}
	a.lastStatus = b
	a.sock.Write(b)
}

// refreshQueue sends the queue view if it changed: every queue's count and
// longest wait, the conversations at the front (to pick by hand) and the
// advisors on duty (to transfer to). Writer goroutine. After routing
// changes the view is pushed instead (consolepush.go); this is for the
// console's first view and after its own actions.
func (a *advisor) refreshQueue(ctx context.Context) {
	a.queueRead = time.Now()
	ov, err := a.srv.queue.SharedOverview(ctx)
	if err != nil {
		return
	}
	a.writeQueue(newConsoleView(ov, time.Now()).queueFrame(a.name))
}

// writeQueue writes a queue frame unless it is the one sent last. Writer
// goroutine.
func (a *advisor) writeQueue(b []byte) {
	if string(b) == string(a.lastQueue) {
		return
	}
	a.lastQueue = b
	a.sock.Write(b)
}

func (a *advisor) duty(on bool, capacity *int) {
	if !a.authorized("", "") {
		return
	}
	ctx := a.sock.Ctx()
	acct, alias := a.currentAlias()
	if fresh, ok := a.srv.accounts.Lookup(a.name); ok {
		acct = fresh // skills and capacity as the accounts file says now
		a.mu.Lock()
		a.acct = fresh
		a.mu.Unlock()
	}
	var err error
	if on {
		// Fewer at once than the account allows, if the advisor says so
		// (a hard case, the end of a shift); never more.
		limit := acct.MaxConversations
		if capacity != nil {
			if *capacity > limit {
				a.sock.SendError(protocol.CodeBadRequest, fmt.Sprintf("capacity %d is above the %d your account allows", *capacity, limit), "", "")
				return
			}
			limit = *capacity
		}
		err = a.srv.queue.OnDuty(ctx, routing.Advisor{Name: a.name, Alias: alias, Capacity: limit, Audiences: acct.Audiences, Languages: acct.Languages})
		if err == nil {
			a.srv.log.Info("advisor on duty", "advisor", a.name)
			a.srv.audit(auditDutyOn, a.name)
		}
	} else {
		err = a.srv.offDuty(ctx, a.name)
	}
	if err != nil {
		a.internal(err, "")
		return
	}
	a.sock.Do(a.refreshStatus)
}

func (a *advisor) setAlias(name string) {
	if !a.authorized("", "") {
		return
	}
	alias, err := chat.CleanDisplayName(name)
	if err != nil {
		a.sock.SendError(protocol.CodeBadRequest, err.Error(), "", "")
		return
	}
	if err := a.srv.queue.SetAlias(a.sock.Ctx(), a.name, alias); err != nil {
		a.internal(err, "")
		return
	}
	a.mu.Lock()
	a.alias = alias
	a.mu.Unlock()
	a.srv.audit(auditAlias, a.name, "alias", alias)
	a.sock.Do(a.refreshStatus)
}
