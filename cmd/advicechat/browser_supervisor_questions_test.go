package main

import (
	"net/http"
	"testing"
)

// TestBrowserSupervisorQuestions: while the chat is closed, the supervisor
// view says there are no open questions, then counts one left by a
// visitor, per queue and language, with how long it has waited and never
// its text; axe checks the view with the table, in English and Arabic.
func TestBrowserSupervisorQuestions(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": closedNow(t)})
	password := a.addAdvisor(t, "sara", "-name", "Sara", "-role", "supervisor")
	axe := newAxeChecker(t)
	b := startBrowser(t)
	tab := b.newTab("supervisor-questions")
	openSupervisorView(t, a, tab, "sara", password, "en")
	tab.waitFor("no open questions", `() => !document.getElementById('questions-empty').hidden &&
		document.getElementById('questions-wrap').hidden`)

	const text = "Mijn dochter praat over een groep online; wat moet ik doen?"
	if status, f := askQuestion(t, a, questionBody("public", "nl", text, "")); status != http.StatusOK {
		t.Fatalf("question while closed: %d %v", status, f)
	}
	tab.waitFor("one open question counted", `() => {
		const tr = document.querySelector('#questions tr[data-key="public:nl"]');
		return tr !== null && tr.children[2].textContent === '1' && document.getElementById('questions-empty').hidden;
	}`)
	tab.waitFor("never its text", `(text) => !document.body.textContent.includes(text)`, text)
	axe.check(tab, "supervisor view with an open question")

	ar := b.newTab("supervisor-questions-ar")
	openSupervisorView(t, a, ar, "sara", password, "ar")
	ar.waitFor("counted in Arabic", `() => document.querySelector('#questions tr[data-key="public:nl"]') !== null`)
	axe.check(ar, "supervisor view with an open question, Arabic")
}
