package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestBrowserConsole drives what the advisor console does with offers,
// the queue view, internal notes and transfers, in a real Chromium against
// the whole service with offers on: Anna chooses a capacity, goes on duty,
// gets an offer card and accepts it; a visitor in danger is flagged in the
// queue view; Bert (his console in Arabic) takes a waiting conversation
// nobody else could have by hand from the queue view, and has the link to
// the supervisor view, which Anna has not;
// Anna writes an internal note, tries a transfer that is refused, then
// transfers her conversation to Bert with a note; Bert sees both notes,
// and the visitor's page never shows either; with no canned responses
// configured, "/" in Bert's message box is just a character. axe checks
// the console with an offer card, with the transfer dialog open and a note
// in the transcript, and in Arabic.
func TestBrowserConsole(t *testing.T) {
	start := time.Now()
	a := startApp(t, map[string]string{
		"ADVICECHAT_OFFER_TIMEOUT": "20s",
		// No fallback language: a visitor in Turkish waits for someone
		// who speaks it, and nobody here does.
		"ADVICECHAT_FALLBACK_AFTER": "0",
	})
	annaPW := a.addAdvisor(t, "anna", "-name", "Anna", "-languages", "nl,en", "-max", "2")
	bertPW := a.addAdvisor(t, "bert", "-name", "Bert", "-languages", "nl,en", "-max", "3", "-role", "supervisor")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	axe := newAxeChecker(t)
	b := startBrowser(t)
	anna := b.newTab("anna")
	bert := b.newTab("bert")
	vis1 := b.newTab("visitor-en")
	vis2 := b.newTab("visitor-tr")

	// Anna takes one conversation at a time today.
	anna.do("open the login page", chromedp.Navigate(a.URL+"/advisor?lang=en"))
	logIn(anna, a, "anna", annaPW)
	anna.do("choose a capacity and go on duty",
		// The choice is there once the server has said what the account allows.
		chromedp.WaitReady(chromedp.CSS(`#capacity option[value="2"]`)),
		chromedp.SetValue(chromedp.ID("capacity"), "1"),
		chromedp.Click(chromedp.ID("duty")),
		chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)),
	)
	anna.waitFor("load 0 / 1", `() => document.getElementById('load').textContent === '0 / 1'`)

	// A visitor starts: the conversation is offered to Anna, who has 20
	// seconds to accept it.
	vis1.do("start a chat",
		chromedp.Navigate(a.URL+"/?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
	anna.do("offer card", chromedp.WaitVisible(chromedp.CSS(`#offers li.offer button[data-accept]`)))
	anna.waitFor("countdown, title and load", `() =>
		/accept within 0:\d\d/.test(document.querySelector('#offers .offer-countdown').textContent) &&
		document.title.startsWith('(1) ') &&
		document.getElementById('load').textContent.includes('(+1)')`)
	axe.check(anna, "console with an offer")
	anna.screenshot("console-offer")
	anna.do("accept the offer",
		chromedp.Click(chromedp.CSS(`#offers li.offer button[data-accept]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation][aria-current="true"]`)),
		chromedp.WaitNotVisible(chromedp.ID("offers-section")),
	)
	vis1.waitFor("advisor named Anna", `() => document.getElementById('advisor').textContent.includes('Anna')`)
	conv1 := tabRun(anna, "conversation id", chromedp.Evaluate[string](`document.querySelector('#conversations button[aria-current="true"]').dataset.conversation`))

	// A visitor in Turkish waits: nobody on duty speaks it.
	vis2.do("start a chat in Turkish",
		chromedp.Navigate(a.URL+"/?lang=tr"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
	// So does one in danger, who goes first.
	urgent := a.visitor(t)
	urgent.send(protocol.Start{Type: protocol.TypeStart, Audience: "professional", Lang: "tr", Urgent: true})
	urgentConv := urgent.expectType("started").str("conversation")
	// Anna is full: she sees both waiting, the one in danger flagged and
	// first, and can take neither.
	anna.waitFor("waiting visitors, no room", `(id) => {
		const items = [...document.querySelectorAll('#waiting li.waiting-item')];
		return items.length === 2 && items[0].querySelector('button[data-pick]').dataset.pick === id &&
			items[0].matches('.urgent') && items[0].querySelector('.priority.urgent').textContent === 'In danger now' &&
			items.every((li) => li.querySelector('button[data-pick]').disabled) &&
			!document.getElementById('waiting-hint').hidden;
	}`, urgentConv)

	// Bert, in Arabic, takes it by hand from the queue view.
	bert.do("open the login page", chromedp.Navigate(a.URL+"/advisor?lang=ar"))
	logIn(bert, a, "bert", bertPW)
	bert.do("console in Arabic", chromedp.Navigate(a.URL+"/advisor?lang=ar"), chromedp.WaitVisible(chromedp.CSS(`body[data-connected="true"]`)))
	if dir := tabRun(bert, "dir", chromedp.Evaluate[string](`document.documentElement.dir`)); dir != "rtl" {
		t.Errorf("Bert's console has dir %q, want rtl", dir)
	}
	// Bert is a supervisor, Anna is not: only he has the link.
	bert.do("supervisor link", chromedp.WaitVisible(chromedp.CSS(`a#supervisor-link[href="/advisor/supervisor"]`)))
	if hidden := tabRun(anna, "supervisor link", chromedp.Evaluate[bool](`document.getElementById('supervisor-link').hidden`)); !hidden {
		t.Errorf("Anna, no supervisor, sees the supervisor link")
	}
	bert.do("go on duty and take the waiting visitor",
		chromedp.Click(chromedp.ID("duty")),
		chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)),
		chromedp.WaitEnabled(chromedp.CSS(`#waiting button[data-pick]:not([data-pick="`+urgentConv+`"])`)),
		chromedp.Click(chromedp.CSS(`#waiting button[data-pick]:not([data-pick="`+urgentConv+`"])`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation][aria-current="true"]`)),
	)
	vis2.waitFor("advisor named Bert", `() => document.getElementById('advisor').textContent.includes('Bert')`)

	// Anna writes an internal note.
	const note = "Internal: the son is 15, mentions a Telegram group"
	anna.do("write a note",
		chromedp.Click(chromedp.ID("note-toggle")),
		chromedp.SendKeys(chromedp.ID("note-text"), note+"\n"),
	)
	anna.waitFor("note stored", `(text) => [...document.querySelectorAll('#messages li.msg.note[data-seq]:not(.pending)')]
		.some((li) => li.querySelector('.text').textContent === text && li.querySelector('.note-label').textContent !== '')`, note)

	// The transfer dialog: a refused transfer shows its reason there.
	anna.do("open the transfer dialog",
		chromedp.Click(chromedp.ID("transfer")),
		chromedp.WaitVisible(chromedp.ID("transfer-dialog")),
		chromedp.WaitEnabled(chromedp.CSS(`#transfer-advisors input[value="advisor:bert"]`)),
	)
	axe.check(anna, "console with the transfer dialog and a note")
	anna.screenshot("console-transfer")
	anna.do("transfer to someone off duty",
		// No colleague off duty is listed, so the test adds one.
		chromedp.Evaluate[chromedp.Void](`(() => {
			const input = document.createElement('input');
			Object.assign(input, { type: 'radio', name: 'target', value: 'advisor:nobody', id: 'target-test', checked: true });
			document.getElementById('transfer-form').prepend(input);
		})()`),
		chromedp.Click(chromedp.ID("transfer-confirm")),
		chromedp.WaitVisible(chromedp.ID("transfer-error")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('target-test').remove()`),
	)
	if got := tabRun(anna, "transfer error", chromedp.Text(chromedp.ID("transfer-error"))); !strings.Contains(got, "no longer on duty") {
		t.Errorf("transfer to an advisor off duty shows %q, want the advisor_off_duty text", got)
	}
	const handover = "Handover: worried father, first advice given"
	anna.do("transfer to Bert with a note",
		chromedp.Click(chromedp.CSS(`#transfer-advisors input[value="advisor:bert"]`)),
		chromedp.SendKeys(chromedp.ID("transfer-note"), handover),
		chromedp.Click(chromedp.ID("transfer-confirm")),
		chromedp.WaitNotVisible(chromedp.ID("transfer-dialog")),
		chromedp.WaitVisible(chromedp.ID("closed-controls")),
	)
	anna.waitFor("shown as transferred", `(id) => document.querySelector('#conversations button[data-conversation="' + id + '"].closed .conv-state').textContent === 'Transferred'`, conv1)

	// Bert has it, with both notes and a line saying it came to him.
	bert.do("open the transferred conversation",
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation="`+conv1+`"]`)),
		chromedp.Click(chromedp.CSS(`#conversations button[data-conversation="`+conv1+`"]`)),
	)
	bert.waitFor("both notes and the transfer", `(a, b) => {
		const notes = [...document.querySelectorAll('#messages li.msg.note .text')].map((p) => p.textContent);
		return notes.includes(a) && notes.includes(b) && document.querySelector('#messages li.msg[data-kind="transferred"]') !== null;
	}`, note, handover)
	if got := tabRun(bert, "note author", chromedp.Evaluate[string](`document.querySelector('#messages li.msg.note .who').textContent`)); got != "Anna" {
		t.Errorf("Bert sees the note written by %q, want Anna", got)
	}
	axe.check(bert, "console in Arabic with notes")
	bert.screenshot("console-notes-ar")

	// The visitor has Bert now and has everything up to his first message,
	// but never the notes.
	const reply = "Hello, I am Bert. I have read what you said."
	bert.do("reply", chromedp.SendKeys(chromedp.ID("text"), reply+"\n"))
	if got := vis1.messageText("advisor", 1); got != reply {
		t.Errorf("visitor sees %q, want Bert's reply %q", got, reply)
	}
	vis1.waitFor("advisor named Bert", `() => document.getElementById('advisor').textContent.includes('Bert')`)
	// No canned responses are configured: "/" is just a character.
	bert.do("type a slash", chromedp.SendKeys(chromedp.ID("text"), "1 / 2"))
	if got := evalString(bert, "message box", `[document.getElementById('text').getAttribute('role'), document.getElementById('canned').hidden, document.getElementById('canned-hint').hidden, document.getElementById('text').value.trim()].join('|')`); got != "|true|true|1 / 2" {
		t.Errorf("without canned responses, after typing a slash: role|list hidden|hint hidden|value = %q, want |true|true|1 / 2", got)
	}
	page := tabRun(vis1, "visitor page", chromedp.Evaluate[string](`document.documentElement.outerHTML + document.documentElement.innerText`))
	for _, secret := range []string{note, handover, "Internal: the son", "Handover:"} {
		if strings.Contains(page, secret) {
			t.Errorf("the visitor's page shows %q", secret)
		}
	}

	for _, tab := range []*browserTab{anna, bert, vis1, vis2} {
		tab.assertNoPageErrors()
	}
	t.Logf("console checks took %s", time.Since(start).Round(100*time.Millisecond))
}
