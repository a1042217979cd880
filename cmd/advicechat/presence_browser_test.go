package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserVisitorSeesAdvisorAway: while chatting, the visitor's page
// says when the advisor's connection dropped and what happens next, and
// the notice goes when the advisor is back.
func TestBrowserVisitorSeesAdvisorAway(t *testing.T) {
	a := startApp(t, nil)
	adv, hc := onDutyAdvisor(t, a, "noor", "-name", "Noor", "-languages", "nl,en")
	b := startBrowser(t)
	vis := b.newTab("visitor")
	vis.do("open the page", chromedp.Navigate(a.URL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
	vis.do("start a chat",
		chromedp.Click(chromedp.ID("audience-public")),
		chromedp.Click(chromedp.ID("start")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="chatting"]`)),
	)
	conv := adv.expectType("assigned").obj("conversation").str("id")
	vis.waitFor("advisor named Noor", `() => document.getElementById('advisor').textContent.includes('Noor')`)

	adv.conn.CloseNow()
	const shown = `() => { const n = document.getElementById('advisor-away'); return !!n && !n.hidden && n.getAttribute('role') === 'status' &&
		n.textContent.includes('The connection of Noor has dropped') && n.textContent.includes('front of the queue'); }`
	vis.waitFor("the advisor's connection dropped", shown)
	saveScreenshot(vis, "visitor-advisor-away-en")

	adv2 := a.advisor(t, hc, nil)
	adv2.expect("the conversation back on the console", func(f frame) bool {
		return f.str("type") == "assigned" && f.obj("conversation").str("id") == conv
	})
	vis.waitFor("the notice gone", `() => document.getElementById('advisor-away')?.hidden === true`)
	vis.assertNoPageErrors()
}
