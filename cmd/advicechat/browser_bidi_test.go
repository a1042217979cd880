package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBidiIsolated: a visitor's message with a right-to-left
// override and no end to it cannot change how the rest of the console
// reads: every message is its own isolated run, and the next message and
// the line under the overriding one still run left to right. A message
// with a NUL is refused, and nothing of it is shown.
func TestBrowserBidiIsolated(t *testing.T) {
	a := startApp(t, nil)
	password := a.addAdvisor(t, "anna", "-name", "Anna", "-languages", "nl,en")
	b := startBrowser(t)
	adv := b.newTab("advisor")
	vis := b.newTab("visitor")
	adv.do("open the login page", chromedp.Navigate(a.URL+"/advisor"))
	logIn(adv, a, "anna", password)
	adv.do("go on duty", chromedp.Click(chromedp.ID("duty")), chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)))
	vis.do("start a chat",
		chromedp.Navigate(a.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
	)
	const override = "abc \u202edef ghi"
	vis.do("send an override", chromedp.Evaluate[chromedp.Void](`document.getElementById('text').value = 'abc \u202edef ghi'; undefined`), chromedp.Click(chromedp.ID("send")))
	vis.waitFor("override acked", `(text) => [...document.querySelectorAll('#messages li.msg.mine[data-seq]:not(.pending) .text')].some((p) => p.textContent === text)`, override)
	vis.do("send a plain one", chromedp.SendKeys(chromedp.ID("text"), "xyz\n"))
	adv.do("open the conversation",
		chromedp.Click(chromedp.CSS(`#conversations li > button[data-conversation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation][aria-current="true"]`)),
	)
	if got := adv.messageText("visitor", 2); got != "xyz" {
		t.Fatalf("second message %q, want xyz", got)
	}
	// Where each character of an element's text is drawn, left to right
	// or not.
	const ltr = `(el) => {
		const n = el.firstChild, xs = [];
		for (let i = 0; i < n.length; i++) {
			const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
			xs.push(r.getBoundingClientRect().left);
		}
		return xs.every((x, i) => i === 0 || x > xs[i - 1]);
	}`
	ok := tabRun(adv, "read the layout", chromedp.Evaluate[bool](`(() => {
		const ltr = `+ltr+`;
		const texts = [...document.querySelectorAll('#messages li.msg[data-from="visitor"] .text')];
		const meta = texts[0].closest('li').querySelector('.meta');
		return texts.every((p) => getComputedStyle(p).unicodeBidi === 'isolate') &&
			ltr(texts[1]) && (!meta || !meta.firstChild || meta.firstChild.nodeType !== 3 || ltr(meta));
	})()`))
	if !ok {
		t.Error("an override in one message changed how another part of the console reads, or a message is not an isolated run")
	}

	// A NUL is refused; the page marks the message not sent.
	vis.do("send a NUL", chromedp.Evaluate[chromedp.Void](`document.getElementById('text').value = 'a\u0000b'; undefined`), chromedp.Click(chromedp.ID("send")))
	vis.waitFor("NUL refused", `() => document.querySelector('#messages li.msg.mine.failed') !== null`)
	adv.assertNoPageErrors()
}
