package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/advicechat/advicechat/web/protocol"
)

// privacyXSSPayloads are message texts that a page rendering text as HTML
// (or as a template) would turn into elements, script or something other
// than the text. One carries white space around it, which the server trims.
var privacyXSSPayloads = []string{
	`<script>window.__pwned=1</script>`,
	`<img src=x onerror="window.__pwned=1">`,
	`<svg onload="window.__pwned=1">`,
	`<a href="javascript:window.__pwned=1">click</a>`,
	`"><iframe srcdoc="<script>parent.__pwned=1</script>">`,
	`&lt;b&gt;not bold&lt;/b&gt;`,
	`{{7*7}} ${7*7}`,
	"\u202Eevil",
	`</textarea><style>body{display:none}</style><b>bold</b>`,
	"  <script>window.__pwned=1</script>  ",
}

// TestBrowserVisitorLeavesNoTrace has a visitor chat in a real Chromium
// with an advisor who is a plain WebSocket client, and checks what the
// visit leaves behind: every request of the tab goes to the service's own
// origin, no cookie is set, sent or stored at any point, every response says
// no-store, markup in either direction stays text, and once the visitor
// ends the chat the site's storage in the browser is empty.
func TestBrowserVisitorLeavesNoTrace(t *testing.T) {
	a := startApp(t, nil)
	app := mustParse(t, a.URL)
	// The browser's page is English: Noor speaks it.
	adv, _ := onDutyAdvisor(t, a, "noor", "-name", "Noor", "-languages", "nl,en")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})

	b := startBrowser(t)
	vis := b.newTab("visitor")
	nl := &tabNetLog{wsClosed: make(chan struct{}, 8)}
	// The tab is attached (with the Network domain enabled, as chromedp
	// always does) but has not navigated yet: from here on every request
	// it makes is seen.
	if err := chromedp.Listen(vis.ctx, nl.listen); err != nil {
		t.Fatalf("listen to the visitor tab: %v", err)
	}
	browserContext := chromedp.FromContext(vis.ctx).BrowserContextID
	if browserContext == "" {
		t.Fatal("visitor tab has no browser context of its own; the cookie check would read another jar")
	}
	cookieURLs := []string{a.URL + "/", a.URL + "/ws/visitor", a.URL + "/static/visitor.js"}
	assertNoCookies := func(when string) {
		t.Helper()
		forURLs, all := tabCookies(vis, browserContext, cookieURLs)
		for _, c := range forURLs {
			t.Errorf("%s: Network.getCookies finds cookie %s=%q for %s%s (HttpOnly %v) in the visitor's browser, want none", when, c.Name, c.Value, c.Domain, c.Path, c.HTTPOnly)
		}
		for _, c := range all {
			t.Errorf("%s: Storage.getCookies finds cookie %s=%q for %s%s (HttpOnly %v) in the visitor's browser context, want none", when, c.Name, c.Value, c.Domain, c.Path, c.HTTPOnly)
		}
	}

	vis.do("open the page", chromedp.Navigate(a.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
	assertNoCookies("after the page loaded")

	// The visitor picks the page's language: the page remembers the choice
	// in sessionStorage, which must be gone with everything else at the end.
	ctx, cancel := context.WithDeadline(vis.ctx, b.deadline)
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("language-go")))
	cancel()
	if err != nil {
		t.Fatalf("visitor: choose the language: %v", err)
	}
	if !strings.Contains(resp.URL, "?lang=") {
		t.Fatalf("choosing the language loaded %s, want the page with ?lang=", resp.URL)
	}
	vis.do("page in the chosen language", chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
	if got := tabRun(vis, "stored language", chromedp.Evaluate[string](`sessionStorage.getItem('advicechat.lang') ?? ''`)); got == "" {
		t.Fatal("the language choice is not in sessionStorage; the end-of-chat check would not see it cleared")
	}

	vis.do("start a chat",
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
	)
	conv := adv.expectType("assigned").obj("conversation").str("id")
	if conv == "" {
		t.Fatal("assigned frame without a conversation id")
	}
	vis.waitFor("advisor named Noor", `() => document.getElementById('advisor').textContent.includes('Noor')`)
	assertNoCookies("with the chat started")

	for i, p := range privacyXSSPayloads {
		want := strings.TrimSpace(p)

		// Advisor to visitor: shown as exactly this text.
		id := fmt.Sprintf("a-%d", i)
		adv.send(protocol.Message{Type: protocol.TypeMessage, Conversation: conv, ID: id, Text: p})
		if f := adv.expect("ack or error "+id, func(f frame) bool {
			return (f.str("type") == "ack" || f.str("type") == "error") && f.str("id") == id
		}); f.str("type") != "ack" {
			t.Fatalf("advisor message %q refused: %v", p, f)
		}
		if got := vis.messageText("advisor", i+1); got != want {
			t.Errorf("visitor sees advisor message %q, want %q as text", got, want)
		}

		// Visitor to advisor: typed into the page, received as exactly this
		// text.
		typeIntoComposer(vis, p)
		if got := tabRun(vis, "composer value", chromedp.Evaluate[string](`document.getElementById('text').value`)); got != p {
			t.Fatalf("typed %q, the composer holds %q", p, got)
		}
		vis.do("send", chromedp.Click(chromedp.ID("send")))
		const own = `(text) => [...document.querySelectorAll('#messages li.msg.mine')].find((li) => li.querySelector('.text').textContent === text)`
		vis.waitFor("own message acked or refused", fmt.Sprintf(`(text) => { const li = (%s)(text); return !!li && (li.classList.contains('failed') || (!!li.dataset.seq && !li.classList.contains('pending'))); }`, own), want)
		if failed := tabRun(vis, "own message state", chromedp.Evaluate[bool](fmt.Sprintf(`(%s)(%q).classList.contains('failed')`, own, want))); failed {
			t.Fatalf("visitor message %q was refused", p)
		}
		got := adv.expect("visitor message "+want, func(f frame) bool {
			return f.str("type") == "entry" && f.str("conversation") == conv && f.str("kind") == "message" && f.str("from") == "visitor"
		})
		if got.str("text") != want {
			t.Errorf("advisor got visitor message %q, want %q", got.str("text"), want)
		}
	}
	vis.screenshot("visitor-xss")

	// Nothing of it became markup or ran.
	vis.assertNoMarkup()
	if n := tabRun(vis, "count elements", chromedp.Evaluate[int](`document.querySelectorAll('#messages :is(img, svg, iframe, script, a, b, style, object, embed), body iframe').length`)); n != 0 {
		t.Errorf("%d img, svg, iframe, script, a, b, style, object or embed elements in the transcript, want message text shown as text", n)
	}
	if got := tabRun(vis, "page visible", chromedp.Evaluate[string](`getComputedStyle(document.body).display`)); got == "none" {
		t.Errorf("a message's style element hid the page")
	}
	vis.assertNoPageErrors()
	assertNoCookies("after the messages")

	// The visitor ends the chat, confirming in the dialog.
	vis.do("end the chat",
		chromedp.Click(chromedp.ID("end")),
		chromedp.WaitVisible(chromedp.ID("end-confirm")),
		chromedp.Click(chromedp.ID("end-confirm")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)),
	)
	adv.expect("ended entry", isEntry(conv, "ended"))
	// Let the last frames reach the page: the server closes the visitor's
	// socket after the ended entry and state, and the transcript shows the
	// entry.
	vis.waitFor("ended entry shown", `() => document.querySelector('#messages li.msg[data-kind="ended"]') !== null`)
	select {
	case <-nl.wsClosed:
	case <-time.After(time.Until(b.deadline)):
		t.Fatal("the visitor's WebSocket was not closed after the chat ended")
	}

	type leftovers struct {
		Session int    `json:"session"`
		Local   int    `json:"local"`
		IDB     int    `json:"idb"`
		Caches  int    `json:"caches"`
		Workers int    `json:"workers"`
		Cookie  string `json:"cookie"`
	}
	const readLeftovers = `(async () => ({
		session: sessionStorage.length,
		local: localStorage.length,
		idb: (await indexedDB.databases()).length,
		caches: (await caches.keys()).length,
		workers: (await navigator.serviceWorker.getRegistrations()).length,
		cookie: document.cookie,
	}))()`
	left := tabRun(vis, "read storage", chromedp.Evaluate[leftovers](readLeftovers, chromedp.EvalAwaitPromise))
	if left != (leftovers{}) {
		keys := tabRun(vis, "storage keys", chromedp.Evaluate[[]string](`[...Object.keys(sessionStorage).map((k) => 'sessionStorage ' + k), ...Object.keys(localStorage).map((k) => 'localStorage ' + k)]`))
		t.Errorf("after the chat ended the site left sessionStorage %d, localStorage %d, IndexedDB databases %d, caches %d, service workers %d, document.cookie %q (keys %q); want nothing",
			left.Session, left.Local, left.IDB, left.Caches, left.Workers, left.Cookie, keys)
	}
	assertNoCookies("after the chat ended")
	vis.assertNoPageErrors()

	// What the tab did on the network, from before the first navigation.
	nl.mu.Lock()
	requests := slices.Clone(nl.requests)
	responses := slices.Clone(nl.responses)
	cookieHeaders := slices.Clone(nl.cookieHeaders)
	cached := slices.Clone(nl.cached)
	nl.mu.Unlock()
	var sawWS bool
	for _, r := range requests {
		if !isAppOrigin(r.url, app) {
			t.Errorf("the visitor tab made a %s request to %s, outside the service's origin %s", r.kind, r.url, a.URL)
		}
		if r.kind == "WebSocket" && r.url == a.wsURL("/ws/visitor?acks=entry") {
			sawWS = true
		}
	}
	if !sawWS {
		t.Errorf("no WebSocket to %s among the tab's requests %v: the request log misses something", a.wsURL("/ws/visitor?acks=entry"), requests)
	}
	for _, h := range cookieHeaders {
		t.Errorf("cookie header on the wire: %s", h)
	}
	// The page was loaded twice (before and after the language choice):
	// no-store means the second load asked the server for everything again.
	for _, c := range cached {
		t.Errorf("served from a browser cache, not the server: %s", c)
	}
	need := map[string]bool{a.URL + "/": false, a.URL + "/static/socket.js": false, a.URL + "/static/transcript.js": false}
	var assets []string
	for _, r := range responses {
		u := mustParse(t, r.url)
		if u.Host != app.Host {
			continue // already reported above
		}
		path := u.Scheme + "://" + u.Host + u.Path
		if _, ok := need[path]; ok {
			need[path] = true
		}
		if strings.HasPrefix(u.Path, "/static/") {
			assets = append(assets, u.Path)
		}
		if cc := cdpHeader(r.headers, "Cache-Control"); !slices.Contains(cacheDirectives(cc), "no-store") {
			t.Errorf("%s %s (status %d) has Cache-Control %q, want no-store", r.kind, r.url, r.status, cc)
		}
	}
	for path, seen := range need {
		if !seen {
			t.Errorf("no response for %s seen: the response log misses something", path)
		}
	}
	for _, want := range []string{"/static/visitor.js", "/static/style.css"} {
		if !slices.Contains(assets, want) {
			t.Errorf("no response for %s seen among %q", want, assets)
		}
	}
	t.Logf("visitor tab made %d requests: %v", len(requests), requests)

	// Control, after every check: a cookie set in the tab's jar, HttpOnly
	// so that document.cookie cannot see it, is found by the same reads.
	ctx, cancel = context.WithDeadline(vis.ctx, b.deadline)
	_, err = chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "probe", Value: "1", URL: a.URL + "/", HTTPOnly: new(true)})
	cancel()
	if err != nil {
		t.Fatalf("control: set a cookie: %v", err)
	}
	if forURLs, all := tabCookies(vis, browserContext, cookieURLs); len(forURLs) != 1 || len(all) != 1 {
		t.Errorf("control: an HttpOnly cookie set in the tab's jar is found %d times by Network.getCookies and %d times by Storage.getCookies, want once by each; the cookie checks prove nothing", len(forURLs), len(all))
	}
}

// tabCookies returns the cookies the tab's browser holds: what
// Network.getCookies reports for urls, and what Storage.getCookies reports
// for the tab's whole browser context. Both see HttpOnly cookies.
func tabCookies(tab *browserTab, browserContext cdp.BrowserContextID, urls []string) (forURLs, all []*network.Cookie) {
	tab.t.Helper()
	ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
	defer cancel()
	got, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: urls})
	if err != nil {
		tab.t.Fatalf("%s: Network.getCookies: %v", tab.name, err)
	}
	inContext, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: browserContext})
	if err != nil {
		tab.t.Fatalf("%s: Storage.getCookies: %v", tab.name, err)
	}
	return got.Cookies, inContext.Cookies
}

// typeIntoComposer types text into the composer: printable characters as key
// presses, the others (such as a bidi override, which has no key) as text
// input, the way an input method or a character picker enters them.
func typeIntoComposer(tab *browserTab, text string) {
	tab.t.Helper()
	tab.do("focus the composer", chromedp.Focus(chromedp.ID("text")))
	var keys []rune
	flush := func() {
		if len(keys) > 0 {
			tab.do("type", chromedp.SendKeys(chromedp.ID("text"), string(keys)))
			keys = keys[:0]
		}
	}
	for _, r := range text {
		if unicode.IsPrint(r) {
			keys = append(keys, r)
			continue
		}
		flush()
		ctx, cancel := context.WithDeadline(tab.ctx, tab.b.deadline)
		_, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: string(r)})
		cancel()
		if err != nil {
			tab.t.Fatalf("%s: insert %U: %v", tab.name, r, err)
		}
	}
	flush()
}

// tabNetLog records what a tab does on the network. listen runs in the tab's
// event loop, so it only appends.
type tabNetLog struct {
	mu            sync.Mutex
	requests      []tabRequest
	responses     []tabResponse
	cookieHeaders []string      // Cookie and Set-Cookie headers seen on the wire
	cached        []string      // responses a cache gave instead of the server
	wsClosed      chan struct{} // a WebSocket of the tab closed
}

type tabRequest struct{ kind, url string }

func (r tabRequest) String() string { return r.kind + " " + r.url }

type tabResponse struct {
	kind, url string
	status    int64
	headers   network.Headers
}

func (nl *tabNetLog) listen(ev any) {
	nl.mu.Lock()
	defer nl.mu.Unlock()
	cookieHeader := func(where string, h network.Headers, names ...string) {
		for _, name := range names {
			if v := cdpHeader(h, name); v != "" {
				nl.cookieHeaders = append(nl.cookieHeaders, fmt.Sprintf("%s: %s: %s", where, name, v))
			}
		}
	}
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		nl.requests = append(nl.requests, tabRequest{string(ev.Type), ev.Request.URL})
		cookieHeader("request "+ev.Request.URL, ev.Request.Headers, "Cookie")
		if ev.RedirectResponse != nil {
			cookieHeader("redirect "+ev.RedirectResponse.URL, ev.RedirectResponse.Headers, "Set-Cookie")
		}
	case *network.EventWebSocketCreated:
		nl.requests = append(nl.requests, tabRequest{"WebSocket", ev.URL})
	case *network.EventWebTransportCreated:
		nl.requests = append(nl.requests, tabRequest{"WebTransport", ev.URL})
	case *network.EventRequestWillBeSentExtraInfo:
		cookieHeader("request "+string(ev.RequestID), ev.Headers, "Cookie")
	case *network.EventResponseReceived:
		nl.responses = append(nl.responses, tabResponse{string(ev.Type), ev.Response.URL, ev.Response.Status, ev.Response.Headers})
		if r := ev.Response; r.FromDiskCache || r.FromPrefetchCache || r.FromServiceWorker || r.FromEarlyHints {
			nl.cached = append(nl.cached, r.URL)
		}
		cookieHeader("response "+ev.Response.URL, ev.Response.Headers, "Set-Cookie")
	case *network.EventResponseReceivedExtraInfo:
		cookieHeader("response "+string(ev.RequestID), ev.Headers, "Set-Cookie")
	case *network.EventWebSocketWillSendHandshakeRequest:
		cookieHeader("WebSocket handshake "+string(ev.RequestID), ev.Request.Headers, "Cookie")
	case *network.EventWebSocketHandshakeResponseReceived:
		cookieHeader("WebSocket handshake "+string(ev.RequestID), ev.Response.Headers, "Set-Cookie")
	case *network.EventRequestServedFromCache:
		nl.cached = append(nl.cached, "request "+string(ev.RequestID))
	case *network.EventWebSocketClosed:
		select {
		case nl.wsClosed <- struct{}{}:
		default:
		}
	}
}

// isAppOrigin reports whether a URL the tab asked for belongs to the app: its
// own http or ws origin, a blob of that origin, data: or about:blank.
func isAppOrigin(raw string, app *url.URL) bool {
	if raw == "about:blank" || strings.HasPrefix(raw, "data:") {
		return true
	}
	raw = strings.TrimPrefix(raw, "blob:")
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "ws") && u.Host == app.Host && u.User == nil
}

// cdpHeader returns a header of a CDP header map, whatever the case of
// its name; repeated headers come joined by new lines.
func cdpHeader(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// cacheDirectives splits a Cache-Control value into its lower-case directives.
func cacheDirectives(v string) []string {
	var out []string
	for _, d := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		out = append(out, strings.ToLower(strings.TrimSpace(d)))
	}
	return out
}
