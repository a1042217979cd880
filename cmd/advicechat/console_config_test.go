package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestBadConsoleConfig: a canned-response file with a mistake, or an
// outcome tag that cannot be one, stops the start with exit code 2 and a
// message naming the variable, and for the file the file and line.
func TestBadConsoleConfig(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "canned.txt")
	if err := os.WriteFile(broken, []byte("[nl] Welkom\nGoedenavond.\n\n[nl Doorverwijzing\nBel 112.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"canned syntax", map[string]string{"ADVICECHAT_CANNED": broken}, "ADVICECHAT_CANNED: " + broken + `:4: want a header like "[nl] Title"`},
		{"canned missing", map[string]string{"ADVICECHAT_CANNED": filepath.Join(dir, "none.txt")}, "ADVICECHAT_CANNED: open "},
		{"tag with a space", map[string]string{"ADVICECHAT_OUTCOME_TAGS": "advice given"}, `ADVICECHAT_OUTCOME_TAGS: tag "advice given"`},
		{"tag twice", map[string]string{"ADVICECHAT_OUTCOME_TAGS": "other,other"}, `ADVICECHAT_OUTCOME_TAGS: tag "other" listed twice`},
		{"empty tag", map[string]string{"ADVICECHAT_OUTCOME_TAGS": "other,"}, `ADVICECHAT_OUTCOME_TAGS: tag ""`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"ADVICECHAT_ADDR": "127.0.0.1:0"}
			for k, v := range tt.env {
				env[k] = v
			}
			var out, errOut strings.Builder
			code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("run with %s = %d, stderr %q; want 2 and %q", tt.name, code, errOut.String(), tt.want)
			}
		})
	}
}

// TestConsoleConfigAndOutcomes: the console gets the canned responses and
// the outcome tags after hello; ending with tags counts them in metrics
// (and nowhere else); an unknown tag is refused and ends nothing.
func TestConsoleConfigAndOutcomes(t *testing.T) {
	t.Parallel()
	canned := filepath.Join(t.TempDir(), "canned.txt")
	if err := os.WriteFile(canned, []byte("# evening\n[nl] Welkom\nGoedenavond, fijn dat u schrijft.\n\n[en] Welcome\nGood evening.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, map[string]string{"ADVICECHAT_CANNED": canned, "ADVICECHAT_OUTCOME_TAGS": "jihadist,advice-given,referral-made"})
	pw := a.addAdvisor(t, "anna")
	adv := a.advisor(t, a.login(t, "anna", pw), nil)
	cf := adv.expect("console frame", isType("console"))
	list, _ := cf["canned"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["title"] != "Welkom" || list[1].(map[string]any)["text"] != "Good evening." {
		t.Errorf("canned responses %v, want Welkom and Welcome from the file", cf["canned"])
	}
	if tags, _ := cf["tags"].([]any); len(tags) != 3 || tags[1] != "advice-given" {
		t.Errorf("tags %v, want the configured three", cf["tags"])
	}
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true)})
	_, conv, _ := startConversation(t, a, "public")
	adv.expect("assigned", isType("assigned"))

	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: conv, Tags: []string{"advice-given", "helped"}})
	if f := adv.expect("refused", isErrorFor(conv)); f.str("code") != "bad_request" {
		t.Errorf("end with an unknown tag: code %q, want bad_request", f.str("code"))
	}
	adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "m1", Text: "still open?"})
	adv.expect("still open: the message is acked", isAck("m1"))

	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: conv, Tags: []string{"advice-given", "jihadist", "advice-given"}})
	adv.expect("ended", isEntry(conv, "ended"))
	body := readMetrics(t, a)
	for _, want := range []string{`advicechat_outcomes_total{tag="advice-given"} 1`, `advicechat_outcomes_total{tag="jihadist"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, `tag="helped"`) {
		t.Errorf("metrics count the refused tag")
	}
}
