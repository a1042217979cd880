package hours

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// office is open on weekdays, late on Monday into Tuesday night, closed
// at Christmas and half a day on Christmas Eve.
const office = `{
  "time_zone": "Europe/Amsterdam",
  "weekly": {
    "monday": [["19:00", "24:00"], ["09:00", "17:00"]],
    "tuesday": [["00:00", "02:00"], ["09:00", "17:00"]],
    "wednesday": [["09:00", "17:00"]],
    "thursday": [["09:00", "17:00"]],
    "friday": [["09:00", "12:00"], ["12:00", "17:00"]],
    "saturday": []
  },
  "closed": ["2026-12-25", "2026-12-28"],
  "exceptions": {"2026-12-24": [["09:00", "13:00"]], "2026-12-27": [["10:00", "12:00"]]},
  "alternatives": {"phone": "0800-1234", "email": "advies@example.org", "url": "https://example.org/help"}
}`

// night is open every Sunday 01:00-04:00: both clock changes in
// Europe/Amsterdam fall inside it.
const night = `{
  "weekly": {"sunday": [["01:00", "04:00"]]},
  "exceptions": {"2027-03-28": [["02:30", "04:00"]], "2027-10-31": [["02:30", "02:45"]]}
}`

func mustHours(tb testing.TB, js string) *Hours {
	tb.Helper()
	h, err := Parse([]byte(js))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return h
}

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// local is a wall-clock time in Amsterdam (never one in a clock change).
func local(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, amsterdam)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func utc(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestHoursOpen(t *testing.T) {
	h := mustHours(t, office)
	tests := []struct {
		name string
		at   string // Amsterdam wall clock
		want bool
	}{
		{"before opening", "2026-12-01 08:59:59", false},
		{"opening minute", "2026-12-01 09:00:00", true},
		{"last second", "2026-12-01 16:59:59", true},
		{"end is exclusive", "2026-12-01 17:00:00", false},
		{"between ranges", "2026-11-30 18:30:00", false},
		{"Monday evening", "2026-11-30 19:00:00", true},
		{"just before midnight", "2026-11-30 23:59:59", true},
		{"midnight, Tuesday", "2026-12-01 00:00:00", true},
		{"Tuesday night", "2026-12-01 01:59:59", true},
		{"Tuesday night over", "2026-12-01 02:00:00", false},
		{"Wednesday midnight (Tuesday has no 24:00)", "2026-12-02 00:00:00", false},
		{"touching ranges, first", "2026-12-04 11:59:59", true},
		{"touching ranges, second", "2026-12-04 12:00:00", true},
		{"Saturday, empty list", "2026-12-05 12:00:00", false},
		{"Sunday, not listed", "2026-12-06 12:00:00", false},
		{"Christmas Eve exception morning", "2026-12-24 12:59:00", true},
		{"Christmas Eve exception afternoon", "2026-12-24 14:00:00", false},
		{"Christmas Day closed", "2026-12-25 10:00:00", false},
		{"exception on a Sunday", "2026-12-27 11:00:00", true},
		{"closed Monday morning", "2026-12-28 10:00:00", false},
		// closed is the whole local day: Monday 19:00-24:00 is gone too, but
		// Tuesday's 00:00-02:00 is Tuesday's.
		{"closed Monday evening", "2026-12-28 20:00:00", false},
		{"Tuesday after closed Monday", "2026-12-29 01:00:00", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := local(t, tt.at)
			if got := h.Open(at); got != tt.want {
				t.Errorf("Open(%s) = %v, want %v", at, got, tt.want)
			}
			// The same instant in another zone is the same answer.
			if got := h.Open(at.UTC()); got != tt.want {
				t.Errorf("Open(%s) = %v, want %v", at.UTC(), got, tt.want)
			}
		})
	}
}

func TestHoursNextOpen(t *testing.T) {
	h := mustHours(t, office)
	tests := []struct {
		name, at, want string // Amsterdam wall clock
	}{
		{"open now is now", "2026-12-01 10:30:15", "2026-12-01 10:30:15"},
		{"early morning", "2026-12-02 07:00:00", "2026-12-02 09:00:00"},
		{"after closing", "2026-12-02 17:00:00", "2026-12-03 09:00:00"},
		{"Monday gap to evening", "2026-11-30 17:30:00", "2026-11-30 19:00:00"},
		{"across the weekend", "2026-12-04 17:00:00", "2026-12-07 09:00:00"},
		{"Saturday", "2026-12-05 03:00:00", "2026-12-07 09:00:00"},
		{"Tuesday night over", "2026-12-01 02:00:00", "2026-12-01 09:00:00"},
		{"Christmas Eve afternoon to the Sunday exception", "2026-12-24 13:00:00", "2026-12-27 10:00:00"},
		{"past the closed Monday", "2026-12-27 12:00:00", "2026-12-29 00:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, want := local(t, tt.at), local(t, tt.want)
			got, ok := h.NextOpen(at)
			if !ok || !got.Equal(want) {
				t.Errorf("NextOpen(%s) = %s, %v, want %s, true", at, got, ok, want)
			}
			if got.Location().String() != "Europe/Amsterdam" {
				t.Errorf("NextOpen(%s) is in %s, want the schedule's zone", at, got.Location())
			}
		})
	}
}

func TestHoursNeverOpen(t *testing.T) {
	h := mustHours(t, `{"weekly": {}, "exceptions": {"2026-06-20": [["09:00", "10:00"]]}}`)
	at := local(t, "2026-06-01 09:00:00")
	if got, ok := h.NextOpen(at); ok {
		t.Errorf("NextOpen(%s) = %s, true, want false (opens after 14 days)", at, got)
	}
	at = local(t, "2026-06-10 09:00:00")
	if got, ok := h.NextOpen(at); !ok || !got.Equal(local(t, "2026-06-20 09:00:00")) {
		t.Errorf("NextOpen(%s) = %s, %v, want 2026-06-20 09:00, true", at, got, ok)
	}
}

func TestHoursNil(t *testing.T) {
	var h *Hours
	now := time.Now()
	if !h.Open(now) {
		t.Error("nil Hours: Open = false, want always open")
	}
	if got, ok := h.NextOpen(now); !ok || !got.Equal(now) {
		t.Errorf("nil Hours: NextOpen = %s, %v, want now, true", got, ok)
	}
	if h.Alternatives().Any() {
		t.Error("nil Hours has alternatives")
	}
}

// TestHoursDST checks the wall-clock rule on both clock changes of 2026 in
// Europe/Amsterdam: 02:00 CET becomes 03:00 CEST on 29 March, 03:00 CEST
// becomes 02:00 CET on 25 October.
func TestHoursDST(t *testing.T) {
	h := mustHours(t, night)
	tests := []struct {
		name string
		at   string // UTC
		want bool
	}{
		{"spring: 00:59 CET", "2026-03-28 23:59:00", false},
		{"spring: 01:00 CET", "2026-03-29 00:00:00", true},
		{"spring: 01:59 CET", "2026-03-29 00:59:59", true},
		{"spring: 03:00 CEST, right after the jump", "2026-03-29 01:00:00", true},
		{"spring: 03:59 CEST", "2026-03-29 01:59:59", true},
		{"spring: 04:00 CEST", "2026-03-29 02:00:00", false},
		{"autumn: 00:59 CEST", "2026-10-24 22:59:00", false},
		{"autumn: 01:00 CEST", "2026-10-24 23:00:00", true},
		{"autumn: first 02:30 CEST", "2026-10-25 00:30:00", true},
		{"autumn: second 02:30 CET", "2026-10-25 01:30:00", true},
		{"autumn: 03:59 CET", "2026-10-25 02:59:59", true},
		{"autumn: 04:00 CET", "2026-10-25 03:00:00", false},
		{"2027 spring: range starts in the skipped hour, 01:59 CET", "2027-03-28 00:59:00", false},
		{"2027 spring: opens at 03:00 CEST", "2027-03-28 01:00:00", true},
		{"2027 autumn: first 02:30-02:45", "2027-10-31 00:30:00", true},
		{"2027 autumn: between the two", "2027-10-31 00:50:00", false},
		{"2027 autumn: second 02:30-02:45", "2027-10-31 01:44:00", true},
		{"2027 autumn: after the second", "2027-10-31 01:45:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := utc(t, tt.at)
			if got := h.Open(at); got != tt.want {
				t.Errorf("Open(%s) = %v, want %v", at.In(amsterdam), got, tt.want)
			}
		})
	}

	durations := []struct {
		name     string
		from, to string // UTC
		want     time.Duration
	}{
		{"spring-forward night", "2026-03-28 12:00:00", "2026-03-29 12:00:00", 2 * time.Hour},
		{"fall-back night", "2026-10-24 12:00:00", "2026-10-25 12:00:00", 4 * time.Hour},
		{"ordinary Sunday", "2026-05-02 12:00:00", "2026-05-03 12:00:00", 3 * time.Hour},
		{"2027 spring, range from inside the gap", "2027-03-27 12:00:00", "2027-03-28 12:00:00", time.Hour},
		{"2027 autumn, repeated quarter", "2027-10-30 12:00:00", "2027-10-31 12:00:00", 30 * time.Minute},
	}
	for _, tt := range durations {
		if got := openFor(h, utc(t, tt.from), utc(t, tt.to)); got != tt.want {
			t.Errorf("%s: open for %s, want %s", tt.name, got, tt.want)
		}
	}

	next := []struct {
		name, at, want string // UTC
	}{
		{"spring", "2026-03-28 20:00:00", "2026-03-29 00:00:00"},
		{"autumn", "2026-10-24 20:00:00", "2026-10-24 23:00:00"},
		{"2027 spring: the first minute that exists", "2027-03-27 20:00:00", "2027-03-28 01:00:00"},
		{"2027 autumn: the first 02:30", "2027-10-30 20:00:00", "2027-10-31 00:30:00"},
		{"2027 autumn: the second 02:30", "2027-10-31 00:45:00", "2027-10-31 01:30:00"},
	}
	for _, tt := range next {
		at, want := utc(t, tt.at), utc(t, tt.want)
		if got, ok := h.NextOpen(at); !ok || !got.Equal(want) {
			t.Errorf("%s: NextOpen(%s) = %s, %v, want %s", tt.name, at, got, ok, want.In(amsterdam))
		}
	}
}

// openFor adds up, minute by minute, how long the chat is open in [from, to).
func openFor(h *Hours, from, to time.Time) time.Duration {
	var d time.Duration
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		if h.Open(t) {
			d += time.Minute
		}
	}
	return d
}

// TestHoursNextOpenMatchesOpen compares NextOpen with a minute-by-minute
// scan of Open over weeks with a clock change, midnight ranges and
// holidays.
func TestHoursNextOpenMatchesOpen(t *testing.T) {
	for _, tc := range []struct {
		name     string
		js       string
		from, to string // UTC
	}{
		{"office, Christmas", office, "2026-12-18 00:00:00", "2027-01-08 00:00:00"},
		{"office, autumn", office, "2026-10-17 00:00:00", "2026-11-07 00:00:00"},
		{"night, spring", night, "2026-03-20 00:00:00", "2026-04-10 00:00:00"},
		{"night, 2027 autumn", night, "2027-10-22 00:00:00", "2027-11-12 00:00:00"},
	} {
		h := mustHours(t, tc.js)
		from, to := utc(t, tc.from), utc(t, tc.to)
		var next time.Time // the first open minute after t, going backwards
		for at := to.Add(-time.Minute); !at.Before(from); at = at.Add(-time.Minute) {
			if h.Open(at) {
				next = at
			}
			if next.IsZero() || next.Sub(at) > lookAhead {
				continue
			}
			got, ok := h.NextOpen(at)
			if !ok || !got.Equal(next) {
				t.Fatalf("%s: NextOpen(%s) = %s, %v, want %s (scan of Open)", tc.name, at.In(amsterdam), got, ok, next.In(amsterdam))
			}
		}
	}
}

func TestParseHoursErrors(t *testing.T) {
	tests := []struct {
		name, js, want string
	}{
		{"not JSON", `{"weekly":`, "not a JSON object"},
		{"not an object", `[1]`, "not a JSON object"},
		{"unknown setting", `{"weekly": {}, "timezone": "UTC"}`, "timezone: unknown setting"},
		{"no weekly", `{"closed": []}`, "weekly: missing"},
		{"weekly not an object", `{"weekly": []}`, "weekly: want an object"},
		{"unknown day", `{"weekly": {"mondy": []}}`, "weekly.mondy: unknown day"},
		{"day in capitals", `{"weekly": {"Monday": []}}`, "weekly.Monday: unknown day"},
		{"day not a list", `{"weekly": {"monday": "09:00-17:00"}}`, "weekly.monday: want a list"},
		{"range of one", `{"weekly": {"monday": [["09:00"]]}}`, "weekly.monday[0]: want two times"},
		{"range of three", `{"weekly": {"monday": [["09:00", "10:00", "11:00"]]}}`, "weekly.monday[0]: want two times"},
		{"bad start", `{"weekly": {"monday": [["9:00", "17:00"]]}}`, `weekly.monday[0]: start "9:00" is not a time`},
		{"bad end", `{"weekly": {"monday": [["09:00", "17:60"]]}}`, `weekly.monday[0]: end "17:60" is not a time`},
		{"hour 25", `{"weekly": {"monday": [["25:00", "26:00"]]}}`, `weekly.monday[0]: start "25:00"`},
		{"24:00 as start", `{"weekly": {"monday": [["24:00", "24:00"]]}}`, "weekly.monday[0]: start \"24:00\": 24:00 can only end a range"},
		{"24:30", `{"weekly": {"monday": [["09:00", "24:30"]]}}`, `weekly.monday[0]: end "24:30" is not a time`},
		{"inverted", `{"weekly": {"monday": [["17:00", "09:00"]]}}`, "weekly.monday[0]: 17:00-09:00 ends before it starts"},
		{"empty range", `{"weekly": {"monday": [["09:00", "09:00"]]}}`, "weekly.monday[0]: 09:00-09:00 ends before it starts"},
		{"over midnight in one", `{"weekly": {"friday": [["22:00", "02:00"]]}}`, "weekly.friday[0]: 22:00-02:00 ends before it starts"},
		{"overlap", `{"weekly": {"monday": [["09:00", "17:00"], ["12:00", "13:00"]]}}`, "weekly.monday[1]: overlaps weekly.monday[0]"},
		{"overlap out of order", `{"weekly": {"tuesday": [["13:00", "18:00"], ["09:00", "13:30"]]}}`, "weekly.tuesday[1]: overlaps weekly.tuesday[0]"},
		{"unknown zone", `{"time_zone": "Europe/Amsterdm", "weekly": {}}`, `time_zone: unknown time zone "Europe/Amsterdm"`},
		{"Local zone", `{"time_zone": "Local", "weekly": {}}`, `time_zone: "Local" is not a time zone name`},
		{"empty zone", `{"time_zone": "", "weekly": {}}`, `time_zone: "" is not a time zone name`},
		{"zone not a string", `{"time_zone": 1, "weekly": {}}`, "time_zone: want a string"},
		{"closed not a list", `{"weekly": {}, "closed": "2026-12-25"}`, "closed: want a list of dates"},
		{"bad closed date", `{"weekly": {}, "closed": ["2026-12-25", "2026-02-30"]}`, `closed[1]: "2026-02-30" is not a date`},
		{"closed date in other format", `{"weekly": {}, "closed": ["25-12-2026"]}`, `closed[0]: "25-12-2026" is not a date`},
		{"exceptions not an object", `{"weekly": {}, "exceptions": []}`, "exceptions: want an object"},
		{"bad exception date", `{"weekly": {}, "exceptions": {"2026-13-01": []}}`, `exceptions.2026-13-01: "2026-13-01" is not a date`},
		{"bad exception range", `{"weekly": {}, "exceptions": {"2026-12-24": [["13:00", "09:00"]]}}`, "exceptions.2026-12-24[0]: 13:00-09:00 ends before it starts"},
		{"exception and closed", `{"weekly": {}, "closed": ["2026-12-24"], "exceptions": {"2026-12-24": []}}`, "exceptions.2026-12-24: the date is also in closed"},
		{"alternatives not an object", `{"weekly": {}, "alternatives": "call us"}`, "alternatives: want an object"},
		{"unknown alternative", `{"weekly": {}, "alternatives": {"fax": "123"}}`, "alternatives.fax: unknown setting"},
		{"alternative not a string", `{"weekly": {}, "alternatives": {"phone": 8001234}}`, "alternatives.phone: want a string"},
		{"bad phone", `{"weekly": {}, "alternatives": {"phone": "call 0800"}}`, `alternatives.phone: "call 0800" is not a phone number`},
		{"bad email", `{"weekly": {}, "alternatives": {"email": "advies at example.org"}}`, "alternatives.email: "},
		{"email with name", `{"weekly": {}, "alternatives": {"email": "Advies <advies@example.org>"}}`, "alternatives.email: "},
		{"javascript url", `{"weekly": {}, "alternatives": {"url": "javascript:alert(1)"}}`, "alternatives.url: "},
		{"relative url", `{"weekly": {}, "alternatives": {"url": "/help"}}`, "alternatives.url: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse([]byte(tt.js))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%s) = %v, %v, want an error containing %q", tt.js, h, err, tt.want)
			}
		})
	}
}

func TestLoadHours(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hours.json")
	if err := os.WriteFile(path, []byte(office), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if h.Location().String() != "Europe/Amsterdam" {
		t.Errorf("Location() = %s, want Europe/Amsterdam", h.Location())
	}
	want := Alternatives{Phone: "0800-1234", Email: "advies@example.org", URL: "https://example.org/help"}
	if got := h.Alternatives(); got != want {
		t.Errorf("Alternatives() = %+v, want %+v", got, want)
	}
	if got := want.Tel(); got != "08001234" {
		t.Errorf("Tel() = %q, want 08001234", got)
	}
	if got := (Alternatives{Phone: "+31 20 123 45 67"}).Tel(); got != "+31201234567" {
		t.Errorf("Tel() = %q, want +31201234567", got)
	}
	// Without time_zone, the default.
	if got := mustHours(t, night).Location().String(); got != DefaultTimeZone {
		t.Errorf("default zone = %s, want %s", got, DefaultTimeZone)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("Load(missing file) = nil error")
	}
}
