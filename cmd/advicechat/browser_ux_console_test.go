package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

// desk is the desktop window the console's layout is checked in.
var desk = a11yViewport{"wide", 1280, 900, false}

// toggleState is what a toggle button says to assistive technology.
type toggleState struct {
	Name    string `json:"name"`
	Pressed string `json:"pressed"`
	Role    string `json:"role"`
}

const readToggle = `(id) => { const b = document.getElementById(id); return { name: b.textContent.trim(), pressed: b.getAttribute('aria-pressed') ?? '', role: b.getAttribute('role') ?? '' }; }`

func toggle(tab *browserTab, id string) toggleState {
	tab.t.Helper()
	return tabRun(tab, "read "+id, chromedp.Evaluate[toggleState](`(`+readToggle+`)(`+fmt.Sprintf("%q", id)+`)`))
}

// TestBrowserUXConsole drives the advisor's console: what the empty list
// of conversations says off duty, on duty, with an offer showing and
// with a conversation; the duty and sound toggles keep their names and
// say their state with aria-pressed; the internal note opens from a real
// button; the message box keeps the textbox role; and at 1280x900 an open
// conversation fills the window without the page scrolling, only its
// timeline does.
func TestBrowserUXConsole(t *testing.T) {
	// No message limit: the visitor writes a long conversation at once.
	a := startApp(t, map[string]string{"ADVICECHAT_OFFER_TIMEOUT": "30s", "ADVICECHAT_MESSAGE_BURST": "100"})
	pw := a.addAdvisor(t, "anna", "-name", "Anna", "-languages", "nl,en", "-max", "2")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	b := startBrowser(t)
	anna := b.newTab("anna")
	vis := b.newTab("visitor")
	desk.set(anna)

	anna.do("open the login page", chromedp.Navigate(a.URL+"/advisor?lang=en"))
	logIn(anna, a, "anna", pw)
	anna.do("duty can be pressed", chromedp.WaitEnabled(chromedp.ID("duty")))

	empty := func(want string) {
		t.Helper()
		anna.waitFor("the empty list says "+want, `(want) => { const p = document.getElementById('conversations-empty'); return !p.hidden && p.textContent === want; }`, want)
	}
	empty("No conversations yet. Go on duty to receive them.")
	off := toggle(anna, "duty")
	mute := toggle(anna, "mute")

	anna.do("go on duty", chromedp.Click(chromedp.ID("duty")), chromedp.WaitVisible(chromedp.CSS(`#duty[aria-pressed="true"]`)))
	empty("You are on duty. New conversations appear here as soon as one is given to you.")
	on := toggle(anna, "duty")
	if off.Name != "On duty" || on.Name != off.Name || off.Pressed != "false" || on.Pressed != "true" || on.Role != "" {
		t.Errorf("duty button off duty %+v, on duty %+v; want the fixed name %q with aria-pressed false, then true", off, on, "On duty")
	}
	anna.do("mute", chromedp.Click(chromedp.ID("mute")), chromedp.WaitVisible(chromedp.CSS(`#mute[aria-pressed="true"]`)))
	muted := toggle(anna, "mute")
	if mute.Pressed != "false" || muted.Pressed != "true" || muted.Name != mute.Name || mute.Name != "Mute sounds" {
		t.Errorf("sound button before %+v, after a press %+v; want the fixed name %q with aria-pressed false, then true", mute, muted, "Mute sounds")
	}
	anna.do("unmute", chromedp.Click(chromedp.ID("mute")), chromedp.WaitVisible(chromedp.CSS(`#mute[aria-pressed="false"]`)))

	// A visitor starts: the offer shows, and the list points at it.
	vis.do("start a chat",
		chromedp.Navigate(a.URL+"/?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
	)
	startChat(vis, "public")
	anna.do("offer card", chromedp.WaitVisible(chromedp.CSS(`#offers li.offer button[data-accept]`)))
	empty("A conversation is offered to you above. Accept it to start.")
	saveScreenshot(anna, "console with an offer and what the empty list says")

	anna.do("accept", chromedp.Click(chromedp.CSS(`#offers li.offer button[data-accept]`)))
	anna.waitFor("one conversation, and the empty line gone", `() => document.querySelectorAll('#conversations button[data-conversation]').length === 1 && document.getElementById('conversations-empty').hidden`)
	vis.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))

	// The internal note opens from a button that says whether it is open.
	note := tabRun(anna, "note toggle", chromedp.Evaluate[[]string](`(() => { const b = document.getElementById('note-toggle'); return [b?.tagName ?? '', b?.getAttribute('aria-expanded') ?? '', String(document.getElementById('note-form').hidden), String(document.querySelectorAll('#conversation details').length)]; })()`))
	if strings.Join(note, " ") != "BUTTON false true 0" {
		t.Errorf("note toggle: tag, aria-expanded, form hidden, details in the pane = %q, want a BUTTON, false, the form hidden and no details", note)
	}
	anna.do("open the note", chromedp.Click(chromedp.ID("note-toggle")), chromedp.WaitVisible(chromedp.ID("note-text")))
	if got := evalString(anna, "note open", `document.getElementById('note-toggle').getAttribute('aria-expanded') + ' ' + document.activeElement.id`); got != "true note-text" {
		t.Errorf("after a press the note toggle says aria-expanded and focus %q, want true and the note box", got)
	}
	anna.do("close the note", chromedp.Click(chromedp.ID("note-toggle")))
	anna.waitFor("note closed", `() => document.getElementById('note-form').hidden && document.getElementById('note-toggle').getAttribute('aria-expanded') === 'false'`)
	// No ARIA role on a textarea that a textarea may not have.
	if n := tabRun(anna, "roles on textareas", chromedp.Evaluate[int](`document.querySelectorAll('textarea[role]').length`)); n != 0 {
		t.Errorf("%d textareas carry a role, want none (axe aria-allowed-role)", n)
	}

	// A long conversation: the page stays, the timeline scrolls.
	for i := 1; i <= 30; i++ {
		vis.do("write", chromedp.SendKeys(chromedp.ID("text"), fmt.Sprintf("Bericht %d van de bezoeker.", i)))
		pressEnter(vis)
	}
	anna.waitFor("thirty messages", `() => document.querySelectorAll('#messages li.msg[data-from="visitor"]').length === 30`)
	desk.set(anna)
	layout := tabRun(anna, "console layout", chromedp.Evaluate[map[string]float64](`(() => {
		const doc = document.scrollingElement;
		const list = document.getElementById('messages');
		const s = getComputedStyle(list);
		const send = document.getElementById('send').getBoundingClientRect();
		const header = document.querySelector('.console-header').getBoundingClientRect();
		return {
			pageHeight: doc.scrollHeight, viewport: innerHeight,
			listScrolls: (s.overflowY === 'auto' || s.overflowY === 'scroll') && list.scrollHeight > list.clientHeight ? 1 : 0,
			sendBottom: send.bottom, headerTop: header.top,
			paneBottom: document.getElementById('conversation').getBoundingClientRect().bottom,
		};
	})()`))
	if layout["pageHeight"] > layout["viewport"] {
		t.Errorf("at 1280x900 with a conversation open the page is %.0f px high in a %.0f px window, want it not to scroll", layout["pageHeight"], layout["viewport"])
	}
	if layout["listScrolls"] != 1 {
		t.Errorf("the timeline does not scroll with 30 messages: %v", layout)
	}
	if layout["sendBottom"] > layout["viewport"] || layout["headerTop"] < 0 || layout["paneBottom"] > layout["viewport"] {
		t.Errorf("the header, the pane or the send button is out of the window: %v", layout)
	}
	if vp := layout["viewport"] - layout["paneBottom"]; vp > 48 {
		t.Errorf("the conversation pane ends %.0f px above the window's bottom, want it to fill the window", vp)
	}
	saveScreenshot(anna, "console with a long conversation wide")
	anna.assertNoPageErrors()
	vis.assertNoPageErrors()
}

// TestBrowserUXDemoLogin: in the embedded demo mode the only account, the
// demo advisor, has no second factor, and the login form asks for none;
// the demo advisor logs in with the password the start printed. With an
// accounts file (every other test) the code field is there.
func TestBrowserUXDemoLogin(t *testing.T) {
	b := startBrowser(t)
	// The embedded mode: no Redis URL and an empty accounts file.
	env := map[string]string{
		"ADVICECHAT_ADDR":     "127.0.0.1:0",
		"ADVICECHAT_ACCOUNTS": t.TempDir() + "/accounts.json",
		"ADVICECHAT_EXIT_URL": "https://exit.example/",
	}
	a := startWithEnv(t, &redistest.Redis{}, env)
	// The start prints the demo password on the lines after the address.
	var m []string
	for end := time.Now().Add(10 * time.Second); m == nil; time.Sleep(10 * time.Millisecond) {
		m = regexp.MustCompile(`username demo, password (\S+)`).FindStringSubmatch(a.logs.String())
		if m == nil && time.Now().After(end) {
			t.Fatalf("no demo password in the start's output:\n%s", a.logs.String())
		}
	}
	tab := b.newTab("demo")
	tab.do("open the login page", chromedp.Navigate(a.URL+"/advisor?lang=nl"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if n := tabRun(tab, "code field", chromedp.Evaluate[int](`document.querySelectorAll('#code, input[name="code"]').length`)); n != 0 {
		t.Errorf("the demo mode's login form has %d code fields, want none", n)
	}
	saveScreenshot(tab, "advisor login demo mode narrow")
	tab.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), "demo"),
		chromedp.SendKeys(chromedp.ID("password"), m[1]),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-connected="true"]`)),
	)
	tab.assertNoPageErrors()

	// With accounts in a file the form asks for the code.
	withFile := startApp(t, nil)
	resp, err := http.Get(withFile.URL + "/advisor?lang=nl")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `id="code"`) {
		t.Errorf("with an accounts file the login form has no code field")
	}
}
