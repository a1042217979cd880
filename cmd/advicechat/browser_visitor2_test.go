package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/protocol"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// TestBrowserVisitorTypingFeedbackSave drives what the visitor page offers
// around the conversation in a real Chromium, with the advisor a Go
// WebSocket client: typing shown both ways (once per burst for a screen
// reader), a message of only white space refused with a hint, the count of
// what is left near the limit, the conversation saved as a text file made
// in the browser, and after the end the one feedback question: answered
// once and counted, kept through a network failure, a duplicate taken as
// done, "No thanks" putting it away, with nothing left in the tab's
// storage. In danger, the waiting card's small 112 line gives way to the
// panel. axe checks the chat with the typing indicator and the end with
// the question, at a phone's and a desktop's width, in English and in
// Arabic.
func TestBrowserVisitorTypingFeedbackSave(t *testing.T) {
	start := time.Now()
	a := startApp(t, nil)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	// The browser's pages are English and Arabic: Anna speaks both.
	adv, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "2", "-languages", "nl,en,ar")
	b := startBrowser(t)
	axe := newAxeChecker(t)

	vis := openVisitor(b, a, "visitor-en", "en")
	// Counts the page's own fetches, to show that a second answer cannot
	// leave the page; evaluated through the DevTools protocol, which the
	// CSP does not cover.
	vis.do("count fetches", chromedp.Evaluate[chromedp.Void](`(() => {
		window.__fetches = 0;
		const f = window.fetch;
		window.fetch = (...args) => { window.__fetches++; return f(...args); };
	})()`))
	startChat(vis, "public")
	vis.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	conv := adv.expectType("assigned").obj("conversation").str("id")
	if got := evalString(vis, "small 112 line", `String(document.getElementById('waiting-emergency').hidden)`); got != "false" {
		t.Errorf("the waiting card's 112 line is hidden for a visitor not in danger")
	}
	vis.do("save while chatting", chromedp.WaitVisible(chromedp.ID("save-now")))
	if got := evalString(vis, "save note", `document.getElementById('save-now').getAttribute('aria-describedby')`); got != "save-now-note" {
		t.Errorf("the save button while chatting is described by %q, want its note", got)
	}

	// The advisor types: the page says so once per burst, however many
	// frames the burst has, and a message from the advisor ends it.
	vis.do("watch the typing line", chromedp.Evaluate[chromedp.Void](`(() => {
		window.__typingChanges = [];
		const el = document.getElementById('typing');
		new MutationObserver(() => window.__typingChanges.push(el.textContent))
			.observe(el, { childList: true, characterData: true, subtree: true });
	})()`))
	stopTyping := keepAdvisorTyping(t, adv, conv)
	waitText(vis, "typing", "Anna is typing…")
	if got := evalString(vis, "typing role", `document.getElementById('typing').getAttribute('role')`); got != "status" {
		t.Errorf("#typing has role %q, want status (a polite live region)", got)
	}
	axe.check(vis, "visitor chatting with typing en")
	stopTyping()
	const reply = "Goed dat u schrijft. Wat maakt u ongerust?"
	adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: "a1", Text: reply})
	if got := vis.messageText("advisor", 1); got != reply {
		t.Errorf("visitor sees advisor message %q, want %q", got, reply)
	}
	vis.waitFor("typing line cleared", `() => document.getElementById('typing').textContent === ''`)
	if got := tabRun(vis, "typing changes", chromedp.Evaluate[[]string](`window.__typingChanges`)); len(got) != 2 || got[0] != "Anna is typing…" || got[1] != "" {
		t.Errorf("the typing line changed %q over a burst of several frames and the reply, want once to %q and once back to empty", got, "Anna is typing…")
	}

	// The visitor types: the advisor hears of it before any message.
	vis.do("type", chromedp.SendKeys(chromedp.ID("text"), "Mijn zoon"))
	if f := adv.expect("typing from the visitor", isType("typing")); f.str("from") != "visitor" || f.str("conversation") != conv {
		t.Errorf("advisor got typing frame %v, want from visitor in %s", f, conv)
	}
	const question = "Mijn zoon praat over rare dingen"
	vis.do("type on", chromedp.SendKeys(chromedp.ID("text"), " praat over rare dingen"))
	pressEnter(vis)
	adv.expect("the visitor's message", isText(conv, question))
	vis.waitFor("own message acked", `() => document.querySelector('#messages li.msg.mine[data-seq]:not(.pending)') !== null`)

	// Only white space: not sent, and the page says why.
	if got := evalString(vis, "composer", `document.getElementById('text').value`); got != "" {
		t.Errorf("the composer holds %q after sending, want it empty", got)
	}
	vis.do("type white space", chromedp.SendKeys(chromedp.ID("text"), "   "))
	pressEnter(vis)
	vis.do("empty hint", chromedp.WaitVisible(chromedp.ID("text-empty")))
	waitText(vis, "text-empty", "Your message is empty. Write something first.")
	waitText(vis, "composer-status", "Your message is empty. Write something first.")
	if n := tabRun(vis, "own messages", chromedp.Evaluate[int](`document.querySelectorAll('#messages li.msg.mine').length`)); n != 1 {
		t.Errorf("%d own messages after sending only white space, want 1", n)
	}
	vis.do("type again", chromedp.SendKeys(chromedp.ID("text"), "x"))
	vis.waitFor("empty hint gone", `() => document.getElementById('text-empty').hidden && !document.getElementById('text').hasAttribute('aria-invalid')`)

	// Near the limit the count shows, and is read out at a threshold, not
	// at every key.
	vis.do("a long message", chromedp.Evaluate[chromedp.Void](`(() => {
		const text = document.getElementById('text');
		text.value = 'x'.repeat(3499);
		text.dispatchEvent(new Event('input', { bubbles: true }));
	})()`))
	if got := evalString(vis, "count hidden", `String(document.getElementById('text-left').hidden)`); got != "true" {
		t.Errorf("the count shows with 501 characters left, want it from 499 on")
	}
	vis.do("type past 500 left", chromedp.SendKeys(chromedp.ID("text"), "ab"))
	waitText(vis, "text-left", "499 characters left")
	waitText(vis, "composer-status", "499 characters left")
	vis.do("one more", chromedp.SendKeys(chromedp.ID("text"), "c"))
	waitText(vis, "text-left", "498 characters left")
	if got := evalString(vis, "status", `document.getElementById('composer-status').textContent`); got != "499 characters left" {
		t.Errorf("the live region says %q after one more key, want it unchanged (%q): not every key is read out", got, "499 characters left")
	}
	vis.do("clear the composer", chromedp.Evaluate[chromedp.Void](`(() => {
		const text = document.getElementById('text');
		text.value = '';
		text.dispatchEvent(new Event('input', { bubbles: true }));
	})()`))
	vis.waitFor("count hidden", `() => document.getElementById('text-left').hidden`)

	// The advisor ends: the question is asked, and nothing is left in the
	// tab's storage.
	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: conv})
	vis.do("ended",
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)),
		chromedp.WaitVisible(chromedp.ID("feedback")),
		chromedp.WaitVisible(chromedp.ID("save")),
	)
	vis.waitFor("ended entry shown", `() => document.querySelector('#messages li.msg[data-kind="ended"]') !== null`)
	assertStorageEmpty(vis, "after the advisor ended the chat")
	if got := evalString(vis, "save while chatting", `String(document.getElementById('save-chatting').hidden)`); got != "true" {
		t.Errorf("the chat's save button stays after the end, beside the ended card's")
	}
	waitText(vis, "feedback-left", "1000 characters left")
	axe.check(vis, "visitor ended with feedback en")

	// Saved: a text file made in the browser, with both sides.
	saved := downloadFrom(vis, "save")
	if ok, _ := regexp.MatchString(`^chat-\d{4}-\d{2}-\d{2}\.txt$`, saved.name); !ok {
		t.Errorf("saved file is named %q, want chat-YYYY-MM-DD.txt", saved.name)
	}
	for _, want := range []string{"You: " + question, "Anna: " + reply, "— Anna has joined the conversation.", "— The advisor ended the conversation."} {
		if !strings.Contains(saved.text, want) {
			t.Errorf("saved file lacks %q:\n%s", want, saved.text)
		}
	}
	if strings.Contains(saved.text, "Your message is empty") || strings.Contains(saved.text, "xxx") {
		t.Errorf("saved file holds more than the conversation:\n%s", saved.text)
	}
	if !strings.HasPrefix(saved.url, "blob:"+a.URL+"/") {
		t.Errorf("the file came from %s, want a blob made by the page", saved.url)
	}

	// The answer: a rating and a comment, counted once.
	const comment = "Het hielp, dank u."
	vis.do("answer",
		chromedp.Click(chromedp.ID("rating-4")),
		chromedp.SendKeys(chromedp.ID("feedback-comment"), comment),
	)
	waitText(vis, "feedback-left", "982 characters left")
	vis.do("send the answer", chromedp.Click(chromedp.ID("feedback-send")), chromedp.WaitVisible(chromedp.ID("feedback-done")))
	waitText(vis, "feedback-done", "Thank you. We have received your answer.")
	if got := evalString(vis, "focus", `document.activeElement.id`); got != "feedback-done" {
		t.Errorf("focus after the answer is on #%s, want the thanks", got)
	}
	metrics := readMetrics(t, a)
	for _, want := range []string{`advicechat_feedback_total{rating="4"} 1`, "advicechat_feedback_comments_total 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A second answer cannot leave the page: the form is gone, and sending
	// it all the same does nothing.
	if got := evalString(vis, "form hidden", `String(document.getElementById('feedback').hidden)`); got != "true" {
		t.Errorf("the question is still offered after the answer")
	}
	vis.do("send again", chromedp.Evaluate[chromedp.Void](`(() => {
		document.getElementById('rating-2').checked = true;
		document.getElementById('feedback').requestSubmit();
	})()`))
	if n := tabRun(vis, "fetches", chromedp.Evaluate[int](`window.__fetches`)); n != 1 {
		t.Errorf("the page made %d requests for feedback, want exactly 1", n)
	}
	assertStorageEmpty(vis, "after the answer")
	if strings.Contains(readMetrics(t, a), `rating="2"`) {
		t.Errorf("a second answer was counted")
	}
	vis.assertNoPageErrors()

	// Arabic, in danger now: the page mirrors, the small 112 line gives
	// way to the panel, and the same states pass axe.
	ar := openVisitor(b, a, "visitor-ar", "ar")
	ar.do("say I am in danger",
		chromedp.Click(chromedp.ID("danger-start")),
		chromedp.WaitVisible(chromedp.ID("danger-call")),
	)
	if got := evalString(ar, "small 112 line", `String(document.getElementById('waiting-emergency').hidden)`); got != "true" {
		t.Errorf("the waiting card repeats 112 under the danger panel")
	}
	ar.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	arConv := adv.expectType("assigned").obj("conversation").str("id")
	// The token the page keeps while the chat lasts, for an answer sent
	// behind the page's back below.
	arToken := evalString(ar, "token", `sessionStorage.getItem('advicechat.token') ?? ''`)
	adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: arConv, ID: "a2", Text: "أهلًا، تفضل."})
	ar.messageText("advisor", 1)
	ar.do("type", chromedp.SendKeys(chromedp.ID("text"), "لدي سؤال."))
	pressEnter(ar)
	ar.waitFor("message acked", `() => document.querySelector('#messages li.msg.mine[data-seq]:not(.pending)') !== null`)
	stopTyping = keepAdvisorTyping(t, adv, arConv)
	waitText(ar, "typing", "Anna يكتب الآن…")
	assertDirection(ar, "ar", "rtl")
	axe.check(ar, "visitor chatting with typing ar")
	stopTyping()
	adv.send(protocol.End{Type: protocol.TypeEnd, Conversation: arConv})
	ar.do("ended", chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)), chromedp.WaitVisible(chromedp.ID("feedback")))
	axe.check(ar, "visitor ended with feedback ar")
	assertStorageEmpty(ar, "after the Arabic chat ended")

	// Offline the answer cannot go: the page says so and keeps it.
	setOffline(ar, true)
	ar.do("answer offline", chromedp.Click(chromedp.ID("rating-5")), chromedp.Click(chromedp.ID("feedback-send")))
	waitText(ar, "feedback-message", "تعذّر إرسال إجابتك. تحقّق من اتصالك وحاول مرة أخرى.")
	if got := evalString(ar, "form", `String(document.getElementById('feedback').hidden) + ' ' + document.querySelector('input[name=rating]:checked')?.value`); got != "false 5" {
		t.Errorf("after a network failure the question is %q (hidden, rating), want it kept with the answer: %q", got, "false 5")
	}
	setOffline(ar, false)
	// Meanwhile an answer for the conversation came in: the page's own is
	// refused as a duplicate, which it takes as done.
	if status, code := postFeedback(t, a, feedbackBody(arConv, arToken, 3, ""), nil); status != http.StatusNoContent {
		t.Fatalf("feedback from Go: %d %q, want 204", status, code)
	}
	ar.do("send again", chromedp.Click(chromedp.ID("feedback-send")), chromedp.WaitVisible(chromedp.ID("feedback-done")))
	waitText(ar, "feedback-done", "وصلتنا إجابتك عن هذه المحادثة من قبل. شكرًا لك.")
	if got := evalString(ar, "form hidden", `String(document.getElementById('feedback').hidden)`); got != "true" {
		t.Errorf("the question is still offered after a duplicate")
	}
	ar.assertNoPageErrors()

	// A visitor who ends the chat is asked too; "No thanks" puts the
	// question away for good.
	nl := openVisitor(b, a, "visitor-nl", "nl")
	startChat(nl, "public")
	nl.do("chatting", chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)))
	adv.expectType("assigned")
	nl.do("end the chat",
		chromedp.Click(chromedp.ID("end")),
		chromedp.WaitVisible(chromedp.ID("end-confirm")),
		chromedp.Click(chromedp.ID("end-confirm")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)),
		chromedp.WaitVisible(chromedp.ID("feedback")),
	)
	waitText(nl, "feedback-skip", "Nee, dank u")
	nl.do("no thanks", chromedp.Click(chromedp.ID("feedback-skip")))
	nl.waitFor("question gone", `() => document.getElementById('feedback').hidden && document.getElementById('feedback-done').hidden && document.activeElement.id === 'ended-heading'`)
	assertStorageEmpty(nl, "after the visitor ended the chat")
	nl.assertNoPageErrors()

	t.Logf("typing, feedback and save checks took %s", time.Since(start).Round(100*time.Millisecond))
}

// keepAdvisorTyping sends the advisor's typing frame for conv every 1.5 s until
// the returned stop is called, so that the indicator stays while axe looks
// at it (the page drops it 5 s after the last frame). It writes to the
// socket directly: the test's goroutine reads it meanwhile.
func keepAdvisorTyping(t *testing.T, adv *client, conv string) (stop func()) {
	t.Helper()
	frame, err := json.Marshal(protocol.Target{Type: protocol.TypeTyping, Conversation: conv})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		tick := time.NewTicker(1500 * time.Millisecond)
		defer tick.Stop()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := adv.conn.Write(ctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				t.Errorf("advisor typing: %v", err)
				return
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}

// setOffline cuts the tab off the network, or connects it again.
func setOffline(tab *browserTab, offline bool) {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	rules := []*network.Conditions{}
	if offline {
		// An empty pattern matches every request.
		rules = append(rules, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
		tab.t.Fatalf("%s: offline %v: %v", tab.name, offline, err)
	}
}

// assertStorageEmpty fails the test if the site left anything in the tab's
// sessionStorage or localStorage.
func assertStorageEmpty(tab *browserTab, when string) {
	tab.t.Helper()
	if keys := tabRun(tab, "storage keys", chromedp.Evaluate[[]string](`[...Object.keys(sessionStorage), ...Object.keys(localStorage)]`)); len(keys) != 0 {
		tab.t.Errorf("%s: %s: storage holds %q, want nothing", tab.name, when, keys)
	}
}

type downloadedFile struct {
	name, url, text string
}

// downloadFrom clicks the button with id in the tab and returns the file the
// browser saved: Chromium saves it under its download id in a folder of
// the test's, and says when it is complete.
func downloadFrom(tab *browserTab, id string) downloadedFile {
	tab.t.Helper()
	dir := tab.t.TempDir()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior:         cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName,
		BrowserContextID: chromedp.FromContext(tab.ctx).BrowserContextID,
		DownloadPath:     dir,
		EventsEnabled:    new(true),
	})
	if err != nil {
		tab.t.Fatalf("%s: allow downloads: %v", tab.name, err)
	}
	begin := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadWillBegin)
	progress := chromedp.BrowserEvents(ctx, cdpbrowser.DownloadProgress)
	tab.do("click "+id, chromedp.Click(chromedp.ID(id)))
	var f downloadedFile
	var guid string
	for ev, err := range begin {
		if err != nil {
			tab.t.Fatalf("%s: waiting for the download: %v", tab.name, err)
		}
		f.name, f.url, guid = ev.SuggestedFilename, ev.URL, ev.GUID
		break
	}
	for ev, err := range progress {
		if err != nil {
			tab.t.Fatalf("%s: waiting for the download to complete: %v", tab.name, err)
		}
		if ev.GUID != guid {
			continue
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			tab.t.Fatalf("%s: the download of %s was canceled", tab.name, f.name)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil {
		tab.t.Fatalf("%s: read the saved file: %v", tab.name, err)
	}
	f.text = string(b)
	return f
}
