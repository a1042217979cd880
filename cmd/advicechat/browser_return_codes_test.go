package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/web"
)

// codePattern is a return code as the page shows it: four groups of four
// of Crockford's base 32.
var codePattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)

// localeTexts are the pages' texts per language, as the service renders
// them.
func localeTexts(t *testing.T) map[string]map[string]string {
	t.Helper()
	texts, err := web.Messages(map[string]any{"RetentionMinutes": 10, "KeepDays": 30, "QuestionDays": 14})
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// codeShown waits for the return code dialog and returns the code it shows.
func codeShown(tab *browserTab) string {
	tab.t.Helper()
	tab.waitFor("the return code", `() => document.getElementById('code-dialog').open && document.getElementById('code-value').textContent.length > 0`)
	code := evalString(tab, "read the code", `document.getElementById('code-value').textContent`)
	if !codePattern.MatchString(code) {
		tab.t.Fatalf("%s: the page shows the return code %q, want four groups of four (7KQ2-M9XD-4TPV-HX3R)", tab.name, code)
	}
	if !tabRun(tab, "copy button", chromedp.Evaluate[bool](`!document.getElementById('code-copy').hidden && !document.getElementById('code-print').hidden`)) {
		tab.t.Errorf("%s: the code is shown without its copy and print buttons", tab.name)
	}
	return code
}

// storedTrace is what a tab keeps where the page could write: local and
// session storage and cookies.
type storedTrace struct {
	Local   int               `json:"local"`
	Session map[string]string `json:"session"`
	Cookie  string            `json:"cookie"`
}

// assertCodeNotStored checks that the page put code in no storage of the
// tab: localStorage is empty, and no sessionStorage value or cookie holds
// the code, with or without its dashes.
func assertCodeNotStored(tab *browserTab, code string) {
	tab.t.Helper()
	got := tabRun(tab, "storage", chromedp.Evaluate[storedTrace](`({local: window.localStorage.length, session: Object.fromEntries(Object.entries(sessionStorage)), cookie: document.cookie})`))
	if got.Local != 0 {
		tab.t.Errorf("%s: localStorage holds %d items, want none", tab.name, got.Local)
	}
	bare := strings.ReplaceAll(code, "-", "")
	for k, v := range got.Session {
		for _, s := range []string{k, v} {
			if u := strings.ToUpper(s); strings.Contains(u, code) || strings.Contains(u, bare) {
				tab.t.Errorf("%s: sessionStorage %q = %q holds the return code", tab.name, k, v)
			}
		}
	}
	if strings.Contains(strings.ToUpper(got.Cookie), bare) || strings.Contains(strings.ToUpper(got.Cookie), code) {
		tab.t.Errorf("%s: a cookie holds the return code: %q", tab.name, got.Cookie)
	}
}

// assertCodeNotInPage checks that no group of code is left anywhere in the
// document.
func assertCodeNotInPage(tab *browserTab, code string) {
	tab.t.Helper()
	html := strings.ToUpper(evalString(tab, "document", `document.documentElement.outerHTML`))
	for g := range strings.SplitSeq(code, "-") {
		if strings.Contains(html, g) {
			tab.t.Errorf("%s: the page still holds %q of the return code %s", tab.name, g, code)
		}
	}
}

// closeCode puts the shown code away.
func closeCode(tab *browserTab) {
	tab.t.Helper()
	tab.do("close the code", chromedp.Click(chromedp.ID("code-close")))
	tab.waitFor("the code put away", `() => !document.getElementById('code-dialog').open && document.getElementById('code-value').textContent === ''`)
}

// assertPrintsCodeOnly checks the print stylesheet: printed, the page shows
// the code and how to use it, and nothing else of the page.
func assertPrintsCodeOnly(tab *browserTab) {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		tab.t.Fatalf("%s: emulate print: %v", tab.name, err)
	}
	shown := tabRun(tab, "what prints", chromedp.Evaluate[map[string]bool](`(() => {
		const shows = (el) => !!el && el.getClientRects().length > 0;
		return {
			code: shows(document.getElementById('code-value')),
			howto: shows(document.querySelector('#code-dialog .code-howto')),
			page: shows(document.getElementById('main')) || shows(document.querySelector('.topbar')),
			buttons: shows(document.getElementById('code-copy')) || shows(document.getElementById('code-close')),
		};
	})()`))
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		tab.t.Fatalf("%s: end print emulation: %v", tab.name, err)
	}
	if !shown["code"] || !shown["howto"] || shown["page"] || shown["buttons"] {
		tab.t.Errorf("%s: printed, the page shows %v; want the code and how to use it only", tab.name, shown)
	}
}

// returnWith types code into "I have a return code" on the landing page
// and sends it.
func returnWith(tab *browserTab, code string) {
	tab.t.Helper()
	tab.do("open the return form", chromedp.WaitVisible(chromedp.ID("return-open")))
	if evalString(tab, "form state", `document.getElementById('return-open').getAttribute('aria-expanded')`) != "true" {
		tab.do("expand", chromedp.Click(chromedp.ID("return-open")), chromedp.WaitVisible(chromedp.ID("return-code")))
	}
	tab.do("type the code",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('return-code').value = ''`),
		chromedp.SendKeys(chromedp.ID("return-code"), code),
		chromedp.Click(chromedp.ID("return-submit")),
	)
}

// refusedCodes checks that a wrong and a malformed code get the one message.
func refusedCodes(tab *browserTab, texts map[string]string) {
	tab.t.Helper()
	for _, code := range []string{"7KQ2-M9XD-4TPV-HX3R", "not a code"} {
		returnWith(tab, code)
		waitText(tab, "return-error", texts["visitor.return.unknown"])
		if got := evalString(tab, "state", `document.body.dataset.state`); got != "landing" {
			tab.t.Errorf("%s: after the wrong code %q the page is in state %q, want landing", tab.name, code, got)
		}
	}
}

// threadShows waits until the returned view shows parts conversations and
// every one of texts among their messages.
func threadShows(tab *browserTab, parts int, texts ...string) {
	tab.t.Helper()
	tab.do("the returned thread", chromedp.WaitVisible(chromedp.CSS(`body[data-state="returned"]`)))
	tab.waitFor("the earlier parts", `(n) => document.querySelectorAll('#thread .part').length === n`, parts)
	for _, text := range texts {
		tab.waitFor("earlier message "+text, `(text) => [...document.querySelectorAll('#thread li.msg[data-kind="message"] .text')].some((p) => p.textContent === text)`, text)
	}
	// Read-only: nothing to write in, nothing to send.
	if n := tabRun(tab, "inputs in the thread", chromedp.Evaluate[int](`document.querySelectorAll('#thread textarea, #thread input, #thread button').length`)); n != 0 {
		tab.t.Errorf("%s: the earlier thread has %d controls, want it read-only", tab.name, n)
	}
}

// chatAndEnd starts a chat in tab, which the advisor on duty takes at once,
// sends text and waits for its ack.
func chatAndSend(tab *browserTab, audience, text string) {
	tab.t.Helper()
	tab.do("start a chat",
		chromedp.Click(chromedp.ID("audience-"+audience)),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
		chromedp.SendKeys(chromedp.ID("text"), text+"\n"),
	)
	tab.waitFor("message acked", `() => document.querySelector('#messages li.msg.mine[data-seq]:not(.pending)') !== null`)
}

func endChat(tab *browserTab) {
	tab.t.Helper()
	tab.do("end the chat",
		chromedp.Click(chromedp.ID("end")),
		chromedp.WaitVisible(chromedp.ID("end-confirm")),
		chromedp.Click(chromedp.ID("end-confirm")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)),
	)
}

// closeEnded waits for the advisor's console to show the open
// conversation ended and closes it.
func closeEnded(adv *browserTab) {
	adv.t.Helper()
	adv.do("close the ended conversation", chromedp.WaitVisible(chromedp.ID("closed-controls")), chromedp.Click(chromedp.ID("close")))
	adv.waitFor("conversation closed", `() => !document.querySelector('#conversations button.closed')`)
}

// TestBrowserReturnCodes drives return codes through the visitor's page
// and the advisor's console in Chromium: in Dutch, a visitor keeps the
// conversation while chatting (the code once, grouped, with copy and print,
// in no storage), ends it, comes back in another tab with the code (a
// wrong or malformed one first gets the one message), reads it, and starts
// a new conversation about it, which the advisor sees as a returning
// visitor with the earlier conversation; then forgets it all. In English
// and Arabic a visitor keeps a conversation on the "after the chat" screen,
// reads it back and forgets it. Ten wrong codes from one client, and the
// page asks politely to wait. axe checks every new state at a phone's and a
// desktop's width.
func TestBrowserReturnCodes(t *testing.T) {
	start := time.Now()
	exit := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, exitPage)
	}))
	t.Cleanup(exit.Close)
	// Each visitor's tab comes through a proxy the service trusts, from an
	// address of its own: code attempts are limited per client.
	a := startApp(t, map[string]string{"ADVICECHAT_EXIT_URL": exit.URL + "/", "ADVICECHAT_TRUSTED_PROXIES": "127.0.0.1"})
	password := a.addAdvisor(t, "sanne", "-name", "Sanne", "-languages", "nl,en,ar", "-max", "5")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	texts := localeTexts(t)
	axe := newAxeChecker(t)
	b := startBrowser(t)
	b.deadline = time.Now().Add(4 * time.Minute)

	adv := b.newTab("advisor")
	adv.do("open the login page", chromedp.Navigate(a.URL+"/advisor"), chromedp.WaitVisible(chromedp.ID("login-form")))
	logIn(adv, a, "sanne", password)
	adv.do("go on duty", chromedp.Click(chromedp.ID("duty")), chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)))

	// Dutch: keep while chatting.
	nl := texts["nl"]
	vis := openVisitorAs(b, a, "visitor-nl", "nl", "203.0.113.1")
	grantClipboard(vis, a.URL)
	chatAndSend(vis, "public", "Ik maak me zorgen om mijn zoon.")
	adv.messageText("visitor", 1)
	adv.do("reply", chromedp.SendKeys(chromedp.ID("text"), "Goed dat u schrijft."), chromedp.Click(chromedp.ID("send")))
	vis.messageText("advisor", 1)
	axe.check(vis, "visitor chatting with keep nl")
	vis.do("keep", chromedp.Click(chromedp.ID("keep-now")))
	code := codeShown(vis)
	assertCodeNotStored(vis, code)
	assertPrintsCodeOnly(vis)
	vis.do("copy", chromedp.Click(chromedp.ID("code-copy")))
	vis.waitFor("copy said", `(ok, failed) => [ok, failed].includes(document.getElementById('code-status').textContent)`, nl["visitor.code.copied"], nl["visitor.code.copy_failed"])
	if evalString(vis, "copy status", `document.getElementById('code-status').textContent`) == nl["visitor.code.copied"] {
		if got := tabRun(vis, "clipboard", chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); got != code {
			t.Errorf("the clipboard holds %q after copy, want the code %q", got, code)
		}
	}
	axe.check(vis, "visitor return code shown nl")
	// Another language while the code is on screen would be a new page
	// without it: the page stays, keeps the code and says what to do.
	chooseLanguage(vis, "en")
	waitText(vis, "code-status", nl["visitor.code.first"])
	if got := evalString(vis, "the code after a language change", `document.documentElement.lang + ' ' + document.getElementById('code-value').textContent + ' ' + document.activeElement.id`); got != "nl "+code+" code-heading" {
		t.Errorf("after choosing English with the code shown: page lang, code, focus = %q, want %q", got, "nl "+code+" code-heading")
	}
	vis.do("back to Dutch in the control", chromedp.SetValue(chromedp.ID("language-select"), "nl"))
	closeCode(vis)
	assertCodeNotInPage(vis, code)
	waitText(vis, "keep-now-done", nl["visitor.keep.kept"])
	assertCodeNotStored(vis, code)
	endChat(vis)
	if !tabRun(vis, "keep on the ended screen", chromedp.Evaluate[bool](`document.getElementById('keep-ended').hidden`)) {
		t.Errorf("the ended screen offers to keep a conversation kept already")
	}
	waitText(vis, "keep-done", nl["visitor.keep.kept"])
	closeEnded(adv)
	waitSealed(t, a, code, 1)

	// Back in another tab: a wrong and a malformed code first, then the
	// right one, typed in lower case without dashes.
	back := openVisitorAs(b, a, "visitor-nl-back", "nl", "203.0.113.2")
	refusedCodes(back, nl)
	axe.check(back, "visitor return wrong code nl")
	returnWith(back, strings.ToLower(strings.ReplaceAll(code, "-", "")))
	threadShows(back, 1, "Ik maak me zorgen om mijn zoon.", "Goed dat u schrijft.")
	if got := evalString(back, "code field", `document.getElementById('return-code').value`); got != "" {
		t.Errorf("the return form still holds %q once the thread is shown", got)
	}
	assertCodeNotStored(back, code)
	axe.check(back, "visitor returned nl")

	// A new conversation about it: the advisor sees a returning visitor
	// and the earlier conversation.
	back.do("start about this", chromedp.Click(chromedp.ID("return-start")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	assertCodeNotInPage(back, code)
	waitText(back, "keep-now-done", nl["visitor.keep.linked"])
	adv.do("the returning visitor", chromedp.WaitVisible(chromedp.CSS(`#conversations button .conv-returning`)))
	adv.do("open it", chromedp.Click(chromedp.CSS(`#conversations button[data-conversation]`)))
	adv.do("earlier shown", chromedp.WaitVisible(chromedp.CSS(`#conversation details.earlier`)))
	if got := evalString(adv, "info", `document.querySelector('#conversation-info .conv-returning')?.textContent ?? ''`); got != nl["advisor.earlier.returning"] && got != texts["en"]["advisor.earlier.returning"] {
		t.Errorf("the conversation's details say %q, want %q", got, nl["advisor.earlier.returning"])
	}
	adv.do("unfold the earlier conversation", chromedp.Click(chromedp.CSS(`#conversation details.earlier summary`)))
	adv.waitFor("earlier text", `(text) => [...document.querySelectorAll('#conversation details.earlier li.msg .text')].some((p) => p.textContent === text)`, "Ik maak me zorgen om mijn zoon.")
	axe.check(adv, "advisor console with a returning visitor")
	back.do("send again", chromedp.SendKeys(chromedp.ID("text"), "Het gaat weer over mijn zoon.\n"))
	adv.messageText("visitor", 1)
	endChat(back)
	closeEnded(adv)
	waitSealed(t, a, code, 2)

	// Forget it all: a confirmation first, then nothing is left.
	back.do("new", chromedp.Click(chromedp.ID("new")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
	returnWith(back, code)
	threadShows(back, 2, "Ik maak me zorgen om mijn zoon.", "Het gaat weer over mijn zoon.")
	back.do("forget", chromedp.Click(chromedp.ID("forget-open")), chromedp.WaitVisible(chromedp.ID("forget-confirm")))
	axe.check(back, "visitor forget dialog nl")
	back.do("confirm", chromedp.Click(chromedp.ID("forget-confirm")), chromedp.WaitVisible(chromedp.ID("forgotten")))
	if n := tabRun(back, "thread", chromedp.Evaluate[int](`document.querySelectorAll('#thread .part').length`)); n != 0 {
		t.Errorf("after forget the page still shows %d earlier conversations", n)
	}
	axe.check(back, "visitor forgotten nl")
	if status, f := postJSON(t, a, "/return", codeBody(code)); status != http.StatusNotFound || f.str("error") != "unknown_code" {
		t.Errorf("POST /return after forget = %d %v, want 404 unknown_code", status, f)
	}
	back.do("close", chromedp.Click(chromedp.ID("returned-close")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
	returnWith(back, code)
	waitText(back, "return-error", nl["visitor.return.unknown"])

	// English and Arabic: keep on the "after the chat" screen, read it back.
	for _, c := range []struct{ lang, audience, text, addr string }{
		{"en", "professional", "I have a question about a pupil.", "203.0.113.3"},
		{"ar", "public", "لدي سؤال عن ابني.", "203.0.113.4"},
	} {
		tx := texts[c.lang]
		v := openVisitorAs(b, a, "visitor-"+c.lang, c.lang, c.addr)
		chatAndSend(v, c.audience, c.text)
		adv.messageText("visitor", 1)
		endChat(v)
		v.do("keep after the chat", chromedp.WaitVisible(chromedp.ID("keep")), chromedp.Click(chromedp.ID("keep")))
		code := codeShown(v)
		assertCodeNotStored(v, code)
		axe.check(v, "visitor return code after the chat "+c.lang)
		closeCode(v)
		waitText(v, "keep-done", tx["visitor.keep.kept"])
		assertCodeNotInPage(v, code)
		closeEnded(adv)
		waitSealed(t, a, code, 1)
		v.do("new", chromedp.Click(chromedp.ID("new")), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
		refusedCodes(v, tx)
		axe.check(v, "visitor return wrong code "+c.lang)
		returnWith(v, code)
		threadShows(v, 1, c.text)
		if c.lang == "ar" {
			assertDirection(v, "ar", "rtl")
		}
		axe.check(v, "visitor returned "+c.lang)
		v.do("forget", chromedp.Click(chromedp.ID("forget-open")), chromedp.WaitVisible(chromedp.ID("forget-confirm")))
		axe.check(v, "visitor forget dialog "+c.lang)
		v.do("confirm", chromedp.Click(chromedp.ID("forget-confirm")), chromedp.WaitVisible(chromedp.ID("forgotten")))
		waitText(v, "forgotten", tx["visitor.return.forgotten"])
		axe.check(v, "visitor forgotten "+c.lang)
		if status, f := postJSON(t, a, "/return", codeBody(code)); status != http.StatusNotFound {
			t.Errorf("%s: POST /return after forget = %d %v, want 404", c.lang, status, f)
		}
		v.assertNoPageErrors()
	}

	// Guessing codes: ten tries, then the page asks politely to wait.
	guess := openVisitorAs(b, a, "guesser", "en", "203.0.113.5")
	for i := range 10 {
		returnWith(guess, fmt.Sprintf("AAAA-BBBB-CCCC-%04d", i))
		waitText(guess, "return-error", texts["en"]["visitor.return.unknown"])
	}
	returnWith(guess, code)
	waitText(guess, "return-error", texts["en"]["visitor.return.rate_limited"])

	for _, tab := range []*browserTab{adv, vis, back, guess} {
		tab.assertNoPageErrors()
	}
	t.Logf("return code checks took %s", time.Since(start).Round(100*time.Millisecond))
}

// openVisitorAs opens the visitor page in lang in a new tab whose
// requests come through the trusted proxy from addr.
func openVisitorAs(b *browser, a *app, name, lang, addr string) *browserTab {
	b.t.Helper()
	tab := b.newTab(name)
	ctx, cancel := context.WithDeadline(tab.ctx, b.deadline)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		b.t.Fatalf("%s: network: %v", name, err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Forwarded-For": addr}}); err != nil {
		b.t.Fatalf("%s: headers: %v", name, err)
	}
	tab.do("open the page",
		chromedp.Navigate(a.URL+"/?lang="+lang),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
	)
	return tab
}

// grantClipboard lets the page write to the clipboard, and the test read
// it, as a visitor's browser allows a page they use.
func grantClipboard(tab *browserTab, origin string) {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission:       &cdpbrowser.PermissionDescriptor{Name: name},
			Setting:          cdpbrowser.PermissionSettingGranted,
			Origin:           origin,
			BrowserContextID: chromedp.FromContext(tab.ctx).BrowserContextID,
		}); err != nil {
			tab.t.Logf("%s: grant %s: %v", tab.name, name, err)
		}
	}
}
