package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestBrowserReturnQuestions drives questions left while the chat is
// closed through the visitor's page in Chromium, in Dutch, English and
// Arabic: the closed landing page offers "leave a question", the form
// refuses a missing audience and an empty text, a question sent shows its
// return code once and when the helpline answers, and the code then shows
// the question waiting (no live chat to start while closed); an advisor
// answers, and the visitor reads the answer with the code and replies. In
// Dutch the quick exit with the code on screen leaves no trace of it in
// the tab.
// axe checks every new state at a phone's and a desktop's width.
func TestBrowserReturnQuestions(t *testing.T) {
	start := time.Now()
	exit := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, exitPage)
	}))
	t.Cleanup(exit.Close)
	exitURL := exit.URL + "/"
	a := startApp(t, map[string]string{
		"ADVICECHAT_HOURS":           closedNow(t),
		"ADVICECHAT_EXIT_URL":        exitURL,
		"ADVICECHAT_TRUSTED_PROXIES": "127.0.0.1",
	})
	anna := consoleOf(t, a, "anna", "-name", "Anna", "-languages", "nl,en,ar")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	texts := localeTexts(t)
	axe := newAxeChecker(t)
	b := startBrowser(t)
	b.deadline = time.Now().Add(4 * time.Minute)

	answered := map[string]bool{} // question ids answered so far
	for _, c := range []struct{ lang, audience, question, answer, reply, addr string }{
		{"nl", "public", "Mijn dochter praat steeds vaker over complotten. Hoe ga ik het gesprek aan?",
			"Goed dat u dit vraagt. Vraag haar waar ze het gelezen heeft, zonder te oordelen.", "Dank u. Ze wil er niet over praten; wat nu?", "203.0.113.11"},
		{"en", "professional", "A pupil of mine shares extremist videos. What should the school do?",
			"Thank you for asking. Talk with the pupil first, and ask the local prevention team for advice.", "Thanks. Should the parents be told?", "203.0.113.12"},
		{"ar", "public", "ابني يتابع حسابات متطرفة. ماذا أفعل؟",
			"شكرًا لسؤالك. تحدث معه بهدوء واسأله عما يشاهده.", "شكرًا. وماذا لو رفض الحديث؟", "203.0.113.13"},
	} {
		tx := texts[c.lang]
		v := openVisitorAs(b, a, "visitor-"+c.lang, c.lang, c.addr)
		v.do("closed", chromedp.WaitVisible(chromedp.CSS(`#hours[data-hours="closed"]`)))
		v.do("leave a question", chromedp.Click(chromedp.ID("ask-open")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="ask"]`)))
		if evalString(v, "intro", `document.getElementById('ask-intro-closed').hidden ? 'busy' : 'closed'`) != "closed" {
			t.Errorf("%s: the question form does not say the chat is closed", c.lang)
		}
		if got := evalString(v, "question language", `document.getElementById('ask-lang').value`); got != c.lang {
			t.Errorf("%s: the question's language is %q at first, want the page's", c.lang, got)
		}
		axe.check(v, "visitor leave a question "+c.lang)

		// Refused before anything is sent: no audience, then no text.
		v.do("send without an audience", chromedp.Click(chromedp.ID("ask-send")), chromedp.WaitVisible(chromedp.ID("ask-audience-error")))
		v.do("send empty",
			chromedp.Click(chromedp.ID("ask-audience-"+c.audience)),
			chromedp.SendKeys(chromedp.ID("ask-text"), "   "),
			chromedp.Click(chromedp.ID("ask-send")),
		)
		waitText(v, "ask-error", tx["error.empty"])
		if status, f := postJSON(t, a, "/return", codeBody("0000-0000-0000-0000")); status != http.StatusNotFound {
			t.Errorf("control: POST /return with a code nobody has = %d %v", status, f)
		}

		v.do("send the question",
			chromedp.Evaluate[chromedp.Void](`document.getElementById('ask-text').value = ''`),
			chromedp.SendKeys(chromedp.ID("ask-text"), c.question),
			chromedp.Click(chromedp.ID("ask-send")),
		)
		code := codeShown(v)
		if got := evalString(v, "what the code is for", `document.getElementById('code-once').textContent`); got != tx["visitor.question.code"] {
			t.Errorf("%s: the code says %q, want %q", c.lang, got, tx["visitor.question.code"])
		}
		when := evalString(v, "next opening", `document.getElementById('ask-when').textContent`)
		if prefix, _, _ := strings.Cut(tx["visitor.question.next_opening"], "{when}"); when == "" || when == tx["visitor.ask.no_opening"] || !strings.HasPrefix(when, prefix) {
			t.Errorf("%s: after the question the page says %q, want when the chat opens again (%q)", c.lang, when, tx["visitor.question.next_opening"])
		}
		if got := evalString(v, "question field", `document.getElementById('ask-text').value`); got != "" {
			t.Errorf("%s: the form still holds %q once the question is sent", c.lang, got)
		}
		assertCodeNotStored(v, code)
		axe.check(v, "visitor question code shown "+c.lang)

		if c.lang == "nl" {
			// Quick exit with the code on screen: nothing of it stays in
			// the tab, and Back cannot bring the page up again.
			v.do("quick exit", chromedp.Click(chromedp.ID("quick-exit")), chromedp.WaitVisible(chromedp.ID("weather")))
			hist := tabRun(v, "navigation history", chromedp.NavigationEntries())
			for i, e := range hist.Entries {
				if strings.HasPrefix(e.URL, a.URL) {
					t.Errorf("after quick exit history entry %d is %q", i, e.URL)
				}
			}
			v.do("back to the app", chromedp.Navigate(a.URL+"/?lang=nl"), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
			if keys := tabRun(v, "sessionStorage keys", chromedp.Evaluate[[]string](`Object.keys(sessionStorage)`)); len(keys) != 0 {
				t.Errorf("sessionStorage after quick exit holds %q, want nothing", keys)
			}
			assertCodeNotStored(v, code)
			assertCodeNotInPage(v, code)
		} else {
			closeCode(v)
			v.do("sent", chromedp.WaitVisible(chromedp.ID("ask-done")))
			assertCodeNotInPage(v, code)
			axe.check(v, "visitor question sent "+c.lang)
			v.do("back", chromedp.Click(chromedp.ID("ask-back")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
		}

		// Back with the code: the question waits; while closed there is
		// no live chat to start.
		returnWith(v, code)
		v.do("returned", chromedp.WaitVisible(chromedp.CSS(`body[data-state="returned"]`)))
		v.waitFor("the question waiting", `(text) => [...document.querySelectorAll('#pending-list .text')].some((p) => p.textContent === text)`, c.question)
		if !strings.Contains(evalString(v, "pending", `document.getElementById('pending-list').textContent`), tx["visitor.question.pending"]) {
			t.Errorf("%s: the waiting question does not say it has no answer yet", c.lang)
		}
		if tabRun(v, "start offered", chromedp.Evaluate[bool](`!document.getElementById('return-start-block').hidden || document.getElementById('return-start-closed').hidden`)) {
			t.Errorf("%s: while closed the page offers to start a chat about the thread", c.lang)
		}
		axe.check(v, "visitor returned with a question "+c.lang)

		// An advisor answers; the visitor reads the answer and replies.
		var id string
		anna.expect("the question in the view", func(f frame) bool {
			if f.str("type") != protocol.TypeQuestions {
				return false
			}
			for _, it := range frameItems(f, "questions") {
				if it.str("lang") == c.lang && it.str("audience") == c.audience && !answered[it.str("id")] && it["taken"] != true {
					id = it.str("id")
					return true
				}
			}
			return false
		})
		anna.send(protocol.QuestionTarget{Type: protocol.TypeQuestionTake, Question: id})
		anna.expect("taken", func(f frame) bool { return f.str("type") == protocol.TypeQuestion && f.str("id") == id })
		anna.send(protocol.QuestionAnswer{Type: protocol.TypeQuestionAnswer, Question: id, Text: c.answer})
		anna.expect("answered", func(f frame) bool { return f.str("type") == protocol.TypeQuestionAnswered && f.str("question") == id })
		answered[id] = true
		answer := c.answer

		v.do("close", chromedp.Click(chromedp.ID("returned-close")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
		returnWith(v, code)
		threadShows(v, 1, c.question, answer)
		if !tabRun(v, "nothing waits", chromedp.Evaluate[bool](`document.getElementById('pending').hidden`)) {
			t.Errorf("the answered question is still listed as waiting")
		}
		if got := evalString(v, "part heading", `document.querySelector('#thread .part h2').textContent`); !strings.HasPrefix(got, strings.TrimSuffix(tx["visitor.return.part_question"], "{date}")) {
			t.Errorf("the answered question is headed %q, want %q", got, tx["visitor.return.part_question"])
		}
		axe.check(v, "visitor reads an answer "+c.lang)
		reply := c.reply
		v.do("reply",
			chromedp.Click(chromedp.ID("reply-open")),
			chromedp.WaitVisible(chromedp.ID("reply-text")),
			chromedp.SendKeys(chromedp.ID("reply-text"), reply),
			chromedp.Click(chromedp.ID("reply-send")),
			chromedp.WaitVisible(chromedp.ID("reply-sent")),
		)
		v.waitFor("the reply waiting", `(text) => [...document.querySelectorAll('#pending-list .text')].some((p) => p.textContent === text)`, reply)
		axe.check(v, "visitor reply sent "+c.lang)
		if status, f := postJSON(t, a, "/return", codeBody(code)); status != http.StatusOK || len(frameItems(f, "questions")) != 1 || frameItems(f, "questions")[0].str("text") != reply {
			t.Errorf("POST /return after the reply = %d %v, want the reply waiting", status, f)
		}
		v.assertNoPageErrors()
	}

	// The privacy page explains return codes in each language.
	for _, lang := range []string{"nl", "en", "ar"} {
		p := b.newTab("privacy-" + lang)
		p.do("privacy page", chromedp.Navigate(a.URL+"/privacy?lang="+lang), chromedp.WaitVisible(chromedp.ID("codes")))
		for _, k := range []string{"privacy.codes.key", "privacy.codes.lost", "privacy.codes.questions"} {
			if !strings.Contains(evalString(p, "codes section", `document.getElementById('codes').textContent`), texts[lang][k]) {
				t.Errorf("privacy page %s lacks %s", lang, k)
			}
		}
		axe.check(p, "privacy with return codes "+lang)
		p.assertNoPageErrors()
	}
	t.Logf("question checks took %s", time.Since(start).Round(100*time.Millisecond))
}

// TestBrowserReturnQuestionBusy: when the chat is too busy to start, the
// busy page offers "leave a question" too, in Dutch, English and Arabic;
// the form says why, the question gets its code once, and "back" returns
// to the busy page. axe checks the form and the code.
func TestBrowserReturnQuestionBusy(t *testing.T) {
	a := startApp(t, map[string]string{
		"ADVICECHAT_BUSY_WAIT":        "1m",
		"ADVICECHAT_DEFAULT_HANDLING": "30m",
		"ADVICECHAT_HOURS":            alwaysOpen(t),
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	// Anna is full: a new visitor would wait about 30 minutes, over the
	// busy limit.
	adv, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "1")
	v0, _, _ := startConversation(t, a, "public")
	v0.expect("active", isState("active"))
	adv.expect("assigned", isType("assigned"))

	texts := localeTexts(t)
	axe := newAxeChecker(t)
	b := startBrowser(t)
	b.deadline = time.Now().Add(3 * time.Minute)
	for _, lang := range []string{"nl", "en", "ar"} {
		v := openVisitor(b, a, "visitor-"+lang, lang)
		v.do("start while busy",
			chromedp.Click(chromedp.ID("audience-public")),
			chromedp.Click(chromedp.ID("start")),
			chromedp.WaitVisible(chromedp.CSS(`body[data-state="busy"]`)),
			chromedp.Click(chromedp.ID("busy-ask")),
			chromedp.WaitVisible(chromedp.CSS(`body[data-state="ask"]`)),
		)
		waitText(v, "ask-intro-busy", texts[lang]["visitor.question.intro_busy"])
		axe.check(v, "visitor leave a question while busy "+lang)
		v.do("send",
			chromedp.Click(chromedp.ID("ask-audience-public")),
			chromedp.SendKeys(chromedp.ID("ask-text"), "Is er iemand die later kan antwoorden?"),
			chromedp.Click(chromedp.ID("ask-send")),
		)
		code := codeShown(v)
		assertCodeNotStored(v, code)
		closeCode(v)
		v.do("back to the busy page", chromedp.Click(chromedp.ID("ask-back")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="busy"]`)))
		assertCodeNotInPage(v, code)
		if status, f := postJSON(t, a, "/return", codeBody(code)); status != http.StatusOK || len(frameItems(f, "questions")) != 1 {
			t.Errorf("%s: POST /return with the question's code = %d %v, want the question waiting", lang, status, f)
		}
		v.assertNoPageErrors()
	}
}
