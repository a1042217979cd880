package web

import (
	"context"
	"fmt"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// hoursState fills in the visitor page's opening state: closed (with the
// next opening and the alternatives), or open with or without an advisor
// on duty. Nobody on duty does not stop a start: the visitor may wait,
// and the page says so.
func (s *Server) hoursState(ctx context.Context, d *page) {
	now := s.now()
	d.Alternatives = s.hours.Alternatives()
	d.Open = s.hours.Open(now)
	if !d.Open {
		d.NextOpen, d.ClosedNotice = s.pages.closedNotice(d.Lang, s.hours.Location(), s.hours.NextOpen, now)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	onDuty, _, err := s.queue.Counts(ctx)
	if err != nil {
		// The page still works; it only cannot warn about the wait.
		s.log.Warn("count advisors on duty", "err", err)
		return
	}
	d.AdvisorsOnDuty = onDuty > 0
}

// closedNotice says, in lang, that the chat is closed and when it opens
// again, as a wall-clock time in the schedule's zone.
func (p *pages) closedNotice(lang string, loc *time.Location, next func(time.Time) (time.Time, bool), now time.Time) (when, notice string) {
	id := "visitor.hours.closed_for_now"
	at, ok := next(now)
	if ok {
		id = "visitor.hours.closed"
		when = formatOpening(at.In(loc), lang)
	}
	l := p.localizers[lang]
	if l == nil {
		l = p.localizers[defaultLanguage]
	}
	notice, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: map[string]any{"When": when}})
	if err != nil {
		// The locale tests make this unreachable; a bare time beats no page.
		return when, when
	}
	return when, notice
}

// dateWords are the names a date is written with, per language.
type dateWords struct {
	weekdays [7]string  // Sunday first, as time.Weekday
	months   [12]string // January first
	at       string     // between date and time
}

var dateNames = map[string]dateWords{
	"en": {
		weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		months:   [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		at:       "at",
	},
	"nl": {
		weekdays: [7]string{"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"},
		months:   [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		at:       "om",
	},
	"ar": {
		weekdays: [7]string{"الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت"},
		months:   [12]string{"يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"},
		at:       "الساعة",
	},
	"tr": {
		weekdays: [7]string{"Pazar", "Pazartesi", "Salı", "Çarşamba", "Perşembe", "Cuma", "Cumartesi"},
		months:   [12]string{"Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık"},
		at:       "saat",
	},
	// Polish and Ukrainian write the month of a date in the genitive.
	"pl": {
		weekdays: [7]string{"niedziela", "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota"},
		months:   [12]string{"stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września", "października", "listopada", "grudnia"},
		at:       "o",
	},
	"uk": {
		weekdays: [7]string{"неділя", "понеділок", "вівторок", "середа", "четвер", "пʼятниця", "субота"},
		months:   [12]string{"січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня", "жовтня", "листопада", "грудня"},
		at:       "о",
	},
}

// formatOpening writes t as "Monday 7 December at 09:00" or "maandag 7
// december om 09:00"; a language without names gets "2026-12-07 09:00".
func formatOpening(t time.Time, lang string) string {
	w, ok := dateNames[lang]
	if !ok {
		return t.Format("2006-01-02 15:04")
	}
	return fmt.Sprintf("%s %d %s %s %s", w.weekdays[t.Weekday()], t.Day(), w.months[t.Month()-1], w.at, t.Format("15:04"))
}
