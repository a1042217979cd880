package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/advicechat/advicechat/web/protocol"
)

// The canned responses of TestBrowserConsoleTools: two that "/wel" finds,
// one in Dutch and one in English, and one it does not.
const (
	cannedWelkom    = "Goedenavond, fijn dat u contact opneemt. Waar wilt u het over hebben?"
	cannedWelcome   = "Good evening, thank you for getting in touch. What would you like to talk about?"
	cannedEmergency = "If you are in danger right now, call 112."
)

// TestBrowserConsoleTools drives the console's writing aids in a real
// Chromium, with visitors that are plain WebSocket clients: the visitor's
// typing shows in the open conversation and marks another one in the
// list, and the visitor's message clears it; "/wel" in the message box
// lists the matching canned responses, the conversation's language first,
// the keyboard picks one and it is sent after the advisor's last look;
// Escape closes the list and leaves the text; white space alone is not
// sent; the characters left show below 500 and are said at thresholds
// only; ending with two outcome tags and blocking with one counts them.
// axe checks the console with the list open and with the end dialog and
// its tags, in English and in Arabic.
func TestBrowserConsoleTools(t *testing.T) {
	start := time.Now()
	canned := filepath.Join(t.TempDir(), "canned.txt")
	file := "# test answers\n[nl] Welkom\n" + cannedWelkom + "\n\n[en] Welcome\n" + cannedWelcome + "\n\n[en] Emergency\n" + cannedEmergency + "\n"
	if err := os.WriteFile(canned, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, map[string]string{
		"ADVICECHAT_CANNED": canned,
		// The default tags and one of the service's own, without a text in
		// the locales: it shows as written.
		"ADVICECHAT_OUTCOME_TAGS": "jihadist,right-wing,left-wing,conspiracy,other-ideology,advice-given,referral-made,school-contact",
	})
	pw := a.addAdvisor(t, "anna", "-name", "Anna", "-languages", "nl,en", "-max", "2")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	axe := newAxeChecker(t)
	b := startBrowser(t)
	anna := b.newTab("anna")

	anna.do("open the login page", chromedp.Navigate(a.URL+"/advisor?lang=en"))
	logIn(anna, a, "anna", pw)
	anna.do("go on duty",
		chromedp.Click(chromedp.ID("duty")),
		chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)),
	)

	// Two visitors, in English and in Dutch; Anna has both.
	v1 := a.visitor(t)
	v1.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "en"})
	conv1 := v1.expectType("started").str("conversation")
	v1.expect("joined", isEntry(conv1, "joined"))
	v2 := a.visitor(t)
	v2.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "nl"})
	conv2 := v2.expectType("started").str("conversation")
	v2.expect("joined", isEntry(conv2, "joined"))
	anna.do("open the English conversation",
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation="`+conv2+`"]`)),
		chromedp.Click(chromedp.CSS(`#conversations button[data-conversation="`+conv1+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation="`+conv1+`"][aria-current="true"]`)),
		chromedp.WaitVisible(chromedp.ID("canned-hint")),
	)

	// Typing: in the open conversation a line says so; another one is
	// marked in the list. The visitor's message clears the line at once.
	v1.send(protocol.Target{Type: protocol.TypeTyping})
	waitText(anna, "typing", "The visitor is typing…")
	v2.send(protocol.Target{Type: protocol.TypeTyping})
	anna.waitFor("the other conversation marked", `(id) =>
		document.querySelector('#conversations button[data-conversation="' + id + '"] .conv-typing')?.textContent === 'typing…'`, conv2)
	if n := tabRun(anna, "marks", chromedp.Evaluate[int](`document.querySelectorAll('#conversations .conv-typing').length`)); n != 1 {
		t.Errorf("%d conversations marked as typing, want only the one not open", n)
	}
	v1.send(protocol.Message{Type: protocol.TypeMessage, ID: "v1", Text: "Hello? My brother worries me."})
	anna.messageText("visitor", 1)
	if got := evalString(anna, "typing line", `document.getElementById('typing').textContent`); got != "" {
		t.Errorf("after the visitor's message the typing line says %q, want nothing", got)
	}

	// Canned responses: "/wel" lists the two welcomes, the conversation's
	// English first and the Dutch one marked as such.
	anna.do("search the canned responses", chromedp.SendKeys(chromedp.ID("text"), "/wel"))
	anna.waitFor("two matches, the English one active", `() => {
		const box = document.getElementById('text');
		const options = [...document.querySelectorAll('#canned-list [role="option"]')];
		return !box.hasAttribute('role') && box.getAttribute('aria-autocomplete') === 'list' && !document.getElementById('canned').hidden &&
			box.getAttribute('aria-controls') === 'canned-list' && options.length === 2 &&
			options[0].querySelector('.canned-title').textContent === 'Welcome' && !options[0].querySelector('.canned-lang') &&
			options[1].querySelector('.canned-title').textContent === 'Welkom' &&
			options[1].querySelector('.canned-lang')?.textContent === 'Dutch' &&
			box.getAttribute('aria-activedescendant') === options[0].id && options[0].getAttribute('aria-selected') === 'true';
	}`)
	anna.waitFor("the number of matches said", `() => document.getElementById('announcer').textContent === 'Matching answers: 2'`)
	// The advisor's typing reaches the visitor.
	v1.expect("typing from the advisor", func(f frame) bool { return f.str("type") == "typing" && f.str("from") == "advisor" })
	axe.check(anna, "console with canned responses")
	anna.do("choose the Dutch one with the keyboard", chromedp.SendKeys(chromedp.ID("text"), kb.ArrowDown))
	anna.waitFor("the Dutch one active", `() => {
		const options = document.querySelectorAll('#canned-list [role="option"]');
		return document.getElementById('text').getAttribute('aria-activedescendant') === options[1]?.id &&
			options[1].getAttribute('aria-selected') === 'true' && options[0].getAttribute('aria-selected') === 'false';
	}`)
	pressEnter(anna)
	if got := evalString(anna, "message box", `document.getElementById('text').value`); got != cannedWelkom {
		t.Errorf("after Enter on the list the message box holds %q, want the answer %q", got, cannedWelkom)
	}
	if open := evalString(anna, "list state", `document.getElementById('canned').hidden ? 'hidden' : 'shown'`); open != "hidden" {
		t.Errorf("after the choice the list is %q, want false hidden", open)
	}
	// The advisor may still change it; Enter sends it.
	anna.do("add to it", chromedp.SendKeys(chromedp.ID("text"), " Tot zo."))
	pressEnter(anna)
	v1.expect("the canned answer", isText(conv1, cannedWelkom+" Tot zo."))

	// Escape closes the list and keeps the text; the list stays closed for
	// that "/" while the advisor writes on.
	anna.do("open the whole list", chromedp.SendKeys(chromedp.ID("text"), "/"))
	anna.waitFor("three answers", `() => document.querySelectorAll('#canned-list [role="option"]').length === 3`)
	anna.do("Escape, then write on", chromedp.SendKeys(chromedp.ID("text"), kb.Escape+"e"))
	if got := evalString(anna, "after Escape", `document.getElementById('text').value + '|' + document.getElementById('canned').hidden`); got != "/e|true" {
		t.Errorf("after Escape and a key: value|expanded|hidden = %q, want /e|false|true", got)
	}

	// White space alone is not sent.
	anna.do("clear the box", chromedp.Evaluate[chromedp.Void](`(() => {
		const box = document.getElementById('text');
		box.value = '';
		box.dispatchEvent(new Event('input', { bubbles: true }));
	})()`))
	mine := `document.querySelectorAll('#messages li.msg.mine').length`
	before := tabRun(anna, "own messages", chromedp.Evaluate[int](mine))
	anna.do("white space", chromedp.SendKeys(chromedp.ID("text"), "   "))
	pressEnter(anna)
	if after := tabRun(anna, "own messages", chromedp.Evaluate[int](mine)); after != before {
		t.Errorf("sending white space added %d messages, want none", after-before)
	}

	// Characters left: shown below 500, said when crossing 500, not per key.
	anna.do("nearly fill the box", chromedp.Evaluate[chromedp.Void](`(() => {
		const box = document.getElementById('text');
		box.value = 'x'.repeat(3499);
		box.dispatchEvent(new Event('input', { bubbles: true }));
	})()`))
	if hidden := tabRun(anna, "counter", chromedp.Evaluate[bool](`document.getElementById('text-remaining').hidden`)); !hidden {
		t.Errorf("with 501 characters left the counter shows, want it hidden")
	}
	anna.do("two more", chromedp.SendKeys(chromedp.ID("text"), "ab"))
	waitText(anna, "text-remaining", "Characters left: 499")
	anna.waitFor("the crossing said", `() => document.getElementById('announcer').textContent === 'Characters left: 499'`)
	anna.do("one more", chromedp.SendKeys(chromedp.ID("text"), "c"))
	waitText(anna, "text-remaining", "Characters left: 498")
	if got := evalString(anna, "announcer", `document.getElementById('announcer').textContent`); got != "Characters left: 499" {
		t.Errorf("after one more key the live region says %q, want the 499 of the crossing still", got)
	}
	anna.do("clear the box", chromedp.Evaluate[chromedp.Void](`(() => {
		const box = document.getElementById('text');
		box.value = '';
		box.dispatchEvent(new Event('input', { bubbles: true }));
	})()`))

	// Ending with two outcome tags.
	anna.do("open the end dialog",
		chromedp.Click(chromedp.ID("end")),
		chromedp.WaitVisible(chromedp.ID("end-tags")),
	)
	labels := tabRun(anna, "tag labels", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#end-tag-list label')].map((l) => l.textContent)`))
	if want := "Jihadism|Right-wing extremism|Left-wing extremism|Conspiracy thinking|Other ideology|Advice given|Referred elsewhere|school-contact"; strings.Join(labels, "|") != want {
		t.Errorf("tag labels %q, want %q", strings.Join(labels, "|"), want)
	}
	axe.check(anna, "console end dialog with tags")
	anna.do("tag and end",
		chromedp.Click(chromedp.CSS(`#end-tag-list input[value="advice-given"]`)),
		chromedp.Click(chromedp.CSS(`#end-tag-list input[value="jihadist"]`)),
		chromedp.Click(chromedp.ID("end-confirm")),
		chromedp.WaitVisible(chromedp.ID("closed-controls")),
	)
	v1.expect("ended", isEntry(conv1, "ended"))
	metrics := readMetrics(t, a)
	for _, want := range []string{`advicechat_outcomes_total{tag="advice-given"} 1`, `advicechat_outcomes_total{tag="jihadist"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, `advicechat_outcomes_total{tag="referral-made"} 1`) {
		t.Errorf("metrics count referral-made, which was not chosen")
	}

	// A few seconds without a typing frame end the mark in the list.
	anna.waitFor("the typing mark gone", `() => document.querySelector('#conversations .conv-typing') === null`)

	// In Arabic: the Dutch conversation, its own language first; then
	// blocking its sender with a tag, in the same dialog.
	anna.do("console in Arabic",
		chromedp.Navigate(a.URL+"/advisor?lang=ar"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-connected="true"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation="`+conv2+`"]`)),
		chromedp.Click(chromedp.CSS(`#conversations button[data-conversation="`+conv2+`"]`)),
		chromedp.WaitVisible(chromedp.ID("canned-hint")),
		chromedp.SendKeys(chromedp.ID("text"), "/"),
	)
	anna.waitFor("the Dutch answer first", `() => {
		const options = [...document.querySelectorAll('#canned-list [role="option"]')];
		return document.documentElement.dir === 'rtl' && options.length === 3 &&
			options[0].querySelector('.canned-title').textContent === 'Welkom' && !options[0].querySelector('.canned-lang') &&
			options.slice(1).every((o) => o.querySelector('.canned-lang')?.textContent === 'الإنجليزية');
	}`)
	axe.check(anna, "console in Arabic with canned responses")
	anna.do("close the list and block",
		chromedp.SendKeys(chromedp.ID("text"), kb.Escape),
		chromedp.Click(chromedp.ID("block")),
		chromedp.WaitVisible(chromedp.ID("end-tags")),
	)
	if got := evalString(anna, "dialog heading", `document.getElementById('end-dialog-heading').textContent`); got != "هل تريد حظر هذا المرسل؟" {
		t.Errorf("the block dialog's heading is %q, want the Arabic block question", got)
	}
	axe.check(anna, "console in Arabic, block dialog with tags")
	anna.do("tag and block",
		chromedp.Click(chromedp.CSS(`#end-tag-list input[value="referral-made"]`)),
		chromedp.Click(chromedp.ID("end-confirm")),
		chromedp.WaitVisible(chromedp.ID("closed-controls")),
	)
	if f := v2.expect("ended", isEntry(conv2, "ended")); f.str("reason") != "blocked" {
		t.Errorf("ended with reason %q, want blocked", f.str("reason"))
	}
	if metrics := readMetrics(t, a); !strings.Contains(metrics, `advicechat_outcomes_total{tag="referral-made"} 1`) {
		t.Errorf("metrics lack the block's tag referral-made")
	}

	anna.assertNoPageErrors()
	t.Logf("console tool checks took %s", time.Since(start).Round(100*time.Millisecond))
}

// pressEnter presses Enter in the focused element as a keyboard does: one
// key down that carries the text, which the page can cancel. (SendKeys
// sends the character as an event of its own, which a cancelled key down
// does not stop, so a line break would follow every Enter the page uses.)
func pressEnter(tab *browserTab) {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	down := input.DispatchKeyEventParams{
		Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
		WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r",
	}
	up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
	for _, ev := range []input.DispatchKeyEventParams{down, up} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
			tab.t.Fatalf("%s: press Enter: %v", tab.name, err)
		}
	}
}
