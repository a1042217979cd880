package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// hostPage is a helpline's own page with the chat button snippet, as the
// README gives it.
const hostPage = `<!doctype html>
<html lang="%[2]s"><head><meta charset="utf-8"><title>Stichting Voorbeeld</title>
<style>body{font:17px/1.5 Georgia,serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}
header{border-bottom:3px solid #0b5cad;margin-bottom:1.5rem}h1{font-size:1.6rem}</style></head>
<body><header><h1>Stichting Voorbeeld</h1><p>Advice for parents, partners and friends</p></header>
<main><h2>Worried about someone?</h2>
<p>Someone close to you talks more and more about an extremist group, or a
teacher wonders how to respond to a pupil. Talk it through with one of our
advisors, anonymously: no name, no e-mail address.</p>
<div id="chat-button"></div>
<script src="%[1]s/widget.js" lang="%[2]s" data-target="chat-button" async></script>
<p>In danger now? Call 112.</p></main></body></html>`

// hostSite serves a helpline's page on an origin of its own (another
// port: another origin) that includes the widget from the service at
// appURL, for the language in ?lang=.
func hostSite(t *testing.T, appURL *string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		lang := r.URL.Query().Get("lang")
		if lang == "" {
			lang = "en"
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, hostPage, *appURL, lang)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBrowserWidget loads a helpline's page from another origin that
// includes the chat button from the service, and checks the button's
// states (open, busy about N minutes, closed until when), that it opens
// the chat in a new top-level tab in the page's language, that it is no
// iframe, and that the page gets no cookie and makes no request to anyone
// but the host and the service.
func TestBrowserWidget(t *testing.T) {
	var appURL string
	host := hostSite(t, &appURL)
	a := widgetAppFor(t, host.URL, nil)
	appURL = a.URL
	adv, _ := onDutyAdvisor(t, a, "anna", "-max", "1")

	b := startBrowser(t)
	tab := b.newTab("host page")
	nl := &tabNetLog{wsClosed: make(chan struct{}, 1)}
	if err := chromedp.Listen(tab.ctx, nl.listen); err != nil {
		t.Fatal(err)
	}
	bc := chromedp.FromContext(tab.ctx).BrowserContextID

	type button struct {
		State, Text, Href, Target, Rel, Lang string
		Frames                               int
	}
	const readButton = `(() => { const a = document.querySelector('#chat-button a.advicechat-widget');
		return a ? {state: a.dataset.state, text: a.textContent, href: a.href, target: a.target, rel: a.rel, lang: a.lang,
			frames: document.querySelectorAll('iframe, frame, object, embed').length} : null; })()`
	load := func(what, lang, state string) button {
		t.Helper()
		tab.do("open the host page "+what, chromedp.Navigate(host.URL+"/?lang="+lang))
		tab.waitFor("the button "+state, `(s) => document.querySelector('#chat-button a.advicechat-widget')?.dataset.state === s`, state)
		tab.waitFor("the stylesheet", `() => [...document.styleSheets].some((s) => s.href && s.href.endsWith('/widget.css'))`)
		return tabRun(tab, "read the button", chromedp.Evaluate[button](readButton))
	}

	got := load("while an advisor is free", "en", "open")
	if !strings.Contains(got.Text, "Anonymous chat with an advisor") || !strings.Contains(got.Text, "Open: an advisor is there") ||
		got.Href != a.URL+"/?lang=en" || got.Target != "_blank" || got.Rel != "noopener noreferrer" || got.Lang != "en" || got.Frames != 0 {
		t.Errorf("button while open = %+v", got)
	}
	saveScreenshot(tab, "widget-on-a-helpline-page-open-en")

	// Anna's one place is taken: the next visitor waits a handling time.
	activeConversation(t, a, adv)
	got = load("while busy", "en", "busy")
	if !strings.Contains(got.Text, "Busy: about 30 minutes wait") {
		t.Errorf("button while busy = %+v", got)
	}
	saveScreenshot(tab, "widget-on-a-helpline-page-busy-en")
	got = load("in Dutch", "nl", "busy")
	if !strings.Contains(got.Text, "Druk: ongeveer 30 minuten wachten") || got.Href != a.URL+"/?lang=nl" {
		t.Errorf("button in Dutch = %+v", got)
	}

	// Another service, closed until the day after tomorrow's opening.
	opens := day(3)
	hours := writeHours(t, map[string]any{
		"time_zone": "Europe/Amsterdam", "weekly": allWeek,
		"closed":     []string{day(-1), day(0), day(1), day(2)},
		"exceptions": map[string]any{opens: [][]string{{"10:30", "12:00"}}},
	})
	closed := widgetAppFor(t, host.URL, map[string]string{"ADVICECHAT_HOURS": hours})
	appURL = closed.URL
	at, err := time.ParseInLocation(time.DateOnly+" 15:04", opens+" 10:30", amsterdam)
	if err != nil {
		t.Fatal(err)
	}
	got = load("while closed", "en", "closed_until")
	if want := "Closed until " + at.Format("Monday 2 January") + " at 10:30"; !strings.Contains(got.Text, want) {
		t.Errorf("button while closed = %+v, want %q", got, want)
	}
	saveScreenshot(tab, "widget-on-a-helpline-page-closed-en")
	got = load("while closed, in Arabic", "ar", "closed_until")
	if !strings.Contains(got.Text, "مغلق حتى") {
		t.Errorf("button while closed in Arabic = %+v", got)
	}
	tab.assertNoPageErrors()

	// No cookie in the host page's browser, none on the wire.
	ctx, cancel := context.WithDeadline(tab.ctx, b.deadline)
	cookies, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: bc})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		t.Errorf("cookie %s=%q for %s in the host page's browser", c.Name, c.Value, c.Domain)
	}
	if doc := tabRun(tab, "document.cookie", chromedp.Evaluate[string](`document.cookie`)); doc != "" {
		t.Errorf("document.cookie = %q", doc)
	}
	nl.mu.Lock()
	requests := slices.Clone(nl.requests)
	cookieHeaders := slices.Clone(nl.cookieHeaders)
	nl.mu.Unlock()
	for _, h := range cookieHeaders {
		t.Errorf("cookie header on the wire: %s", h)
	}
	// Every request goes to the host page's origin or to the service.
	allowed := []string{host.URL + "/", a.URL + "/", closed.URL + "/"}
	var status, script int
	for _, r := range requests {
		if !slices.ContainsFunc(allowed, func(p string) bool { return strings.HasPrefix(r.url, p) }) {
			t.Errorf("the host page made a %s request to %s, neither the host nor the service", r.kind, r.url)
		}
		if strings.Contains(r.url, "/status.json") {
			status++
		}
		if strings.HasSuffix(r.url, "/widget.js") {
			script++
		}
	}
	if status < 5 || script < 5 {
		t.Errorf("saw %d status and %d script requests among %v, want one of each per load: the request log misses something", status, script, requests)
	}
}

// widgetAppFor starts the service with the host's origin allowed to read
// the status.
func widgetAppFor(t *testing.T, origin string, extra map[string]string) *app {
	env := map[string]string{"ADVICECHAT_WIDGET_ORIGINS": origin, "ADVICECHAT_STATUS_CACHE": "0", "ADVICECHAT_DEFAULT_HANDLING": "20m"}
	for k, v := range extra {
		env[k] = v
	}
	return startApp(t, env)
}
