package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// phone is the small phone every check of the visitor's first screen and
// of what stays in view runs at.
var phone = a11yViewport{"narrow", 360, 740, true}

// visitorLangs are the six languages the visitor's page speaks.
var visitorLangs = []string{"nl", "en", "ar", "tr", "pl", "uk"}

// callLinks lists the tel:112 links a person can tap now: on screen, the
// topmost thing at their centre, and at least 24 px each way (WCAG 2.5.8),
// with their height and whether they sit in the conversation.
const callLinks = `(() => [...document.querySelectorAll('a[href="tel:112"]')].flatMap((a) => {
	const r = a.getBoundingClientRect();
	if (r.width < 24 || r.height < 24 || r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return [];
	const top = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
	if (!top || !a.contains(top)) return [];
	return [{ id: a.id, height: r.height, inChat: !!a.closest('#chat') }];
}))()`

type callLink struct {
	ID     string  `json:"id"`
	Height float64 `json:"height"`
	InChat bool    `json:"inChat"`
}

// assert112 checks that a tappable 112 is in view in the tab's state at a
// phone's size, and that it is small: one line high, outside the
// conversation, in a band that leaves the conversation most of the screen.
func assert112(tab *browserTab, state string) {
	tab.t.Helper()
	phone.set(tab)
	links := tabRun(tab, "112 links", chromedp.Evaluate[[]callLink](callLinks))
	compact := false
	for _, l := range links {
		if l.Height <= 48 && !l.InChat {
			compact = true
		}
	}
	if !compact {
		tab.t.Errorf("%s, %s: tappable 112 links in view %+v, want one at most 48 px high outside the conversation", tab.name, state, links)
	}
	if band := tabRun(tab, "top band", chromedp.Evaluate[float64](`document.querySelector('.topbar')?.getBoundingClientRect().height ?? innerHeight`)); band > 740/4 {
		tab.t.Errorf("%s, %s: the band with 112 and the quick exit is %.0f px high, want at most a quarter of the screen", tab.name, state, band)
	}
}

// underExit returns the text a person can see under the quick-exit
// button: each text node's boxes, cut to the viewport and to every
// ancestor that clips (what scrolls out of a scroller is not seen), that
// overlap the button. Text inside the button, visually hidden text and the
// select's options are not counted.
const underExit = `(() => {
	const exit = document.getElementById('quick-exit').getBoundingClientRect();
	const found = [];
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const p = n.parentElement;
		if (!p || !n.textContent.trim()) continue;
		if (p.closest('#quick-exit, .visually-hidden, select, script, template, dialog:not([open])')) continue;
		if (getComputedStyle(p).visibility === 'hidden') continue;
		let clip = { l: 0, t: 0, r: innerWidth, b: innerHeight };
		for (let a = p; a && a !== document.documentElement && a !== document.body; a = a.parentElement) {
			const s = getComputedStyle(a);
			if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
			const r = a.getBoundingClientRect();
			clip = { l: Math.max(clip.l, r.left), t: Math.max(clip.t, r.top), r: Math.min(clip.r, r.right), b: Math.min(clip.b, r.bottom) };
		}
		const range = document.createRange();
		range.selectNodeContents(n);
		for (const r of range.getClientRects()) {
			const l = Math.max(r.left, clip.l, exit.left), rr = Math.min(r.right, clip.r, exit.right);
			const t = Math.max(r.top, clip.t, exit.top), b = Math.min(r.bottom, clip.b, exit.bottom);
			if (rr - l > 0.5 && b - t > 0.5) {
				found.push(n.textContent.trim().slice(0, 40));
				break;
			}
		}
	}
	return found;
})()`

// assertNothingUnderExit scrolls what scrolls on the page from the top to
// the end in steps, and at every step checks that no text is under the
// quick exit; at the end the given entry kind is in view.
func assertNothingUnderExit(tab *browserTab, lastKind string) {
	tab.t.Helper()
	phone.set(tab)
	const scroller = `(document.getElementById('scroller') ?? document.scrollingElement)`
	height := tabRun(tab, "scroll height", chromedp.Evaluate[int](scroller+`.scrollHeight`))
	for y := 0; ; y += 150 {
		tab.do("scroll", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`%s.scrollTop = %d; undefined`, scroller, y)))
		if got := tabRun(tab, "text under the quick exit", chromedp.Evaluate[[]string](underExit)); len(got) > 0 {
			tab.t.Errorf("%s: scrolled to %d px, text under the quick-exit button: %q", tab.name, y, got)
			return
		}
		if y >= height {
			break
		}
	}
	tab.do("the last entry in view", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#messages li.msg')].at(-1).scrollIntoView({ block: 'end' }); undefined`))
	last := tabRun(tab, "last entry", chromedp.Evaluate[string](`[...document.querySelectorAll('#messages li.msg')].at(-1).dataset.kind`))
	if last != lastKind {
		tab.t.Errorf("%s: the conversation ends with a %q entry, want %q", tab.name, last, lastKind)
	}
	if got := tabRun(tab, "text under the quick exit", chromedp.Evaluate[[]string](underExit)); len(got) > 0 {
		tab.t.Errorf("%s: with the %s line in view, text under the quick-exit button: %q", tab.name, lastKind, got)
	}
}

// TestBrowserUXVisitor walks the visitor's page at a phone's size: a
// tappable 112 in every state (landing, waiting, chatting, ended), no text
// under the quick exit at the end of a long conversation in Dutch, English
// and Arabic, the save action below the conversation, the first screen in
// all six languages with a single language control, and the skip link as
// the first tab stop.
func TestBrowserUXVisitor(t *testing.T) {
	a := startApp(t, nil)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	b := startBrowser(t)
	b.deadline = time.Now().Add(3 * time.Minute)

	// Nobody on duty: the visitor waits.
	vis := openVisitor(b, a, "visitor-nl", "nl")
	assert112(vis, "landing")
	startChat(vis, "public")
	vis.waitFor("queue position", `() => /\d|volgende/.test(document.getElementById('position').textContent)`)
	assert112(vis, "waiting")

	adv, first := onDutyAssigned(t, a, "anna", "-name", "Anna", "-max", "3", "-languages", strings.Join(visitorLangs, ","))
	conv := first.str("id")
	vis.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	assert112(vis, "chatting")
	longChat(t, vis, adv, conv)

	// Saving is offered below the conversation, not above it.
	place := tabRun(vis, "save while chatting", chromedp.Evaluate[[]float64](`(() => {
		const save = document.getElementById('save-now');
		const list = document.getElementById('messages');
		return [save.getBoundingClientRect().width, list.compareDocumentPosition(save) & Node.DOCUMENT_POSITION_FOLLOWING ? 1 : 0];
	})()`))
	if place[0] == 0 || place[1] != 1 {
		t.Errorf("while chatting the save button (width %.0f) comes before the messages in the page (follows: %v), want it after them", place[0], place[1] == 1)
	}
	vis.do("scroll to the top", chromedp.Evaluate[chromedp.Void](`(document.getElementById('scroller') ?? document.scrollingElement).scrollTop = 0; undefined`))
	if above := tabRun(vis, "save above the messages", chromedp.Evaluate[bool](`document.getElementById('save-now').getBoundingClientRect().bottom <= document.getElementById('messages').getBoundingClientRect().top`)); above {
		t.Errorf("at the top of the chat the save button is above the messages")
	}

	adv.send(map[string]any{"type": "end", "conversation": conv})
	vis.do("ended", chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)))
	vis.waitFor("ended entry", `() => document.querySelector('#messages li.msg[data-kind="ended"]') !== null`)
	assert112(vis, "ended")
	assertNothingUnderExitChat(vis)
	vis.assertNoPageErrors()

	// English and Arabic, left to right and right to left.
	for _, lang := range []string{"en", "ar"} {
		tab := openVisitor(b, a, "visitor-"+lang, lang)
		startChatTo(tab, "public", "chatting")
		f := adv.expectType("assigned").obj("conversation")
		longChat(t, tab, adv, f.str("id"))
		adv.send(map[string]any{"type": "end", "conversation": f.str("id")})
		tab.do("ended", chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)))
		tab.waitFor("ended entry", `() => document.querySelector('#messages li.msg[data-kind="ended"]') !== null`)
		assertNothingUnderExitChat(tab)
		tab.assertNoPageErrors()
	}

	// The first screen of a phone, in every language, with an advisor on
	// duty: the heading, what the chat is, 112 and the danger choice, and
	// the start button; the language is one control.
	for _, lang := range visitorLangs {
		tab := openVisitor(b, a, "landing-"+lang, lang)
		phone.set(tab)
		fold := tabRun(tab, "first screen", chromedp.Evaluate[map[string]float64](`(() => {
			const out = { viewport: innerHeight, selects: document.querySelectorAll('form select[name="lang"]').length, links: document.querySelectorAll('a[hreflang]').length };
			for (const [k, sel] of Object.entries({ heading: '#landing-heading', lead: '#landing .lead', call: 'a[href="tel:112"]', danger: '#danger-start', start: '#start' })) {
				const r = document.querySelector(sel)?.getBoundingClientRect();
				out[k] = r && r.height > 0 ? r.bottom : -1;
			}
			return out;
		})()`))
		for _, k := range []string{"heading", "lead", "call", "danger", "start"} {
			if fold[k] <= 0 || fold[k] > fold["viewport"] {
				t.Errorf("%s at 360x740: %s ends at %.0f px, want it on the first screen (%.0f px); %v", lang, k, fold[k], fold["viewport"], fold)
			}
		}
		if fold["selects"] != 1 || fold["links"] != 0 {
			t.Errorf("%s: the language choice is %.0f selects and %.0f links, want one select", lang, fold["selects"], fold["links"])
		}
		saveScreenshot(tab, "visitor landing "+lang+" "+phone.name)
		tab.assertNoPageErrors()
	}

	// The skip link is the first tab stop, then the quick exit; the link
	// moves focus to the main content.
	keys := openVisitor(b, a, "keyboard", "nl")
	keys.do("Tab", chromedp.KeyEvent(kb.Tab))
	if got := evalString(keys, "first tab stop", `(() => { const e = document.activeElement; const r = e.getBoundingClientRect(); return e.className + ' ' + e.getAttribute('href') + ' ' + (r.top >= 0 && r.bottom <= innerHeight && r.width > 0) })()`); got != "skip-link #main true" {
		t.Errorf("first tab stop: %q, want the skip link to #main, in view", got)
	}
	keys.do("Tab", chromedp.KeyEvent(kb.Tab))
	if got := evalString(keys, "second tab stop", `document.activeElement.id`); got != "quick-exit" {
		t.Errorf("second tab stop: #%s, want the quick exit", got)
	}
	keys.do("back to the skip link and follow it", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
	keys.do("Enter", chromedp.KeyEvent(kb.Enter))
	keys.waitFor("focus on the main content", `() => document.activeElement === document.getElementById('main')`)
	keys.do("Tab", chromedp.KeyEvent(kb.Tab))
	if got := evalString(keys, "after the skip", `document.activeElement.closest('#main') ? 'main' : document.activeElement.outerHTML.slice(0, 80)`); got != "main" {
		t.Errorf("the tab stop after following the skip link is %s, want one in the main content", got)
	}
	keys.assertNoPageErrors()
}

// assertNothingUnderExitChat runs assertNothingUnderExit on an ended chat.
func assertNothingUnderExitChat(tab *browserTab) {
	tab.t.Helper()
	assertNothingUnderExit(tab, "ended")
}

// startChatTo starts a chat and waits for state.
func startChatTo(tab *browserTab, audience, state string) {
	tab.t.Helper()
	tab.do("start a chat",
		chromedp.Click(chromedp.ID("audience-"+audience)),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="`+state+`"]`)),
	)
}

// longChat fills a conversation with more than a phone's screen of
// messages from both sides, the last ones long enough to wrap.
func longChat(t *testing.T, tab *browserTab, adv *client, conv string) {
	t.Helper()
	for i := 1; i <= 12; i++ {
		adv.send(map[string]any{"type": "message", "conversation": conv, "id": fmt.Sprintf("ux%d", i),
			"text": fmt.Sprintf("Bericht %d. Hoe gaat het nu met u, en met de mensen om u heen? Vertel gerust meer.", i)})
	}
	tab.waitFor("twelve messages", `() => document.querySelectorAll('#messages li.msg[data-from="advisor"]').length === 12`)
	for i := 1; i <= 3; i++ {
		tab.do("write", chromedp.SendKeys(chromedp.ID("text"), fmt.Sprintf("Antwoord %d van de bezoeker, dat tot aan het einde van de regel loopt en verder", i)))
		pressEnter(tab)
		adv.expect("the visitor's message", func(f frame) bool { return f.str("type") == "entry" && f.str("from") == "visitor" })
	}
	tab.waitFor("own messages acked", `() => document.querySelectorAll('#messages li.msg.mine[data-seq]:not(.pending)').length === 3`)
}

// chooseLanguage picks lang in the page's language control and presses
// its button, as a visitor does.
func chooseLanguage(tab *browserTab, lang string) {
	tab.t.Helper()
	tab.do("choose "+lang,
		chromedp.SetValue(chromedp.ID("language-select"), lang),
		chromedp.Click(chromedp.ID("language-go")),
	)
}
