package web

// Audit actions: what an advisor did.
const (
	auditDutyOn      = "duty_on"
	auditDutyOff     = "duty_off"
	auditAlias       = "alias"
	auditAssigned    = "assigned"
	auditEnded       = "ended"
	auditBlocked     = "blocked"
	auditTransferred = "transferred"
	auditPriority    = "priority"
)

// audit writes one structured line about an advisor's action to the log
// (stdout): msg=audit action=... advisor=... and attrs. advisor is the
// account's username, or "" when it is not known (a failed login with a
// name that has no account is not logged, so a password typed into the
// username field never reaches the log).
//
// attrs must never carry visitor data: no text, token, address or header.
// A conversation id (key "conversation") is allowed: it is random, says
// nothing about the visitor, and is what makes an assignment or an end
// traceable while the conversation is kept.
func (s *Server) audit(action, advisor string, attrs ...any) {
	s.log.Info("audit", append([]any{"action", action, "advisor", advisor}, attrs...)...)
}
