package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/keep"
	"github.com/advicechat/advicechat/web/protocol"
)

// askQuestion posts a question's body to /question and returns the status
// and the decoded answer.
func askQuestion(t *testing.T, a *app, body string) (int, frame) {
	t.Helper()
	return postJSON(t, a, "/question", body)
}

func questionBody(audience, lang, text, code string) string {
	m := map[string]string{"audience": audience, "lang": lang, "text": text}
	if code != "" {
		m["code"] = code
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// closedNow is an hours file closed today, yesterday and tomorrow.
func closedNow(t *testing.T) string {
	return writeHours(t, map[string]any{
		"time_zone": "Europe/Amsterdam", "weekly": allWeek,
		"closed": []string{day(-1), day(0), day(1)}, "alternatives": alternatives,
	})
}

var questionCodeShape = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

// consoleOf logs an advisor in and opens their console (off duty: the
// questions view needs no duty).
func consoleOf(t *testing.T, a *app, name string, flags ...string) *client {
	t.Helper()
	pw := a.addAdvisor(t, name, flags...)
	return a.advisor(t, a.login(t, name, pw), nil)
}

// questionsWith waits for a questions view that lists the question id
// and satisfies ok.
func questionsWith(id string, ok func(item frame) bool) func(frame) bool {
	return func(f frame) bool {
		if f.str("type") != protocol.TypeQuestions {
			return false
		}
		for _, it := range frameItems(f, "questions") {
			if it.str("id") == id && ok(it) {
				return true
			}
		}
		return false
	}
}

func frameItems(f frame, key string) []frame {
	l, _ := f[key].([]any)
	out := make([]frame, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// openCount is the open questions of one audience and language in a
// questions view (its counts) or the supervisor's overview (its
// questions); -1 if it does not list them.
func openCount(f frame, audience, lang string) int64 {
	key := "counts"
	if f.str("type") == protocol.TypeOverview {
		key = "questions"
	}
	for _, c := range frameItems(f, key) {
		if c.str("audience") == audience && c.str("lang") == lang {
			return c.num("open")
		}
	}
	return -1
}

// metricValue is one series' value on /metrics, "" if absent.
func metricValue(t *testing.T, a *app, series string) string {
	t.Helper()
	for _, line := range strings.Split(readMetrics(t, a), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// takeRace has two consoles take one question at once; exactly one gets
// it. It returns the winner and the loser.
func takeRace(t *testing.T, x, y *client, id string) (winner, loser *client, q frame) {
	t.Helper()
	take := protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id}
	b, _ := json.Marshal(take)
	done := make(chan struct{})
	go func() { defer close(done); y.sendRaw(b) }()
	x.sendRaw(b)
	<-done
	outcome := func(c *client) frame {
		return c.expectKeeping("the take's outcome", func(f frame) bool {
			return (f.str("type") == protocol.TypeQuestion && f.str("id") == id) ||
				(f.str("type") == protocol.TypeError && f.str("id") == id)
		})
	}
	fx, fy := outcome(x), outcome(y)
	switch {
	case fx.str("type") == protocol.TypeQuestion && fy.str("code") == string(protocol.CodeQuestionTaken):
		return x, y, fx
	case fy.str("type") == protocol.TypeQuestion && fx.str("code") == string(protocol.CodeQuestionTaken):
		return y, x, fy
	}
	t.Fatalf("two takes at once: %v and %v; want one question and one question_taken", fx, fy)
	return nil, nil, nil
}

// threadOf opens the thread kept under code.
func threadOf(t *testing.T, a *app, code string) keep.Thread {
	t.Helper()
	_, th, err := keep.NewVault(a.Redis.Client, a.Redis.Prefix).Open(context.Background(), code)
	if err != nil {
		t.Fatalf("open the thread of %s: %v", code, err)
	}
	return th
}

func questionKeys(t *testing.T, a *app) []string {
	t.Helper()
	var out []string
	for _, k := range a.Redis.Keys(t) {
		if strings.Contains(k, "{q}") {
			out = append(out, k)
		}
	}
	return out
}

// TestQuestionLeftWhileClosedAnsweredAndReplied: at night a visitor leaves
// a question and gets a code and the next opening; two advisors see it,
// race to take it and only one gets it; the answer is sealed under the
// code and the plaintext goes; the visitor's reply comes back first for
// the advisor who answered; the supervisor's overview and the metrics
// count it all.
func TestQuestionLeftWhileClosedAnsweredAndReplied(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": closedNow(t)})
	anna := consoleOf(t, a, "anna", "-name", "Anna", "-languages", "nl,en")
	bram := consoleOf(t, a, "bram", "-name", "Bram", "-languages", "nl")
	pwSara := a.addAdvisor(t, "sara", "-role", "supervisor", "-languages", "en")
	saraHC := a.login(t, "sara", pwSara)
	sup := a.supervisorSocket(t, saraHC)
	for _, c := range []*client{anna, bram} {
		c.expect("an empty questions view", func(f frame) bool {
			return f.str("type") == protocol.TypeQuestions && openCount(f, "public", "nl") == 0
		})
	}

	const asked = "Mijn zoon deelt 's nachts filmpjes van een haatprediker. Wat kan ik doen?"
	status, f := askQuestion(t, a, questionBody("public", "nl", asked, ""))
	if status != http.StatusOK || !questionCodeShape.MatchString(f.str("code")) {
		t.Fatalf("question while closed: %d %v, want 200 with a return code", status, f)
	}
	code := f.str("code")
	next, err := time.Parse(time.RFC3339, f.str("next_opening"))
	if err != nil || !next.After(time.Now()) {
		t.Errorf("next_opening %q is not a future RFC 3339 time", f.str("next_opening"))
	}
	// Before the answer the code opens an empty thread.
	if th := threadOf(t, a, code); len(th.Parts) != 0 {
		t.Errorf("thread before the answer has %d parts", len(th.Parts))
	}
	// Coming back before the answer: the open question, no parts yet.
	status, back := postJSON(t, a, "/return", codeBody(code))
	if pend := frameItems(back, "questions"); status != http.StatusOK || len(pend) != 1 || pend[0].str("text") != asked || pend[0]["answering"] != false ||
		len(frameItems(back.obj("thread"), "parts")) != 0 {
		t.Errorf("POST /return before the answer = %d %v; want the open question and no parts", status, back)
	}

	var id string
	for _, c := range []*client{anna, bram} {
		v := c.expect("the question in the view", func(f frame) bool {
			return f.str("type") == protocol.TypeQuestions && len(frameItems(f, "questions")) == 1
		})
		it := frameItems(v, "questions")[0]
		if it.str("audience") != "public" || it.str("lang") != "nl" || it["text"] != nil || openCount(v, "public", "nl") != 1 {
			t.Errorf("questions view %v: want one public nl question without its text, counted", v)
		}
		id = it.str("id")
	}
	sup.expect("the overview counts it", func(f frame) bool {
		return f.str("type") == protocol.TypeOverview && openCount(f, "public", "nl") == 1
	})

	winner, loser, q := takeRace(t, anna, bram, id)
	if q.str("text") != asked || len(frameItems(q, "earlier")) != 0 {
		t.Errorf("taken question %v: want its text and nothing earlier", q)
	}
	loser.expect("taken by the other", questionsWith(id, func(it frame) bool { return it["taken"] == true }))
	// The loser cannot answer it either.
	loser.send(protocol.QuestionAnswer{Type: protocol.TypeQuestionAnswer, Question: id, Text: "ook een antwoord"})
	loser.expect("question_taken", func(f frame) bool {
		return f.str("type") == protocol.TypeError && f.str("code") == string(protocol.CodeQuestionTaken) && f.str("id") == id
	})

	const answer = "Goed dat u dit vraagt. Blijf in gesprek met hem; morgen bellen we het na."
	winner.send(protocol.QuestionAnswer{Type: protocol.TypeQuestionAnswer, Question: id, Text: answer})
	winner.expectKeeping("answered", func(f frame) bool { return f.str("type") == protocol.TypeQuestionAnswered && f.str("question") == id })
	th := threadOf(t, a, code)
	if len(th.Parts) != 1 || th.Parts[0].Kind != keep.PartQuestion || len(th.Parts[0].Entries) != 2 ||
		th.Parts[0].Entries[0].Text != asked || th.Parts[0].Entries[1].Text != answer || th.Parts[0].Entries[0].From != "visitor" || th.Parts[0].Entries[1].From != "advisor" {
		t.Fatalf("thread after the answer = %+v; want one question part with the question and the answer", th)
	}
	// The visitor reads the answer with the code.
	status, back = postJSON(t, a, "/return", codeBody(code))
	if parts := frameItems(back.obj("thread"), "parts"); status != http.StatusOK || len(parts) != 1 || parts[0].str("kind") != keep.PartQuestion ||
		len(frameItems(back, "questions")) != 0 {
		t.Errorf("POST /return after the answer = %d %v; want the question part and no open question", status, back)
	} else if e := frameItems(parts[0], "entries"); len(e) != 2 || e[0].str("text") != asked || e[1].str("text") != answer {
		t.Errorf("the answered part reads %v", e)
	}
	winnerName := th.Advisor
	if winnerName != "anna" && winnerName != "bram" {
		t.Fatalf("thread's advisor %q", winnerName)
	}
	if keys := questionKeys(t, a); len(keys) != 0 {
		t.Errorf("after the answer Redis still holds %v", keys)
	}
	// The funder report counts it, left and answered.
	days := "from=" + time.Now().AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	if status, csv := reportGet(t, a, saraHC, days+"&format=csv"); status != http.StatusOK ||
		!strings.Contains(csv, "questions,left,1\n") || !strings.Contains(csv, "questions,answered,1\n") {
		t.Errorf("report after one question answered = %d:\n%s", status, csv)
	}
	for _, c := range []*client{anna, bram} {
		c.expect("an empty view again", func(f frame) bool {
			return f.str("type") == protocol.TypeQuestions && len(frameItems(f, "questions")) == 0 && openCount(f, "public", "nl") == 0
		})
	}
	sup.expect("the overview counts none", func(f frame) bool {
		return f.str("type") == protocol.TypeOverview && openCount(f, "public", "nl") == 0
	})

	// The reply goes back to the view, first and for the advisor who
	// answered.
	other := anna
	if winner == anna {
		other = bram
	}
	status, f = askQuestion(t, a, questionBody("public", "nl", "Dank u. Hij wil niet praten; wat nu?", strings.ToLower(code)))
	if status != http.StatusOK || f["code"] != nil {
		t.Fatalf("reply: %d %v, want 200 without a new code", status, f)
	}
	var reply string
	winner.expect("the reply, for the advisor who answered", func(f frame) bool {
		if f.str("type") != protocol.TypeQuestions {
			return false
		}
		items := frameItems(f, "questions")
		if len(items) == 1 && items[0]["for_you"] == true && items[0]["reply"] == true {
			reply = items[0].str("id")
			return true
		}
		return false
	})
	other.expect("the reply, not for the other", questionsWith(reply, func(it frame) bool { return it["for_you"] == nil && it["reply"] == true }))
	winner.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: reply})
	q = winner.expect("the reply taken", func(f frame) bool { return f.str("type") == protocol.TypeQuestion && f.str("id") == reply })
	if earlier := frameItems(q, "earlier"); len(earlier) != 1 || len(frameItems(earlier[0], "entries")) != 2 {
		t.Errorf("the reply shows %v earlier, want the first question and its answer", q["earlier"])
	}
	winner.send(protocol.QuestionAnswer{Type: protocol.TypeQuestionAnswer, Question: reply, Text: "Dan is er nog veel mogelijk. Bel ons morgen."})
	winner.expect("reply answered", func(f frame) bool {
		return f.str("type") == protocol.TypeQuestionAnswered && f.str("question") == reply
	})
	if th := threadOf(t, a, code); len(th.Parts) != 2 || th.Parts[1].Entries[0].Text != "Dank u. Hij wil niet praten; wat nu?" {
		t.Errorf("thread after the reply's answer = %+v; want two question parts", th)
	}

	for series, want := range map[string]string{
		`advicechat_questions_left_total{kind="new"}`:   "1",
		`advicechat_questions_left_total{kind="reply"}`: "1",
		`advicechat_questions_answered_total`:           "2",
		`advicechat_question_answer_seconds_count`:      "2",
		`advicechat_questions_expired_total`:            "0",
	} {
		if got := metricValue(t, a, series); got != want {
			t.Errorf("%s = %q, want %s", series, got, want)
		}
	}
	// The log carries no text of the question nor the code.
	logs := a.logs.String()
	if strings.Contains(logs, "haatprediker") || strings.Contains(logs, code) || strings.Contains(logs, answer) {
		t.Error("the log holds the question, the answer or the code")
	}
}

// TestQuestionWhileBusyAndRefusedWhileOpen: a new question is taken when
// the wait would be too long, and refused (storing nothing) when the chat
// is open and not busy.
func TestQuestionWhileBusyAndRefusedWhileOpen(t *testing.T) {
	t.Run("busy", func(t *testing.T) {
		a := startApp(t, map[string]string{
			"ADVICECHAT_BUSY_WAIT":        "1m",
			"ADVICECHAT_DEFAULT_HANDLING": "30m",
			"ADVICECHAT_HOURS":            alwaysOpen(t),
		})
		adv, _ := onDutyAdvisor(t, a, "anna", "-max", "1")
		activeConversation(t, a, adv)
		status, f := askQuestion(t, a, questionBody("public", "nl", "Het is erg druk; ik stel mijn vraag hier.", ""))
		if status != http.StatusOK || !questionCodeShape.MatchString(f.str("code")) || f["next_opening"] != nil {
			t.Fatalf("question while busy: %d %v, want 200 with a code and no next opening", status, f)
		}
		adv.expect("the question in anna's view", func(f frame) bool {
			return f.str("type") == protocol.TypeQuestions && len(frameItems(f, "questions")) == 1
		})
	})
	t.Run("open", func(t *testing.T) {
		a := startApp(t, map[string]string{"ADVICECHAT_HOURS": alwaysOpen(t)})
		status, f := askQuestion(t, a, questionBody("public", "nl", "Is er iemand?", ""))
		if status != http.StatusConflict || f.str("error") != string(protocol.CodeChatOpen) || f.str("message") == "" {
			t.Fatalf("question while open: %d %v, want 409 chat_open", status, f)
		}
		if keys := a.Redis.Keys(t); len(keys) != 0 && len(questionKeys(t, a)) != 0 {
			t.Errorf("a refused question stored %v", questionKeys(t, a))
		}
		for _, k := range a.Redis.Keys(t) {
			if strings.Contains(k, "{k:") {
				t.Errorf("a refused question left a kept thread %s", k)
			}
		}
	})
}

// TestQuestionExpiresUnanswered: a question nobody answers goes after
// ADVICECHAT_QUESTION_KEEP, is counted as expired once, and leaves the
// view.
func TestQuestionExpiresUnanswered(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": closedNow(t), "ADVICECHAT_QUESTION_KEEP": "1s"})
	anna := consoleOf(t, a, "anna")
	status, _ := askQuestion(t, a, questionBody("public", "nl", "Niemand zal dit lezen.", ""))
	if status != http.StatusOK {
		t.Fatalf("question: %d", status)
	}
	anna.expect("the question", func(f frame) bool {
		return f.str("type") == protocol.TypeQuestions && openCount(f, "public", "nl") == 1
	})
	if a.Redis.Mini != nil {
		a.Redis.Mini.FastForward(2 * time.Second)
	}
	anna.expect("the view empty again", func(f frame) bool {
		return f.str("type") == protocol.TypeQuestions && openCount(f, "public", "nl") == 0
	})
	deadline := time.Now().Add(waitTimeout)
	for metricValue(t, a, "advicechat_questions_expired_total") != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("expired = %q, want 1", metricValue(t, a, "advicechat_questions_expired_total"))
		}
		time.Sleep(50 * time.Millisecond) // polling the sweep's counter
	}
	ctx := context.Background()
	for _, k := range a.Redis.Keys(t) {
		if strings.Contains(dumpKey(ctx, a, k), "Niemand zal dit lezen") {
			t.Errorf("%s still holds the expired question", k)
		}
	}
}

// TestQuestionBadInput: each bad body is refused with its code and
// stores nothing.
func TestQuestionBadInput(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": closedNow(t)})
	long := strings.Repeat("ä", 4001)
	for _, tc := range []struct {
		name, body string
		status     int
		code       protocol.Code
	}{
		{"not JSON", `vraag`, 400, protocol.CodeBadJSON},
		{"unknown field", `{"audience":"public","lang":"nl","text":"x","ip":"1.2.3.4"}`, 400, protocol.CodeBadJSON},
		{"no text", `{"audience":"public","lang":"nl"}`, 400, protocol.CodeEmpty},
		{"empty", questionBody("public", "nl", "", ""), 400, protocol.CodeEmpty},
		{"white space", questionBody("public", "nl", " \n\t ", ""), 400, protocol.CodeEmpty},
		{"too long", questionBody("public", "nl", long, ""), 400, protocol.CodeTooLong},
		{"bad UTF-8", "{\"audience\":\"public\",\"lang\":\"nl\",\"text\":\"ab\xffcd\"}", 400, protocol.CodeBadUTF8},
		{"lone surrogate", `{"audience":"public","lang":"nl","text":"ab\ud800cd"}`, 400, protocol.CodeBadUTF8},
		{"control character", questionBody("public", "nl", "a\x00b", ""), 400, protocol.CodeBadRequest},
		{"text not a string", `{"audience":"public","lang":"nl","text":42}`, 400, protocol.CodeBadRequest},
		{"unknown audience", questionBody("everyone", "nl", "vraag", ""), 400, protocol.CodeBadRequest},
		{"unknown lang", questionBody("public", "fr", "vraag", ""), 400, protocol.CodeBadRequest},
		{"upper-case lang", questionBody("public", "NL", "vraag", ""), 400, protocol.CodeBadRequest},
		{"malformed code", questionBody("public", "nl", "vraag", "not-a-code"), 404, protocol.CodeUnknownCode},
		{"empty code", `{"audience":"public","lang":"nl","text":"vraag","code":""}`, 404, protocol.CodeUnknownCode},
		{"unknown code", questionBody("public", "nl", "vraag", keep.NewCode().String()), 404, protocol.CodeUnknownCode},
		{"too large", `{"audience":"public","lang":"nl","text":"` + strings.Repeat("a", 70<<10) + `"}`, 400, protocol.CodeBadJSON},
	} {
		status, f := askQuestion(t, a, tc.body)
		if status != tc.status || f.str("error") != string(tc.code) || f.str("message") == "" {
			t.Errorf("%s: %d %v, want %d %s with a message", tc.name, status, f, tc.status, tc.code)
		}
	}
	for _, k := range a.Redis.Keys(t) {
		if strings.Contains(k, "{q}") || strings.Contains(k, "{k:") {
			t.Errorf("refused questions stored %s", k)
		}
	}
	// The same answer for a malformed and an unknown code.
	_, m := askQuestion(t, a, questionBody("public", "nl", "vraag", "7KQ2"))
	_, u := askQuestion(t, a, questionBody("public", "nl", "vraag", keep.NewCode().String()))
	if m.str("message") != u.str("message") || m.str("message") != "this code is not known or has expired" {
		t.Errorf("malformed %q and unknown %q codes are told apart", m.str("message"), u.str("message"))
	}

	// The console refuses bad frames too, and changes nothing.
	status, f := askQuestion(t, a, questionBody("public", "nl", "Een echte vraag.", ""))
	if status != http.StatusOK {
		t.Fatalf("question: %d %v", status, f)
	}
	anna := consoleOf(t, a, "anna")
	view := anna.expect("the question", func(f frame) bool {
		return f.str("type") == protocol.TypeQuestions && len(frameItems(f, "questions")) == 1
	})
	id := frameItems(view, "questions")[0].str("id")
	for _, tc := range []struct {
		name  string
		frame string
		code  protocol.Code
	}{
		{"take without id", `{"type":"question_take"}`, protocol.CodeBadRequest},
		{"answer before taking", `{"type":"question_answer","question":"` + id + `","text":"antwoord"}`, protocol.CodeBadRequest},
		{"take of no such question", `{"type":"question_take","question":"` + strings.Repeat("a", 32) + `"}`, protocol.CodeNotFound},
		{"release of one not taken", `{"type":"question_release","question":"` + id + `"}`, protocol.CodeNotFound},
	} {
		anna.sendRaw([]byte(tc.frame))
		anna.expect(tc.name, func(f frame) bool { return f.str("type") == protocol.TypeError && f.str("code") == string(tc.code) })
	}
	anna.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id})
	anna.expect("taken", func(f frame) bool { return f.str("type") == protocol.TypeQuestion })
	for _, tc := range []struct {
		name  string
		frame string
		code  protocol.Code
	}{
		{"empty answer", `{"type":"question_answer","question":"` + id + `","text":"  "}`, protocol.CodeEmpty},
		{"lone surrogate in the answer", `{"type":"question_answer","question":"` + id + `","text":"a\udc00b"}`, protocol.CodeBadUTF8},
		{"invalid UTF-8 in the answer", "{\"type\":\"question_answer\",\"question\":\"" + id + "\",\"text\":\"a\xffb\"}", protocol.CodeBadUTF8},
		{"too long answer", `{"type":"question_answer","question":"` + id + `","text":"` + long + `"}`, protocol.CodeTooLong},
	} {
		anna.sendRaw([]byte(tc.frame))
		anna.expect(tc.name, func(f frame) bool {
			return f.str("type") == protocol.TypeError && f.str("code") == string(tc.code) && f.str("id") == id
		})
	}
	if len(questionKeys(t, a)) == 0 {
		t.Fatal("refused answers removed the question")
	}
	// Given back, another may take it.
	anna.send(protocol.QuestionTarget{Type: protocol.TypeQuestionRelease, Question: id})
	anna.expect("given back", questionsWith(id, func(it frame) bool { return it["mine"] == nil && it["taken"] == nil }))
}

// TestAnsweredQuestionLeavesNoPlaintext scans every key after an answer:
// no text of the question or the answer, no key material of the code
// remains; only the sealed thread, with its TTL.
func TestAnsweredQuestionLeavesNoPlaintext(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": closedNow(t)})
	anna := consoleOf(t, a, "anna")
	const asked, answer = "Vraag-over-de-buurjongen-7Q", "Antwoord-aan-de-buurvrouw-3Z"
	_, f := askQuestion(t, a, questionBody("professional", "nl", asked, ""))
	code := f.str("code")
	c, ok := keep.ParseCode(code)
	if !ok {
		t.Fatalf("no code: %v", f)
	}
	k := c.Keys()
	view := anna.expect("the question", func(f frame) bool {
		return f.str("type") == protocol.TypeQuestions && len(frameItems(f, "questions")) == 1
	})
	id := frameItems(view, "questions")[0].str("id")
	ctx := context.Background()
	// While open, the question is plaintext: staff can read it.
	found := false
	for _, key := range a.Redis.Keys(t) {
		found = found || strings.Contains(dumpKey(ctx, a, key), asked)
	}
	if !found {
		t.Fatal("the open question is not in Redis as the docs say")
	}
	anna.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id})
	anna.expect("taken", func(f frame) bool { return f.str("type") == protocol.TypeQuestion })
	anna.send(protocol.QuestionAnswer{Type: protocol.TypeQuestionAnswer, Question: id, Text: answer})
	anna.expect("answered", func(f frame) bool { return f.str("type") == protocol.TypeQuestionAnswered })

	key := hex.EncodeToString(k.Key[:])
	secret := []string{asked, answer, key, k.Encode(), strings.ReplaceAll(code, "-", ""), code, id}
	var kept []string
	for _, name := range a.Redis.Keys(t) {
		body := dumpKey(ctx, a, name)
		for _, s := range secret {
			if strings.Contains(name, s) || strings.Contains(body, s) {
				t.Errorf("after the answer %s holds %q", name, s)
			}
		}
		if strings.Contains(name, "{k:") {
			kept = append(kept, name)
			if ttl := a.Redis.Client.TTL(ctx, name).Val(); ttl <= 0 || ttl > 30*24*time.Hour {
				t.Errorf("kept thread %s has TTL %s", name, ttl)
			}
		}
		if strings.Contains(name, "{q}") {
			t.Errorf("after the answer %s is left", name)
		}
	}
	if len(kept) != 1 || !strings.Contains(kept[0], k.Lookup) {
		t.Errorf("kept threads %v, want the one under the code's lookup id", kept)
	}
}
