package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/web/protocol"
)

// openSupervisorView logs in as a supervisor and opens the view, until
// its socket is connected.
func openSupervisorView(t *testing.T, a *app, tab *browserTab, username, password, lang string) {
	t.Helper()
	tab.do("open the view", chromedp.Navigate(a.URL+"/advisor/supervisor?lang="+lang), chromedp.WaitVisible(chromedp.ID("login-form")))
	// Logged in, the browser lands on the console; this goes on to the
	// view without depending on the console's script.
	tab.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("code"), a.totpCode(t, username)),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS(`body.advisor`)),
	)
	tab.do("open the view again",
		chromedp.Navigate(a.URL+"/advisor/supervisor?lang="+lang),
		chromedp.WaitVisible(chromedp.CSS(`body.supervisor[data-connected="true"]`)),
	)
}

// TestBrowserSupervisor drives the supervisor view in a real Chromium: a
// supervisor logs in, sees the queues, the waiting and the advisors live,
// raises a priority, reassigns a conversation through the dialog with a
// note, and sees a refusal in the dialog; axe checks the view and the
// dialog at a phone's and a desktop's width, and in Arabic, which mirrors.
func TestBrowserSupervisor(t *testing.T) {
	start := time.Now()
	a := startApp(t, nil)
	password := a.addAdvisor(t, "sara", "-name", "Sara", "-role", "supervisor")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	// Anna serves professionals only, so the public visitors wait.
	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "2", "-audiences", "professional")
	v1, c1, _ := startConversation(t, a, "public")
	v1.expect("v1 first", isPosition(1))
	v2, c2, _ := startConversation(t, a, "public")
	v2.expect("v2 second", isPosition(2))

	axe := newAxeChecker(t)
	b := startBrowser(t)
	tab := b.newTab("supervisor")
	openSupervisorView(t, a, tab, "sara", password, "en")
	tab.waitFor("two waiting, in order", `(a, b) => [...document.querySelectorAll('#waiting tr')].map((tr) => tr.dataset.key).join() === a + ',' + b`, c1, c2)
	tab.waitFor("queues and anna on duty", `() => document.querySelectorAll('#queues tr').length === 2 &&
		document.querySelector('#advisors tr[data-key="anna"] .duty-state[data-duty="true"]') !== null`)

	// Live: a third visitor shows up without a reload.
	_, c3, _ := startConversation(t, a, "public")
	tab.waitFor("third waiting", `(id) => document.querySelector('#waiting tr[data-key="' + id + '"]') !== null`, c3)

	// Bert is on duty but his console has closed: the view says he gets
	// no new conversations; Anna's console is open.
	bert, _ := onDutyAdvisor(t, a, "bert", "-name", "Bert", "-audiences", "professional")
	tab.waitFor("bert on duty, console open", `() => document.querySelector('#advisors tr[data-key="bert"] .duty-state[data-duty="true"]') !== null &&
		document.querySelector('#advisors tr[data-key="bert"] .console-away').hidden`)
	bert.conn.CloseNow()
	tab.waitFor("bert without a console", `() => {
		const m = document.querySelector('#advisors tr[data-key="bert"] .console-away');
		return m && !m.hidden && m.textContent === 'console closed: no new conversations';
	}`)
	if !tabRun(tab, "anna's marker", chromedp.Evaluate[bool](`document.querySelector('#advisors tr[data-key="anna"] .console-away').hidden`)) {
		t.Error("anna's console is open, but the view marks it closed")
	}
	axe.check(tab, "supervisor view")
	tab.screenshot("supervisor-view")
	a11yViewports[0].set(tab)
	tab.screenshot("supervisor-view-narrow")
	a11yViewports[1].set(tab)

	// The second visitor is in danger now: first in the list and the queue.
	tab.do("raise the priority", chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('select[data-conversation="`+c2+`"]');
		s.focus();
		s.value = '2';
		s.dispatchEvent(new Event('change', { bubbles: true }));
	})()`))
	tab.waitFor("reordered", `(id) => document.querySelector('#waiting tr')?.dataset.key === id &&
		document.getElementById('action-status').textContent !== ''`, c2)
	v2.expect("v2 now first", isPosition(1))
	v1.expect("v1 now second", isPosition(2))

	// Reassign the first visitor to Anna, with a note.
	const note = "Father called before; please take this one."
	tab.do("open the dialog",
		chromedp.Click(chromedp.CSS(`#waiting button.reassign[data-conversation="`+c1+`"]`)),
		chromedp.WaitVisible(chromedp.ID("reassign-dialog")),
	)
	if got := evalString(tab, "targets", `[...document.getElementById('reassign-target').options].map((o) => o.value).join()`); !strings.Contains(got, "a:anna") || strings.Contains(got, "a:bert") {
		t.Errorf("reassign targets %q, want anna and not bert, whose console is closed", got)
	}
	axe.check(tab, "supervisor reassign dialog")
	tab.screenshot("supervisor-dialog")
	tab.do("reassign to anna",
		chromedp.SetValue(chromedp.ID("reassign-target"), "a:anna"),
		chromedp.SendKeys(chromedp.ID("reassign-note"), note),
		chromedp.Click(chromedp.ID("reassign-submit")),
		chromedp.WaitNotVisible(chromedp.ID("reassign-dialog")),
	)
	anna.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == c1 })
	if f := anna.expect("the note", isEntry(c1, "note")); f.str("text") != note || f.str("name") != "Sara" {
		t.Errorf("anna sees note %v, want Sara's note", f)
	}
	v1.expect("active with Anna", func(f frame) bool { return f.str("type") == "state" && f.str("advisor") == "Anna" })
	tab.waitFor("anna holds it", `(id) => document.querySelector('#waiting tr[data-key="' + id + '"]') === null &&
		document.querySelector('#advisors tr[data-key="anna"] button.reassign[data-conversation="' + id + '"]') !== null`, c1)

	// A refusal shows in the dialog: Anna goes off duty while it is open.
	tab.do("open the dialog for the next",
		chromedp.Click(chromedp.CSS(`#waiting button.reassign[data-conversation="`+c2+`"]`)),
		chromedp.WaitVisible(chromedp.ID("reassign-dialog")),
		chromedp.SetValue(chromedp.ID("reassign-target"), "a:anna"),
	)
	anna.send(protocol.Duty{Type: protocol.TypeDuty, On: new(false)})
	anna.expect("off duty", func(f frame) bool { return f.str("type") == "status" && f["duty"] == false })
	tab.waitFor("anna off duty", `() => document.querySelector('#advisors tr[data-key="anna"] .duty-state[data-duty="false"]') !== null`)
	tab.do("submit", chromedp.Click(chromedp.ID("reassign-submit")))
	tab.waitFor("refusal in the dialog", `() => document.getElementById('reassign-error').textContent === 'That advisor is no longer on duty.' &&
		document.getElementById('reassign-dialog').open`)
	tab.do("cancel", chromedp.Click(chromedp.ID("reassign-cancel")), chromedp.WaitNotVisible(chromedp.ID("reassign-dialog")))
	if got := tabRun(tab, "focus", chromedp.Evaluate[string](`document.activeElement?.dataset.conversation ?? ''`)); got != c2 {
		t.Errorf("after the dialog, focus is on %q, want the button that opened it (%s)", got, c2)
	}

	// Visitors' feedback, read on request: a visitor whose conversation
	// ended left a comment.
	v3, c3, token3 := startConversation(t, a, "public")
	v3.send(protocol.End{Type: protocol.TypeEnd})
	v3.expect("ended", isEntry(c3, "ended"))
	if status, code := postFeedback(t, a, feedbackBody(c3, token3, 4, "Dank u, dit hielp."), nil); status != 204 {
		t.Fatalf("feedback: %d %q", status, code)
	}
	tab.do("show feedback", chromedp.Click(chromedp.ID("feedback-load")))
	tab.waitFor("the comment", `() => [...document.querySelectorAll('#feedback .feedback-item')].some((li) => li.textContent.includes('4 / 5') && li.textContent.includes('Dank u, dit hielp.'))`)
	axe.check(tab, "supervisor feedback")

	// Arabic: the view mirrors.
	tab.do("arabic",
		chromedp.Navigate(a.URL+"/advisor/supervisor?lang=ar"),
		chromedp.WaitVisible(chromedp.CSS(`body.supervisor[data-connected="true"]`)),
	)
	tab.waitFor("rows", `() => document.querySelectorAll('#waiting tr').length > 0`)
	if dir := tabRun(tab, "direction", chromedp.Evaluate[string](`document.documentElement.dir + ' ' + getComputedStyle(document.body).direction`)); dir != "rtl rtl" {
		t.Errorf("Arabic view: dir and direction %q, want rtl rtl", dir)
	}
	axe.check(tab, "supervisor view ar")
	tab.screenshot("supervisor-ar")
	tab.assertNoPageErrors()
	t.Logf("supervisor browser test took %s", time.Since(start).Round(100*time.Millisecond))
}
