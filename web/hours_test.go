package web

import (
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/hours"
)

func mustPages(tb testing.TB) *pages {
	tb.Helper()
	p, err := newPages(Config{ExitURL: "https://exit.example/", Retention: 10 * time.Minute, Version: "v"})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestFormatOpening(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Time
		lang string
		want string
	}{
		{time.Date(2026, 12, 7, 9, 0, 0, 0, ams), "en", "Monday 7 December at 09:00"},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, ams), "nl", "maandag 7 december om 09:00"},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, ams), "ar", "الاثنين 7 ديسمبر الساعة 09:00"},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, ams), "tr", "Pazartesi 7 Aralık saat 09:00"},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, ams), "pl", "poniedziałek 7 grudnia o 09:00"},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, ams), "uk", "понеділок 7 грудня о 09:00"},
		{time.Date(2026, 12, 7, 9, 0, 0, 0, ams), "xx", "2026-12-07 09:00"},
		// Summer time: the wall clock of the zone, not UTC.
		{time.Date(2026, 3, 29, 3, 0, 0, 0, ams), "en", "Sunday 29 March at 03:00"},
		{time.Date(2026, 5, 31, 23, 30, 0, 0, ams), "nl", "zondag 31 mei om 23:30"},
	}
	for _, tt := range tests {
		if got := formatOpening(tt.at, tt.lang); got != tt.want {
			t.Errorf("formatOpening(%s, %s) = %q, want %q", tt.at, tt.lang, got, tt.want)
		}
	}
}

func TestClosedNotice(t *testing.T) {
	p := mustPages(t)
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	opens := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC) // 09:00 in Amsterdam
	at := func(time.Time) (time.Time, bool) { return opens, true }
	never := func(time.Time) (time.Time, bool) { return time.Time{}, false }
	now := opens.Add(-48 * time.Hour)
	tests := []struct {
		lang             string
		next             func(time.Time) (time.Time, bool)
		wantWhen, notice string
	}{
		{"en", at, "Monday 7 December at 09:00", "The chat is closed. It opens again on Monday 7 December at 09:00."},
		{"nl", at, "maandag 7 december om 09:00", "De chat is gesloten. We zijn er weer op maandag 7 december om 09:00."},
		{"en", never, "", "The chat is closed for now."},
		{"nl", never, "", "De chat is voorlopig gesloten."},
		{"ar", at, "الاثنين 7 ديسمبر الساعة 09:00", "الدردشة مغلقة الآن. تُفتح من جديد يوم الاثنين 7 ديسمبر الساعة 09:00."},
		{"tr", at, "Pazartesi 7 Aralık saat 09:00", "Sohbet şu anda kapalı. Yeniden açılış: Pazartesi 7 Aralık saat 09:00."},
		{"pl", at, "poniedziałek 7 grudnia o 09:00", "Czat jest teraz zamknięty. Ponownie otwieramy: poniedziałek 7 grudnia o 09:00."},
		{"uk", at, "понеділок 7 грудня о 09:00", "Чат зараз закрито. Знову відкриємося: понеділок 7 грудня о 09:00."},
	}
	for _, tt := range tests {
		when, notice := p.closedNotice(tt.lang, ams, tt.next, now)
		if when != tt.wantWhen || notice != tt.notice {
			t.Errorf("closedNotice(%s) = %q, %q, want %q, %q", tt.lang, when, notice, tt.wantWhen, tt.notice)
		}
	}
	// The static texts keep a placeholder, not "<no value>".
	for lang, texts := range p.texts {
		if s := texts["visitor.hours.closed"]; !strings.Contains(s, "{when}") {
			t.Errorf("%s static visitor.hours.closed = %q, want the {when} placeholder", lang, s)
		}
	}
}

// TestVisitorPageHours renders the visitor page in each opening state.
func TestVisitorPageHours(t *testing.T) {
	p := mustPages(t)
	alt := hours.Alternatives{Phone: "0800-1234", Email: "advies@example.org", URL: "https://example.org/help"}
	closed := func(d *page) {
		d.Open, d.Alternatives = false, alt
		d.NextOpen, d.ClosedNotice = "Monday 7 December at 09:00", "The chat is closed. It opens again on Monday 7 December at 09:00."
	}
	tests := []struct {
		name      string
		set       func(*page)
		want, not []string
	}{
		{
			name: "closed",
			set:  closed,
			want: []string{
				`data-hours="closed"`,
				"The chat is closed. It opens again on Monday 7 December at 09:00.",
				`<a href="tel:08001234">0800-1234</a>`,
				`<a href="mailto:advies@example.org">advies@example.org</a>`,
				`<a href="https://example.org/help" rel="noreferrer">https://example.org/help</a>`,
				`<fieldset disabled>`,
				`<button id="start" class="primary" type="submit" disabled aria-describedby="hours-text">`,
				`href="tel:112"`,
			},
		},
		{
			name: "closed without alternatives",
			set:  func(d *page) { closed(d); d.Alternatives = hours.Alternatives{} },
			want: []string{`data-hours="closed"`, `disabled aria-describedby="hours-text"`},
			not:  []string{`class="alternatives"`, "<p>You can also reach us"},
		},
		{
			name: "open, nobody on duty",
			set:  func(d *page) { d.AdvisorsOnDuty, d.Alternatives = false, alt },
			want: []string{`data-hours="no-advisor"`, "No advisor is available right now.", `href="tel:08001234"`, `<button id="start" class="primary" type="submit">`},
			not:  []string{"disabled"},
		},
		{
			name: "open, advisors on duty",
			set:  func(d *page) { d.Alternatives = alt },
			// The other ways to get help are in the page for the busy and
			// long-wait states, hidden; the hours notice is not.
			want: []string{`<button id="start" class="primary" type="submit">`, `href="tel:112"`},
			not:  []string{`id="hours"`, "disabled"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.data("en")
			tt.set(&d)
			b, err := p.html("visitor.html", d)
			if err != nil {
				t.Fatal(err)
			}
			html := string(b)
			for _, w := range tt.want {
				if !strings.Contains(html, w) {
					t.Errorf("page lacks %s", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(html, n) {
					t.Errorf("page has %s", n)
				}
			}
			if !strings.HasSuffix(html, "</html>\n") {
				t.Errorf("page ends in %q", html[max(0, len(html)-40):])
			}
		})
	}
}
