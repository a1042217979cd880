package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/web/protocol"
)

// TestBrowserVisitorRouting drives the visitor page's routing features in
// a real Chromium, one service per case with the settings it needs: a
// visitor in danger sees 112 and goes first, the wait estimate, the busy
// refusal, the long-wait alternatives and a transfer. Advisors and other
// visitors are Go WebSocket clients, and the cases share one browser,
// which keeps the test short. axe checks the new states at a phone's and
// a desktop's width, once in Arabic.
func TestBrowserVisitorRouting(t *testing.T) {
	start := time.Now()
	b := startBrowser(t)
	// A limit for a broken page or server, not a speed goal.
	b.deadline = time.Now().Add(3 * time.Minute)
	axe := newAxeChecker(t)
	for _, c := range []struct {
		name string
		run  func(*testing.T, *browser, *axeChecker)
	}{
		{"danger", visitorDanger},
		{"danger while closed", visitorDangerClosed},
		{"wait estimate", visitorWaitEstimate},
		{"busy", visitorBusy},
		{"long wait", visitorLongWait},
		{"transfer", visitorTransfer},
	} {
		caseStart := time.Now()
		c.run(t, b, axe)
		t.Logf("%s took %s", c.name, time.Since(caseStart).Round(100*time.Millisecond))
	}
	t.Logf("visitor routing checks took %s", time.Since(start).Round(100*time.Millisecond))
}

// alwaysOpen writes an hours file that is open all day every day and
// lists the other ways to get help.
func alwaysOpen(t *testing.T) string {
	t.Helper()
	weekly := map[string]any{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		weekly[d] = [][]string{{"00:00", "24:00"}}
	}
	return writeHours(t, map[string]any{"weekly": weekly, "alternatives": alternatives})
}

// openVisitor opens the visitor page in lang in a new tab.
func openVisitor(b *browser, a *app, name, lang string) *browserTab {
	b.t.Helper()
	tab := b.newTab(name)
	tab.do("open the page",
		chromedp.Navigate(a.URL+"/?lang="+lang),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)),
	)
	return tab
}

// startChat chooses an audience and starts a chat the ordinary way.
func startChat(tab *browserTab, audience string) {
	tab.t.Helper()
	tab.do("start a chat",
		chromedp.Click(chromedp.ID("audience-"+audience)),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
}

// waitText waits until the element with id shows exactly text.
func waitText(tab *browserTab, id, text string) {
	tab.t.Helper()
	tab.waitFor(id+" says "+text, `(id, text) => document.getElementById(id)?.textContent.trim() === text`, id, text)
}

// evalString evaluates a JavaScript expression in the tab.
func evalString(tab *browserTab, what, expr string) string {
	tab.t.Helper()
	return tabRun(tab, what, chromedp.Evaluate[string](expr))
}

// onDutyAssigned puts a new advisor on duty while conversations wait,
// and returns the advisor's socket and the first conversation assigned.
// The assignment may come before the status that says on duty, so it
// waits for both in any order.
func onDutyAssigned(t *testing.T, a *app, username string, flags ...string) (*client, frame) {
	t.Helper()
	adv := a.advisor(t, a.login(t, username, a.addAdvisor(t, username, flags...)), nil)
	adv.expect("status off duty", func(f frame) bool { return f.str("type") == "status" && f["duty"] == false })
	adv.send(protocol.Duty{Type: protocol.TypeDuty, On: new(true)})
	got := expectEach(adv, "on duty and assigned",
		func(f frame) bool { return f.str("type") == "status" && f["duty"] == true },
		isType("assigned"))
	return adv, got[1].obj("conversation")
}

// startCaseApp starts the service for one case; a failed test shows its
// log under the case's name.
func startCaseApp(t *testing.T, name string, env map[string]string) *app {
	t.Helper()
	a := startApp(t, env)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log of the %s case:\n%s", name, a.logs.String())
		}
	})
	return a
}

// visitorDanger: "I am in danger right now" shows a call link
// to 112 and starts an urgent chat at once; the visitor goes before the
// two who were waiting, the first advisor on duty gets them, and 112 stays
// in view while they chat. The same in Arabic, mirrored.
func visitorDanger(t *testing.T, b *browser, axe *axeChecker) {
	a := startCaseApp(t, "danger", nil)

	v1, _, _ := startConversation(t, a, "public")
	v1.expect("position 1", func(f frame) bool { return f.str("type") == "state" && f.num("position") == 1 })
	v2, _, _ := startConversation(t, a, "public")
	v2.expect("position 2", func(f frame) bool { return f.str("type") == "state" && f.num("position") == 2 })

	vis := openVisitor(b, a, "visitor-nl", "nl")
	vis.do("say I am in danger",
		chromedp.Click(chromedp.ID("danger-start")),
		chromedp.WaitVisible(chromedp.ID("danger-call")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
	if href := evalString(vis, "112 link", `document.getElementById('danger-call').getAttribute('href')`); href != "tel:112" {
		t.Errorf("danger call link href = %q, want tel:112", href)
	}
	if got := evalString(vis, "112 text", `document.getElementById('danger-call').textContent`); got != "Bel nu 112" {
		t.Errorf("danger call link says %q, want %q", got, "Bel nu 112")
	}
	if got := evalString(vis, "focus", `document.activeElement.id`); got != "danger-call" {
		t.Errorf("focus after the danger choice is on #%s, want the 112 link", got)
	}
	vis.do("not an emergency service", chromedp.WaitVisible(chromedp.ID("danger-text")))
	// Before everyone who waits, with nobody on duty to estimate from.
	waitText(vis, "position", "U bent de volgende in de wachtrij.")
	waitText(vis, "estimate", "Wachttijd: op dit moment geen schatting.")
	v1.expect("v1 moved to position 2", func(f frame) bool { return f.str("type") == "state" && f.num("position") == 2 })
	axe.check(vis, "visitor danger waiting nl")

	vis.waitFor("started", `() => !!sessionStorage.getItem('advicechat.conversation')`)
	conv := evalString(vis, "conversation", `sessionStorage.getItem('advicechat.conversation')`)
	_, got := onDutyAssigned(t, a, "anna", "-name", "Anna", "-max", "1")
	if got.str("id") != conv || got.num("priority") != 2 {
		t.Errorf("first assignment %v, want the visitor in danger, %s, with priority 2", got, conv)
	}
	vis.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	vis.waitFor("advisor named Anna", `() => document.getElementById('advisor').textContent.includes('Anna')`)
	// 112 stays in view; the promise that an advisor will come goes.
	vis.do("112 stays in view", chromedp.WaitVisible(chromedp.ID("danger-call")), chromedp.WaitVisible(chromedp.ID("danger-note")))
	if evalString(vis, "promise", `String(document.getElementById('danger-text').hidden)`) != "true" {
		t.Errorf("while chatting the danger panel still says an advisor will come")
	}

	// Arabic: the page mirrors, and says which languages answer.
	ar := openVisitor(b, a, "visitor-ar", "ar")
	ar.do("language note", chromedp.WaitVisible(chromedp.CSS(`#landing .language-note`)))
	ar.do("say I am in danger",
		chromedp.Click(chromedp.ID("danger-start")),
		chromedp.WaitVisible(chromedp.ID("danger-call")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
	ar.waitFor("position shown", `() => /\d|التالي/.test(document.getElementById('position').textContent)`)
	assertDirection(ar, "ar", "rtl")
	axe.check(ar, "visitor danger waiting ar")

	for _, tab := range []*browserTab{vis, ar} {
		tab.assertNoPageErrors()
	}
}

// visitorDangerClosed: outside opening hours "I am in danger right now"
// still shows 112, says the chat is closed, and starts nothing.
func visitorDangerClosed(t *testing.T, b *browser, axe *axeChecker) {
	a := startCaseApp(t, "danger while closed", map[string]string{"ADVICECHAT_HOURS": writeHours(t, map[string]any{"weekly": map[string]any{}})})
	vis := openVisitor(b, a, "visitor-closed", "en")
	vis.do("say I am in danger",
		chromedp.Click(chromedp.ID("danger-start")),
		chromedp.WaitVisible(chromedp.ID("danger-call")),
		chromedp.WaitVisible(chromedp.ID("danger-closed")),
	)
	got := evalString(vis, "page", `[document.body.dataset.state, document.getElementById('danger-text').hidden, document.activeElement.id, Object.keys(sessionStorage).length].join(' ')`)
	if want := "landing true danger-call 0"; got != want {
		t.Errorf("after the danger choice while closed the page is %q (state, promise hidden, focus, stored keys), want %q", got, want)
	}
	vis.assertNoPageErrors()
}

// visitorWaitEstimate: while nobody is on duty the waiting page
// says there is no estimate; once an advisor is on duty (and full) it
// gives the place in the queue and "about N minutes", in the plural form
// of the page's language.
func visitorWaitEstimate(t *testing.T, b *browser, axe *axeChecker) {
	a := startCaseApp(t, "wait estimate", map[string]string{"ADVICECHAT_DEFAULT_HANDLING": "1m"})

	v0, c0, _ := startConversation(t, a, "public")
	v0.expect("waiting", isState("waiting"))
	en := openVisitor(b, a, "visitor-en", "en")
	startChat(en, "public")
	waitText(en, "position", "You are number 2 in the queue.")
	waitText(en, "estimate", "Waiting time: no estimate right now.")
	en.do("language note", chromedp.WaitVisible(chromedp.CSS(`#waiting .language-note`)))
	pl := openVisitor(b, a, "visitor-pl", "pl")
	startChat(pl, "public")
	waitText(pl, "position", "Twoje miejsce w kolejce: 3.")

	// Anna takes the first visitor and is full: one handling time (1m)
	// per place in the queue.
	if _, got := onDutyAssigned(t, a, "anna", "-name", "Anna", "-max", "1", "-languages", "nl,en"); got.str("id") != c0 {
		t.Fatalf("anna was assigned %s, want the first visitor %s", got, c0)
	}
	waitText(en, "position", "You are next in the queue.")
	waitText(en, "estimate", "Waiting time: about 1 minute (an estimate).")
	waitText(pl, "position", "Twoje miejsce w kolejce: 2.")
	waitText(pl, "estimate", "Czas oczekiwania: około 2 minut (szacunkowo).")
	axe.check(en, "visitor waiting with an estimate en")

	for _, tab := range []*browserTab{en, pl} {
		tab.assertNoPageErrors()
	}
}

// visitorBusy: with the only advisor full and a wait longer
// than ADVICECHAT_BUSY_WAIT, a start is refused: the page says it is very
// busy, gives the expected wait, the other ways to get help and a button
// to try again. A visitor in danger is never refused.
func visitorBusy(t *testing.T, b *browser, axe *axeChecker) {
	a := startCaseApp(t, "busy", map[string]string{
		"ADVICECHAT_BUSY_WAIT":        "1m",
		"ADVICECHAT_DEFAULT_HANDLING": "30m",
		"ADVICECHAT_HOURS":            alwaysOpen(t),
	})

	// With a free place the wait is short whatever the handling time: the
	// first visitor is not refused, goes to Anna, and Anna is full.
	adv, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "1")
	v0, _, _ := startConversation(t, a, "public")
	v0.expect("active", isState("active"))
	adv.expect("assigned", isType("assigned"))

	vis := openVisitor(b, a, "visitor-en", "en")
	vis.do("start a chat",
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="busy"]`)),
		chromedp.WaitVisible(chromedp.ID("busy-retry")),
		chromedp.WaitVisible(chromedp.CSS(`#busy a[href="tel:08001234"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#busy a[href="mailto:advies@example.org"]`)),
	)
	waitText(vis, "busy-heading", "It is very busy right now")
	waitText(vis, "busy-wait", "Waiting time: about 30 minutes (an estimate).")
	if got := evalString(vis, "focus", `document.activeElement.id`); got != "busy-heading" {
		t.Errorf("focus on the busy page is on #%s, want its heading", got)
	}
	if keys := tabRun(vis, "sessionStorage", chromedp.Evaluate[[]string](`Object.keys(sessionStorage)`)); len(keys) != 0 {
		t.Errorf("sessionStorage after a refused start holds %q, want nothing", keys)
	}
	axe.check(vis, "visitor busy en")

	// Trying again is refused again, and says so: the page leaves the
	// busy state and comes back to it.
	vis.do("try again", chromedp.Click(chromedp.ID("busy-retry")))
	vis.waitFor("busy again", `() => document.body.dataset.state === 'busy' && document.activeElement.id === 'busy-heading'`)

	// In danger: never busy.
	vis.do("say I am in danger",
		chromedp.Click(chromedp.ID("busy-danger-start")),
		chromedp.WaitVisible(chromedp.ID("danger-call")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
	waitText(vis, "position", "You are next in the queue.")
	waitText(vis, "estimate", "Waiting time: about 30 minutes (an estimate).")
	if got := evalString(vis, "state", `document.body.dataset.state`); got != "waiting" {
		t.Errorf("a visitor in danger is in state %q, want waiting", got)
	}
	vis.assertNoPageErrors()
}

// visitorLongWait: after ADVICECHAT_MAX_WAIT the waiting page
// offers the other ways to get help, and the visitor keeps waiting until
// an advisor comes.
func visitorLongWait(t *testing.T, b *browser, axe *axeChecker) {
	a := startCaseApp(t, "long wait", map[string]string{"ADVICECHAT_MAX_WAIT": "1s", "ADVICECHAT_HOURS": alwaysOpen(t)})

	vis := openVisitor(b, a, "visitor-en", "en")
	startChat(vis, "public")
	vis.do("long-wait alternatives",
		chromedp.WaitVisible(chromedp.CSS(`#long-wait .long-wait`)),
		chromedp.WaitVisible(chromedp.CSS(`#long-wait a[href="tel:08001234"]`)),
	)
	if got := evalString(vis, "long-wait text", `document.querySelector('#long-wait .long-wait p').textContent`); !strings.HasPrefix(got, "You have been waiting a long time") {
		t.Errorf("long-wait panel says %q", got)
	}
	// A panel, not a line in the conversation: the chat stays out of view.
	if got := evalString(vis, "state", `document.body.dataset.state + ' ' + document.getElementById('chat').hidden`); got != "waiting true" {
		t.Errorf("after the long wait the page is %q (state, chat hidden), want %q", got, "waiting true")
	}
	axe.check(vis, "visitor long wait en")

	onDutyAdvisor(t, a, "anna", "-name", "Anna", "-languages", "nl,en")
	vis.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	if n := tabRun(vis, "panel", chromedp.Evaluate[int](`document.getElementById('long-wait').childElementCount`)); n != 0 {
		t.Errorf("the long-wait panel stays after an advisor joined")
	}
	vis.assertNoPageErrors()
}

// visitorTransfer: a transfer to a colleague names the new
// advisor, never the note that came with it; one to a queue says the
// conversation waits for another advisor.
func visitorTransfer(t *testing.T, b *browser, axe *axeChecker) {
	a := startCaseApp(t, "transfer", nil)

	anna, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "1")
	vis := openVisitor(b, a, "visitor-nl", "nl")
	vis.do("start a chat",
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
	)
	conv := anna.expect("assigned", isType("assigned")).obj("conversation").str("id")
	bert, _ := onDutyAdvisor(t, a, "bert", "-name", "Bert", "-max", "1")

	const note = "Internal: worried parent, first advice given."
	anna.send(protocol.Transfer{Type: protocol.TypeTransfer, Conversation: conv, ToAdvisor: "bert", Note: note})
	vis.waitFor("transferred to Bert", `() => [...document.querySelectorAll('#messages li[data-kind="transferred"]')].some((li) => li.textContent === 'Uw gesprek is overgedragen aan Bert.')`)
	vis.waitFor("advisor named Bert", `() => document.getElementById('advisor').textContent.includes('Bert')`)
	if got := evalString(vis, "body text", `document.body.innerText`); strings.Contains(got, note) {
		t.Errorf("the visitor sees the transfer note")
	}
	if n := tabRun(vis, "empty lines", chromedp.Evaluate[int](`[...document.querySelectorAll('#messages li')].filter((li) => li.textContent.trim() === '').length`)); n != 0 {
		t.Errorf("%d empty lines in the transcript, want none (hidden entries show nothing)", n)
	}

	bert.expect("assigned", func(f frame) bool { return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv })
	bert.send(protocol.Transfer{Type: protocol.TypeTransfer, Conversation: conv, ToQueue: "public"})
	vis.waitFor("back in the queue", `() => [...document.querySelectorAll('#messages li[data-kind="transferred"]')].some((li) => li.textContent === 'Uw gesprek wacht op een andere adviseur.')`)
	vis.assertNoPageErrors()
}
