package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserQuickExitLeavesNoHistory: whatever the visitor clicked
// inside the service (languages, the privacy page and back), after quick
// exit the Back button never shows this service: every navigation inside
// its pages replaced the history entry.
func TestBrowserQuickExitLeavesNoHistory(t *testing.T) {
	exit := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, exitPage)
	}))
	t.Cleanup(exit.Close)
	a := startApp(t, map[string]string{"ADVICECHAT_EXIT_URL": exit.URL + "/"})
	b := startBrowser(t)
	vis := b.newTab("visitor")

	vis.do("a page before ours", chromedp.Navigate(exit.URL+"/before"))
	vis.do("land", chromedp.Navigate(a.URL+"/?lang=nl"))
	arrived(t, vis, `document.body.dataset.state === 'landing' && document.documentElement.dataset.history === 'replace'`)
	// The tab's history up to and with our page: whatever the visitor
	// does here must not add to it.
	entries := tabRun(vis, "history length", chromedp.Evaluate[int](`history.length`))
	for _, lang := range []string{"en", "ar"} {
		chooseLanguage(vis, lang)
		arrived(t, vis, `document.documentElement.lang === '`+lang+`' && document.body.dataset.state === 'landing' && document.documentElement.dataset.history === 'replace'`)
	}
	vis.do("open the privacy page", chromedp.Click(chromedp.ID("privacy-more")))
	arrived(t, vis, `location.pathname === '/privacy' && document.documentElement.dataset.history === 'replace'`)
	vis.do("back to the chat", chromedp.Click(chromedp.CSS(`a[href^="/?lang="]`)))
	arrived(t, vis, `location.pathname === '/' && document.body.dataset.state === 'landing' && document.documentElement.dataset.history === 'replace'`)
	vis.do("start",
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="waiting"]`)),
	)
	vis.do("quick exit", chromedp.Click(chromedp.ID("quick-exit")))
	arrived(t, vis, `location.href.startsWith('`+exit.URL+`/') && location.pathname === '/'`)
	// Every page of ours was replaced in place, the last by the exit.
	if n := tabRun(vis, "history length", chromedp.Evaluate[int](`history.length`)); n != entries {
		t.Errorf("history has %d entries after quick exit, want %d: each page of ours replaced the one before", n, entries)
	}
	// Back goes to the page before ours (the error is the evaluation cut
	// off by the navigation it starts), and once more goes nowhere: the
	// history starts there.
	_, _ = chromedp.Run(vis.ctx, chromedp.Evaluate[chromedp.Void](`history.back(); undefined`))
	if href := arrived(t, vis, `location.pathname === '/before'`); strings.HasPrefix(href, a.URL) {
		t.Fatalf("Back after quick exit shows %s, this service", href)
	}

}

// arrived polls the tab from outside until cond holds, across the
// navigations a click starts (a poll inside the page dies with it), and
// returns where the tab is.
func arrived(t *testing.T, tab *browserTab, cond string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		href, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](`(`+cond+`) ? location.href : ''`))
		if err == nil && href != "" {
			return href
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s did not come true (at %s, %v)", tab.name, cond, href, err)
		}
		time.Sleep(50 * time.Millisecond) // the page is navigating
	}
}
