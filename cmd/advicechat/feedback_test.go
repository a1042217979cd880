package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/protocol"
)

// postFeedback sends a feedback body from the app's own page and returns
// the status and error code.
func postFeedback(t *testing.T, a *app, body string, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.URL+"/feedback", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error
}

func feedbackBody(conv, token string, rating int, comment string) string {
	b, _ := json.Marshal(map[string]any{"conversation": conv, "token": token, "rating": rating, "comment": comment})
	return string(b)
}

// TestFeedback: after the end the visitor can answer once, from the
// conversation's own token; the rating is counted, the comment kept in a
// day's list with nothing that ties it to the conversation; every kind of
// bad input is refused and counts nothing.
func TestFeedback(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	adv, _ := onDutyAdvisor(t, a, "anna")
	v, conv, token := startConversation(t, a, "public")
	adv.expect("assigned", isType("assigned"))
	_, open, openToken := startConversation(t, a, "public")

	// Before the end: not yet.
	if code, e := postFeedback(t, a, feedbackBody(conv, token, 4, ""), nil); code != http.StatusConflict || e != "not_ended" {
		t.Errorf("feedback before the end: %d %q, want 409 not_ended", code, e)
	}
	v.send(protocol.End{Type: protocol.TypeEnd})
	v.expect("ended", isEntry(conv, "ended"))

	const comment = "Het hielp, dank u. Fijn dat ik anoniem kon praten."
	for _, tt := range []struct {
		name, body string
		header     http.Header
		status     int
		code       string
	}{
		{"not JSON", "rating=5", nil, 400, "bad_json"},
		{"unknown field", `{"conversation":"` + conv + `","token":"` + token + `","rating":5,"ip":"1.2.3.4"}`, nil, 400, "bad_json"},
		{"no token", feedbackBody(conv, "", 5, ""), nil, 400, "bad_request"},
		{"bad id", feedbackBody("../x", token, 5, ""), nil, 400, "bad_request"},
		{"rating 0", feedbackBody(conv, token, 0, ""), nil, 400, "bad_request"},
		{"rating 6", feedbackBody(conv, token, 6, ""), nil, 400, "bad_request"},
		{"long comment", feedbackBody(conv, token, 5, strings.Repeat("x", 1001)), nil, 400, "too_long"},
		{"wrong token", feedbackBody(conv, openToken, 5, ""), nil, 403, "unauthorized"},
		{"unknown conversation", feedbackBody(strings.Repeat("a", 32), token, 5, ""), nil, 404, "not_found"},
		{"other site", feedbackBody(conv, token, 5, ""), http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403, ""},
		{"open conversation", feedbackBody(open, openToken, 5, ""), nil, 409, "not_ended"},
	} {
		if status, code := postFeedback(t, a, tt.body, tt.header); status != tt.status || (tt.code != "" && code != tt.code) {
			t.Errorf("%s: %d %q, want %d %q", tt.name, status, code, tt.status, tt.code)
		}
	}
	if status, code := postFeedback(t, a, feedbackBody(conv, token, 4, "  "+comment+"\n"), nil); status != http.StatusNoContent {
		t.Fatalf("feedback: %d %q, want 204", status, code)
	}
	if status, code := postFeedback(t, a, feedbackBody(conv, token, 1, ""), nil); status != http.StatusConflict || code != "duplicate" {
		t.Errorf("second feedback: %d %q, want 409 duplicate", status, code)
	}

	// Counted once, with the rating given.
	metrics := readMetrics(t, a)
	for _, want := range []string{`advicechat_feedback_total{rating="4"} 1`, "advicechat_feedback_comments_total 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, `advicechat_feedback_total{rating="1"}`) || strings.Contains(metrics, `rating="5"`) {
		t.Errorf("metrics count refused feedback")
	}

	// The comment is kept apart: today's list holds the rating and the
	// words, nothing else.
	key := a.Redis.Prefix + "feedback:" + time.Now().UTC().Format("2006-01-02")
	items, err := a.Redis.Client.LRange(context.Background(), key, 0, -1).Result()
	if err != nil || len(items) != 1 {
		t.Fatalf("%s holds %v, %v; want one comment", key, items, err)
	}
	var kept map[string]any
	if err := json.Unmarshal([]byte(items[0]), &kept); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept["text"] != comment || kept["rating"] != float64(4) {
		t.Errorf("kept %v, want only rating 4 and the trimmed comment", kept)
	}
	if strings.Contains(items[0], conv) || strings.Contains(items[0], token) {
		t.Errorf("kept comment %s names the conversation", items[0])
	}
	if ttl := a.Redis.Client.TTL(context.Background(), key).Val(); ttl <= 0 || ttl > 30*24*time.Hour {
		t.Errorf("comments' TTL %s, want at most 30 days", ttl)
	}
}

// TestSupervisorReadsFeedback: supervisors read the comments, newest first,
// with their ratings and nothing else; advisors and strangers may not.
func TestSupervisorReadsFeedback(t *testing.T) {
	t.Parallel()
	a := startApp(t, nil)
	adv, advClient := onDutyAdvisor(t, a, "anna")
	sup := a.supervisor(t, "sofie")
	for i, text := range []string{"Eerste reactie", "Tweede reactie"} {
		v, conv, token := startConversation(t, a, "public")
		adv.expect("assigned", isType("assigned"))
		v.send(protocol.End{Type: protocol.TypeEnd})
		v.expect("ended", isEntry(conv, "ended"))
		if status, code := postFeedback(t, a, feedbackBody(conv, token, 5-i, text), nil); status != http.StatusNoContent {
			t.Fatalf("feedback %d: %d %q", i, status, code)
		}
	}
	get := func(hc *http.Client) (int, []byte) {
		resp, err := hc.Get(a.URL + "/advisor/supervisor/feedback")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := get(sup)
	var got struct {
		Days []struct {
			Date     string           `json:"date"`
			Comments []map[string]any `json:"comments"`
		} `json:"days"`
	}
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil {
		t.Fatalf("supervisor: %d %s", status, body)
	}
	if len(got.Days) != 1 || len(got.Days[0].Comments) != 2 || got.Days[0].Comments[0]["text"] != "Tweede reactie" || got.Days[0].Comments[0]["rating"] != float64(4) {
		t.Errorf("supervisor got %s, want today's two comments, newest first", body)
	}
	if status, _ := get(advClient); status != http.StatusForbidden {
		t.Errorf("advisor: status %d, want 403", status)
	}
	if status, _ := get(&http.Client{}); status != http.StatusUnauthorized {
		t.Errorf("no session: status %d, want 401", status)
	}
}
