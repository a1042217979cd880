package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// exitPage stands in for the neutral site the quick exit leads to.
const exitPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Weather</title></head>` +
	`<body id="weather"><h1>Weather</h1><p>Light rain this afternoon.</p></body></html>`

// TestBrowserVisitorAndAdvisor drives the visitor page and the advisor
// console in a real Chromium against the whole service: the advisor logs in
// and goes on duty, a visitor starts a chat and both sides write, markup in a
// message stays text, and the quick exit leaves no trace of the chat in the
// tab.
func TestBrowserVisitorAndAdvisor(t *testing.T) {
	exit := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, exitPage)
	}))
	t.Cleanup(exit.Close)
	exitURL := exit.URL + "/"

	a := startApp(t, map[string]string{"ADVICECHAT_EXIT_URL": exitURL})
	// The browser's page is English: Anna speaks it.
	password := a.addAdvisor(t, "anna", "-name", "Anna", "-languages", "nl,en")

	b := startBrowser(t)
	adv := b.newTab("advisor")
	vis := b.newTab("visitor")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})

	// The advisor logs in and goes on duty.
	adv.do("open the login page", chromedp.Navigate(a.URL+"/advisor"))
	logIn(adv, a, "anna", password)
	adv.do("go on duty",
		chromedp.Click(chromedp.ID("duty")),
		chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)),
	)

	// The visitor starts a chat; with an advisor on duty it is taken at once.
	vis.do("start a chat",
		chromedp.Navigate(a.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
	)
	// Visitors see the display name, never the account name.
	vis.waitFor("advisor named Anna", `() => document.getElementById('advisor').textContent.includes('Anna')`)

	// Visitor to advisor, sent with Enter.
	const question = "Mijn zoon praat over rare dingen"
	vis.do("send a message with Enter", chromedp.SendKeys(chromedp.ID("text"), question+"\n"))
	vis.waitFor("own message acked", `(text) => [...document.querySelectorAll('#messages li.msg.mine[data-seq]:not(.pending) .text')].some((p) => p.textContent === text)`, question)

	// A new assignment is shown at once when nothing else is open; the
	// click is what an advisor does and marks it read.
	adv.do("open the conversation",
		chromedp.Click(chromedp.CSS(`#conversations li > button[data-conversation]`)),
		chromedp.WaitVisible(chromedp.CSS(`#conversations button[data-conversation][aria-current="true"]`)),
	)
	if got := adv.messageText("visitor", 1); got != question {
		t.Errorf("advisor sees visitor message %q, want %q", got, question)
	}

	// Advisor to visitor, with markup that must stay text.
	const markup = `<img src=x onerror="window.__pwned=1"><b>bold</b>`
	adv.do("reply with markup",
		chromedp.SendKeys(chromedp.ID("text"), markup),
		chromedp.Click(chromedp.ID("send")),
	)
	if got := vis.messageText("advisor", 1); got != markup {
		t.Errorf("visitor sees advisor message %q, want %q as text", got, markup)
	}
	vis.assertNoMarkup()

	// And the other way round.
	vis.do("send markup", chromedp.SendKeys(chromedp.ID("text"), markup), chromedp.Click(chromedp.ID("send")))
	if got := adv.messageText("visitor", 2); got != markup {
		t.Errorf("advisor sees visitor message %q, want %q as text", got, markup)
	}
	adv.assertNoMarkup()
	vis.screenshot("visitor-chat")

	// Quick exit.
	token := tabRun(vis, "read token", chromedp.Evaluate[string](`sessionStorage.getItem('advicechat.token') ?? ''`))
	if token == "" {
		t.Fatalf("sessionStorage advicechat.token is empty during the chat, want the resume token")
	}
	historyBefore := tabRun(vis, "history length", chromedp.Evaluate[int](`history.length`))
	vis.do("quick exit",
		chromedp.Click(chromedp.ID("quick-exit")),
		chromedp.WaitVisible(chromedp.ID("weather")),
	)
	if got := tabRun(vis, "title", chromedp.Title()); got != "Weather" {
		t.Errorf("after quick exit title = %q, want %q", got, "Weather")
	}
	if got := tabRun(vis, "location", chromedp.Location()); got != exitURL {
		t.Errorf("after quick exit location = %q, want %q", got, exitURL)
	}
	// location.replace swaps the chat's history entry for the exit page, so
	// Back cannot bring the chat up again. Checking the tab's whole history
	// holds however Chromium counts the tab's first about:blank (it may or
	// may not be an entry of its own), where pressing Back and looking where
	// it lands would depend on that.
	if got := tabRun(vis, "history length", chromedp.Evaluate[int](`history.length`)); got != historyBefore {
		t.Errorf("history.length after quick exit = %d, want %d (the exit must replace the chat entry, not add one)", got, historyBefore)
	}
	hist := tabRun(vis, "navigation history", chromedp.NavigationEntries())
	for i, e := range hist.Entries {
		if strings.HasPrefix(e.URL, a.URL) {
			t.Errorf("after quick exit history entry %d is %q: Back leads to the chat", i, e.URL)
		}
	}
	// sessionStorage belongs to the tab and the origin, so coming back to
	// the app in the same tab shows whether the exit cleared it (the control
	// below shows that it would survive otherwise). The page's module script
	// has run by the load event Navigate waits for; read the keys in one
	// evaluation, as a page that found a token goes on changing them while
	// it resumes.
	vis.do("back to the app", chromedp.Navigate(a.URL+"/"))
	if keys := tabRun(vis, "sessionStorage keys", chromedp.Evaluate[[]string](`Object.keys(sessionStorage)`)); len(keys) != 0 {
		t.Errorf("sessionStorage after quick exit holds %q, want nothing", keys)
	}
	if got := tabRun(vis, "state", chromedp.Evaluate[string](`document.body.dataset.state`)); got != "landing" {
		t.Errorf("back on the app after quick exit the page is in state %q, want landing", got)
	}

	// The quick exit ended the conversation on the server too.
	adv.waitFor("conversation ended", `() => document.querySelector('#messages li.msg[data-kind="ended"]') !== null`)
	adv.screenshot("advisor-console")

	// Control: without a clear, sessionStorage survives the same round trip
	// through the exit site in one tab (the app sends COOP same-origin, so
	// the tab switches browsing context groups on the way).
	ctl := b.newTab("control")
	ctl.do("round trip",
		chromedp.Navigate(a.URL+"/"),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('advicechat.probe', '1')`),
		chromedp.Navigate(exitURL),
		chromedp.Navigate(a.URL+"/"),
	)
	if got := tabRun(ctl, "probe", chromedp.Evaluate[string](`sessionStorage.getItem('advicechat.probe') ?? ''`)); got != "1" {
		t.Errorf("control: sessionStorage probe after a round trip = %q, want %q; the quick-exit check proves nothing", got, "1")
	}

	for _, tab := range []*browserTab{adv, vis, ctl} {
		tab.assertNoPageErrors()
	}
}

// logIn fills in and sends the login form on the advisor page the tab
// shows, and waits for the console to connect.
func logIn(tab *browserTab, a *app, username, password string) {
	tab.t.Helper()
	tab.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("code"), a.totpCode(tab.t, username)),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-connected="true"]`)),
	)
}

// messageText waits until the shown transcript has n messages from a side
// and returns the text of the nth. Waiting for a count rather than for the
// text turns a message that arrives mangled into a clear failure instead of
// a timeout.
func (tab *browserTab) messageText(from string, n int) string {
	tab.t.Helper()
	const list = `(from) => document.querySelectorAll('#messages li.msg[data-kind="message"][data-from="' + from + '"] .text')`
	tab.waitFor(fmt.Sprintf("message %d from %s", n, from), fmt.Sprintf(`(from, n) => (%s)(from).length >= n`, list), from, n)
	return tabRun(tab, "read message", chromedp.Evaluate[string](fmt.Sprintf(`(%s)(%q)[%d].textContent`, list, from, n-1)))
}

// assertNoMarkup checks that message text was not parsed as HTML. The CSP
// would stop the onerror handler anyway, so the elements are what shows a
// page that renders text as HTML.
func (tab *browserTab) assertNoMarkup() {
	tab.t.Helper()
	if n := tabRun(tab, "count markup", chromedp.Evaluate[int](`document.querySelectorAll('#messages img, #messages b').length`)); n != 0 {
		tab.t.Errorf("%s: %d img or b elements in the transcript, want message text shown as text", tab.name, n)
	}
	if got := tabRun(tab, "window.__pwned", chromedp.Evaluate[string](`typeof window.__pwned`)); got != "undefined" {
		tab.t.Errorf("%s: typeof window.__pwned = %q, want undefined", tab.name, got)
	}
}
