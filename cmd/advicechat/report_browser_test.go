package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserReport: a supervisor asks for the report of a range of days
// from the supervisor view and gets the printable page with the counts of
// a scripted run; it passes the accessibility rules.
func TestBrowserReport(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_VISITOR_GRACE": "2s"})
	password := a.addAdvisor(t, "sara", "-name", "Sara", "-role", "supervisor")
	scriptedRun(t, a)

	axe := newAxeChecker(t)
	b := startBrowser(t)
	tab := b.newTab("supervisor")
	tab.do("open the view", chromedp.Navigate(a.URL+"/advisor/supervisor?lang=en"), chromedp.WaitVisible(chromedp.ID("login-form")))
	tab.do("log in",
		chromedp.SendKeys(chromedp.ID("username"), "sara"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("code"), a.totpCode(t, "sara")),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS(`body.advisor`)),
	)
	tab.do("open the view again",
		chromedp.Navigate(a.URL+"/advisor/supervisor?lang=en"),
		chromedp.WaitVisible(chromedp.ID("report-range")),
	)
	today := time.Now().UTC()
	tab.do("choose the days", chromedp.Evaluate[chromedp.Void](`(() => {
		document.getElementById('report-from').value = '`+today.AddDate(0, 0, -1).Format(time.DateOnly)+`';
		document.getElementById('report-to').value = '`+today.Format(time.DateOnly)+`';
	})()`))
	tab.do("show the report",
		chromedp.Click(chromedp.CSS(`#report-range button[value="html"]`)),
		chromedp.WaitVisible(chromedp.CSS(`body.report`)),
	)
	type counts struct{ Started, Urgent, Answered, Median, AbandonedWaiting, AbandonedActive, Left string }
	got := tabRun(tab, "read the counts", chromedp.Evaluate[counts](`(() => {
		const v = (id) => document.getElementById(id).textContent;
		return {started: v('started-total'), urgent: v('urgent'), answered: v('answered'), median: v('wait-median'),
			abandonedWaiting: v('abandoned-waiting'), abandonedActive: v('abandoned-active'), left: v('left-waiting')};
	})()`))
	if want := (counts{"6", "1", "4", "at most 30 seconds", "1", "1", "1"}); got != want {
		t.Errorf("report page = %+v, want %+v", got, want)
	}
	axe.check(tab, "funder report")
	tab.assertNoPageErrors()
	saveScreenshot(tab, "supervisor-report-en")
}
