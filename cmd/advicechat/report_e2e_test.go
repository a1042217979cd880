package main

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/cmd/advicechat/config"
	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web/protocol"
)

// reportGet asks for the report with query as hc and returns the status
// and body.
func reportGet(t *testing.T, a *app, hc *http.Client, query string) (int, string) {
	t.Helper()
	resp, err := hc.Get(a.URL + "/advisor/supervisor/report?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scriptedRun starts six conversations in known audiences and languages
// and takes each to a known end, as an advisor who serves the public only:
//
//	A public/nl   answered, ended with advice-given and jihadist, rated 4
//	B public/nl   answered, ended with advice-given, rated 5
//	C public/en   answered, its visitor goes away: abandoned while active
//	D public/ar   urgent, answered, still going
//	E professional/nl  waits, its visitor ends it: left while waiting
//	F professional/en  waits, its visitor goes away: abandoned while waiting
func scriptedRun(t *testing.T, a *app) {
	t.Helper()
	ctx := context.Background()
	adv, _ := onDutyAdvisor(t, a, "anna", "-languages", "nl,en,ar", "-audiences", "public", "-max", "10")
	start := func(aud, lang string, urgent bool) (*client, string, string) {
		v := a.visitor(t)
		v.send(protocol.Start{Type: protocol.TypeStart, Audience: aud, Lang: lang, Urgent: urgent})
		f := v.expectType("started")
		return v, f.str("conversation"), f.str("token")
	}
	answered := func(v *client, conv string) {
		v.expect("active", isState("active"))
		adv.expect("assigned "+conv, func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
	}
	va, a1, ta := start("public", "nl", false)
	answered(va, a1)
	vb, b1, tb := start("public", "nl", false)
	answered(vb, b1)
	vc, c1, _ := start("public", "en", false)
	answered(vc, c1)
	vd, d1, _ := start("public", "ar", true)
	answered(vd, d1)
	ve, e1, _ := start("professional", "nl", false)
	ve.expect("waiting", isState("waiting"))
	vf, f1, _ := start("professional", "en", false)
	vf.expect("waiting", isState("waiting"))

	for _, end := range []struct {
		conv, token string
		v           *client
		tags        []string
		rating      int
	}{{a1, ta, va, []string{"advice-given", "jihadist"}, 4}, {b1, tb, vb, []string{"advice-given"}, 5}} {
		adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: end.conv, Tags: end.tags})
		end.v.expect("ended", isEntry(end.conv, "ended"))
		if status, code := postFeedback(t, a, feedbackBody(end.conv, end.token, end.rating, ""), nil); status != http.StatusNoContent {
			t.Fatalf("feedback: %d %q", status, code)
		}
	}
	ve.send(protocol.End{Type: protocol.TypeEnd})
	ve.expect("ended", isEntry(e1, "ended"))

	// C and F go away; the visitor grace (2 s) ends them as abandoned.
	q, err := routing.New(a.Redis.Client, routing.Config{Prefix: a.Redis.Prefix, Queues: config.Queues})
	if err != nil {
		t.Fatal(err)
	}
	sub := a.Redis.Client.Subscribe(ctx, q.ChangedChannel())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	vc.conn.CloseNow()
	vf.conn.CloseNow()
	adv.expect("C abandoned", func(f frame) bool {
		return f.str("type") == "unassigned" && f.str("conversation") == c1 && f.str("reason") == "ended"
	})
	deadline := time.After(15 * time.Second)
	for {
		st, err := q.State(ctx, f1)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status == routing.StatusEnded {
			break
		}
		select {
		case <-sub.Channel():
		case <-deadline:
			t.Fatalf("F was not abandoned: %+v", st)
		}
	}
	_ = d1
}

// TestReportMatchesAScriptedRun: the report a supervisor downloads counts
// exactly what happened, as CSV and as the printable page.
func TestReportMatchesAScriptedRun(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_VISITOR_GRACE": "2s"})
	sup := a.supervisor(t, "sofie")
	scriptedRun(t, a)

	today := time.Now().UTC()
	query := "from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
	status, body := reportGet(t, a, sup, query+"&format=csv")
	if status != http.StatusOK {
		t.Fatalf("CSV: %d %s", status, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV %q: %v", body, err)
	}
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r[0]+" "+r[1]] = r[2]
	}
	want := map[string]string{
		"started public/nl": "2", "started public/en": "1", "started public/ar": "1",
		"started professional/nl": "1", "started professional/en": "1", "started total": "6",
		"urgent total": "1", "answered total": "4",
		"wait median": "<=30s", "wait p90": "<=30s", "wait <=30s": "4", "wait <=60s": "0", "wait >3600s": "0",
		"abandoned waiting": "1", "abandoned active": "1", "left waiting": "1",
		"outcome advice-given": "2", "outcome jihadist": "1", "outcome right-wing": "0", "outcome referral-made": "0",
		"feedback 1": "0", "feedback 2": "0", "feedback 3": "0", "feedback 4": "1", "feedback 5": "1",
		"range from": today.AddDate(0, 0, -1).Format(time.DateOnly), "range to": today.AddDate(0, 0, 1).Format(time.DateOnly),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("CSV %s = %q, want %q", k, got[k], v)
		}
	}
	if rows[0][0] != "section" || !slices.Equal(rows[0], []string{"section", "item", "count"}) {
		t.Errorf("CSV header %q", rows[0])
	}
	// Counts only: no conversation id, token or name anywhere in it.
	for _, bad := range []string{"anna", "sofie"} {
		if strings.Contains(body, bad) {
			t.Errorf("the CSV names %q", bad)
		}
	}

	status, page := reportGet(t, a, sup, query+"&lang=en")
	if status != http.StatusOK {
		t.Fatalf("page: %d", status)
	}
	for _, w := range []string{`id="started-total">6<`, `id="urgent">1<`, `id="answered">4<`, `id="abandoned-waiting">1<`,
		`id="abandoned-active">1<`, `id="left-waiting">1<`, `id="wait-median">at most 30 seconds<`, "<td>advice-given</td><td class=\"num\">2</td>",
		"Conversations started", "Public"} {
		if !strings.Contains(page, w) {
			t.Errorf("the printable page lacks %s", w)
		}
	}
}

// TestReportRefusesBadInput: every bad range is a 400 that says what is
// wrong, changes nothing in Redis, and only supervisors may ask at all.
func TestReportRefusesBadInput(t *testing.T) {
	a := startApp(t, nil)
	sup := a.supervisor(t, "sofie")
	_, advClient := onDutyAdvisor(t, a, "anna")
	before := a.Redis.Keys(t)
	slices.Sort(before)
	for query, want := range map[string]string{
		"from=2026-11-30&to=2026-11-01":          "from 2026-11-30 is after to 2026-11-01",
		"from=2025-01-01&to=2026-02-05":          "401 days: a report covers at most 400",
		"from=2026-11-1&to=2026-11-30":           `from "2026-11-1" is not a date`,
		"from=2026-11-01&to=30-11-2026":          `to "30-11-2026" is not a date`,
		"from=2026-02-30&to=2026-03-01":          `from "2026-02-30" is not a date`,
		"month=2026-13":                          `month "2026-13" is not a month`,
		"month=2026-11&from=2026-11-01":          "either month or from and to",
		"from=2026-11-01":                        "give month",
		"":                                       "give month",
		"month=2026-11&format=xml":               "format must be csv or html",
		"from=2026-11-01%27&to=2026-11-02":       "is not a date",
		"month=2026-11-01":                       "is not a month",
		"from=2026-11-01&to=2026-11-01T00:00:00": "is not a date",
	} {
		status, body := reportGet(t, a, sup, query)
		if status != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("report?%s = %d %q, want 400 saying %q", query, status, body, want)
		}
	}
	after := a.Redis.Keys(t)
	slices.Sort(after)
	if !slices.Equal(before, after) {
		t.Errorf("bad report requests changed Redis: keys %v, then %v", before, after)
	}
	if status, _ := reportGet(t, a, advClient, "month=2026-11"); status != http.StatusForbidden {
		t.Errorf("an advisor asked for the report: %d, want 403", status)
	}
	if status, _ := reportGet(t, a, http.DefaultClient, "month=2026-11"); status != http.StatusUnauthorized {
		t.Errorf("a stranger asked for the report: %d, want 401", status)
	}
	// The longest range and a month work.
	for _, q := range []string{"from=2025-01-01&to=2026-02-04&format=csv", "month=2026-02&format=csv"} {
		if status, body := reportGet(t, a, sup, q); status != http.StatusOK || !strings.HasPrefix(body, "section,item,count\n") {
			t.Errorf("report?%s = %d %q", q, status, body)
		}
	}
	status, body := reportGet(t, a, sup, "month=2026-02&format=csv")
	if status != http.StatusOK || !strings.Contains(body, "range,from,2026-02-01\n") || !strings.Contains(body, "range,to,2026-02-28\n") {
		t.Errorf("February 2026 = %d %q", status, body)
	}
}
