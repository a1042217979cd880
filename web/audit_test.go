package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"
)

// TestAuditLine: an audit record is one structured line with msg "audit",
// the action, the advisor and the extra attributes, at level INFO so the
// default log level keeps it.
func TestAuditLine(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&buf, nil))}
	s.audit(auditEnded, "anna", "conversation", "0123456789abcdef0123456789abcdef")
	s.audit("login_failed", "", "reason", "credentials")

	var lines []map[string]any
	for line := range bytes.Lines(buf.Bytes()) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("audit wrote %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "audit", "action": "ended", "advisor": "anna", "conversation": "0123456789abcdef0123456789abcdef"},
		{"level": "INFO", "msg": "audit", "action": "login_failed", "advisor": "", "reason": "credentials"},
	}
	if len(lines) != len(want) {
		t.Fatalf("audit wrote %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		delete(lines[i], "time")
		if len(lines[i]) != len(w) {
			t.Errorf("audit line %d = %v, want %v", i, lines[i], w)
		}
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("audit line %d: %s = %v, want %v", i, k, lines[i][k], v)
			}
		}
	}
}
