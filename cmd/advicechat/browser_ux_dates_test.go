package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserUXDates: on the English page, times and dates follow the
// browser's English: a British browser reads 24-hour times and "2 December
// 2026", an American one "12:30 PM" and "December 2, 2026", in the
// conversation and in the saved copy alike.
func TestBrowserUXDates(t *testing.T) {
	a := startApp(t, nil)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("app log:\n%s", a.logs.String())
		}
	})
	adv, _ := onDutyAdvisor(t, a, "anna", "-name", "Anna", "-max", "2", "-languages", "nl,en")
	b := startBrowser(t)
	b.deadline = time.Now().Add(2 * time.Minute)
	for _, c := range []struct {
		locale    string
		time, day *regexp.Regexp
	}{
		{"en-GB", regexp.MustCompile(`^\d{2}:\d{2}$`), regexp.MustCompile(`^\d{1,2} [A-Z][a-z]+ \d{4}$`)},
		{"en-US", regexp.MustCompile(`^\d{2}:\d{2}\s(AM|PM)$`), regexp.MustCompile(`^[A-Z][a-z]+ \d{1,2}, \d{4}$`)},
	} {
		tab := b.newTab("visitor-" + c.locale)
		if _, err := chromedp.Call(tab.ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: strings.ReplaceAll(c.locale, "-", "_")}); err != nil {
			t.Fatalf("%s: override the locale: %v", c.locale, err)
		}
		tab.do("open the page", chromedp.Navigate(a.URL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS(`body[data-state="landing"]`)))
		startChatTo(tab, "public", "chatting")
		conv := adv.expectType("assigned").obj("conversation").str("id")
		adv.send(map[string]any{"type": "message", "conversation": conv, "id": "d1", "text": "Hello, how can I help?"})
		tab.messageText("advisor", 1)
		shown := evalString(tab, "time shown", `document.querySelector('#messages li.msg[data-from="advisor"] time').textContent`)
		if !c.time.MatchString(shown) {
			t.Errorf("%s: the message's time reads %q, want %s", c.locale, shown, c.time)
		}
		saved := downloadFrom(tab, "save-now")
		lines := strings.Split(saved.text, "\n")
		var day, msg string
		for i, l := range lines {
			if i > 0 && lines[i-1] == "" && day == "" && l != "" {
				day = l
			}
			if strings.Contains(l, "Anna: Hello") {
				msg = strings.TrimSpace(strings.SplitN(l, "Anna:", 2)[0])
			}
		}
		if !c.day.MatchString(day) {
			t.Errorf("%s: the saved copy's date line is %q, want %s:\n%s", c.locale, day, c.day, saved.text)
		}
		if !c.time.MatchString(msg) {
			t.Errorf("%s: the saved copy's time is %q, want %s:\n%s", c.locale, msg, c.time, saved.text)
		}
		adv.send(map[string]any{"type": "end", "conversation": conv})
		tab.do("ended", chromedp.WaitVisible(chromedp.CSS(`body[data-state="ended"]`)))
		tab.assertNoPageErrors()
	}
}
