// Package hours reads the helpline's opening hours (a weekly schedule,
// days closed, days with their own hours, and the other ways to get help)
// and answers whether the chat is open and when it opens next. It has no
// ties to routing: every instance reads the same file and decides from its
// own clock.
package hours

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultTimeZone is the zone of an hours file without time_zone.
const DefaultTimeZone = "Europe/Amsterdam"

// lookAhead bounds NextOpen: a chat closed for longer says only "closed".
const lookAhead = 14 * 24 * time.Hour

// Hours are the opening hours: a weekly schedule, days closed and days
// with their own hours, all as wall-clock times in one time zone. A nil
// *Hours is always open.
type Hours struct {
	loc        *time.Location
	weekly     [7][]span // by time.Weekday
	closed     map[civilDate]bool
	exceptions map[civilDate][]span
	alt        Alternatives
}

// Alternatives are the other ways to get help, shown while the chat is
// closed or nobody is on duty. Any of them may be empty.
type Alternatives struct {
	Phone string
	Email string
	URL   string
}

// Tel is the phone number as a tel: URI path: a leading + and the digits.
func (a Alternatives) Tel() string {
	var b strings.Builder
	for i, r := range a.Phone {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Any reports whether there is at least one alternative.
func (a Alternatives) Any() bool { return a.Phone != "" || a.Email != "" || a.URL != "" }

// span is a half-open range of wall-clock minutes since local midnight;
// to may be 24*60.
type span struct{ from, to int }

type civilDate struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

var dayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday,
	"saturday": time.Saturday,
}

// Load reads an hours file (format in docs/operations.md).
func Load(path string) (*Hours, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses the JSON of an hours file. An error names the field,
// e.g. "weekly.mondy: unknown day".
func Parse(data []byte) (*Hours, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if top == nil {
		return nil, errors.New("not a JSON object")
	}
	for _, k := range sortedKeys(top) {
		switch k {
		case "time_zone", "weekly", "closed", "exceptions", "alternatives":
		default:
			return nil, fmt.Errorf("%s: unknown setting (known: time_zone, weekly, closed, exceptions, alternatives)", k)
		}
	}
	h := &Hours{closed: map[civilDate]bool{}, exceptions: map[civilDate][]span{}}

	zone := DefaultTimeZone
	if raw, ok := top["time_zone"]; ok {
		if err := json.Unmarshal(raw, &zone); err != nil {
			return nil, errors.New("time_zone: want a string like \"Europe/Amsterdam\"")
		}
	}
	// "" and "Local" would follow the host, which is not a schedule.
	if zone == "" || zone == "Local" {
		return nil, fmt.Errorf("time_zone: %q is not a time zone name like \"Europe/Amsterdam\"", zone)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("time_zone: unknown time zone %q", zone)
	}
	h.loc = loc

	raw, ok := top["weekly"]
	if !ok {
		return nil, errors.New("weekly: missing (days not listed are closed; list at least one)")
	}
	var weekly map[string]json.RawMessage
	if err := json.Unmarshal(raw, &weekly); err != nil || weekly == nil {
		return nil, errors.New("weekly: want an object of days, e.g. {\"monday\": [[\"09:00\", \"17:00\"]]}")
	}
	for _, k := range sortedKeys(weekly) {
		day, ok := dayNames[k]
		if !ok {
			return nil, fmt.Errorf("weekly.%s: unknown day (monday ... sunday, in lower case)", k)
		}
		spans, err := parseSpans("weekly."+k, weekly[k])
		if err != nil {
			return nil, err
		}
		h.weekly[day] = spans
	}

	if raw, ok := top["closed"]; ok {
		var days []string
		if err := json.Unmarshal(raw, &days); err != nil {
			return nil, errors.New("closed: want a list of dates like \"2026-12-25\"")
		}
		for i, s := range days {
			d, err := parseDate(s)
			if err != nil {
				return nil, fmt.Errorf("closed[%d]: %w", i, err)
			}
			h.closed[d] = true
		}
	}

	if raw, ok := top["exceptions"]; ok {
		var ex map[string]json.RawMessage
		if err := json.Unmarshal(raw, &ex); err != nil || ex == nil {
			return nil, errors.New("exceptions: want an object of dates, e.g. {\"2026-12-24\": [[\"09:00\", \"13:00\"]]}")
		}
		for _, k := range sortedKeys(ex) {
			d, err := parseDate(k)
			if err != nil {
				return nil, fmt.Errorf("exceptions.%s: %w", k, err)
			}
			if h.closed[d] {
				return nil, fmt.Errorf("exceptions.%s: the date is also in closed; keep one", k)
			}
			spans, err := parseSpans("exceptions."+k, ex[k])
			if err != nil {
				return nil, err
			}
			h.exceptions[d] = spans
		}
	}

	if raw, ok := top["alternatives"]; ok {
		alt, err := parseAlternatives(raw)
		if err != nil {
			return nil, err
		}
		h.alt = alt
	}
	return h, nil
}

func parseAlternatives(raw json.RawMessage) (Alternatives, error) {
	var m map[string]json.RawMessage
	var a Alternatives
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return a, errors.New("alternatives: want an object with phone, email and/or url")
	}
	for _, k := range sortedKeys(m) {
		var v string
		if err := json.Unmarshal(m[k], &v); err != nil {
			return a, fmt.Errorf("alternatives.%s: want a string", k)
		}
		v = strings.TrimSpace(v)
		switch k {
		case "phone":
			if strings.Trim(v, "+0123456789 -()") != "" || len(Alternatives{Phone: v}.Tel()) < 3 {
				return a, fmt.Errorf("alternatives.phone: %q is not a phone number", v)
			}
			a.Phone = v
		case "email":
			addr, err := mail.ParseAddress(v)
			if err != nil || addr.Address != v {
				return a, fmt.Errorf("alternatives.email: %q is not an e-mail address", v)
			}
			a.Email = v
		case "url":
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return a, fmt.Errorf("alternatives.url: %q is not an http(s) URL", v)
			}
			a.URL = v
		default:
			return a, fmt.Errorf("alternatives.%s: unknown setting (known: phone, email, url)", k)
		}
	}
	return a, nil
}

// parseSpans reads a list of ["HH:MM","HH:MM"] ranges, sorted, and refuses
// inverted and overlapping ones. Touching ranges are fine.
func parseSpans(field string, raw json.RawMessage) ([]span, error) {
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil || pairs == nil {
		return nil, fmt.Errorf("%s: want a list of [\"HH:MM\", \"HH:MM\"] ranges (an empty list for closed)", field)
	}
	type item struct {
		span
		i int
	}
	items := make([]item, 0, len(pairs))
	for i, p := range pairs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(p) != 2 {
			return nil, fmt.Errorf("%s: want two times, [\"HH:MM\", \"HH:MM\"]", f)
		}
		from, err := parseClock(p[0], false)
		if err != nil {
			return nil, fmt.Errorf("%s: start %w", f, err)
		}
		to, err := parseClock(p[1], true)
		if err != nil {
			return nil, fmt.Errorf("%s: end %w", f, err)
		}
		if to <= from {
			return nil, fmt.Errorf("%s: %s-%s ends before it starts (write a range past midnight as two: ...-24:00 and 00:00-...)", f, p[0], p[1])
		}
		items = append(items, item{span{from, to}, i})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].from < items[b].from })
	out := make([]span, len(items))
	for k, it := range items {
		if k > 0 && it.from < items[k-1].to {
			prev := items[k-1]
			a, b := min(prev.i, it.i), max(prev.i, it.i)
			return nil, fmt.Errorf("%s[%d]: overlaps %s[%d]", field, b, field, a)
		}
		out[k] = it.span
	}
	return out, nil
}

// parseClock reads "HH:MM" as minutes since midnight; 24:00 only as an end.
func parseClock(s string, end bool) (int, error) {
	bad := fmt.Errorf("%q is not a time HH:MM", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	switch {
	case h == 24 && m == 0 && end:
		return 24 * 60, nil
	case h == 24 && m == 0:
		return 0, fmt.Errorf("%q: 24:00 can only end a range", s)
	case h > 23 || m > 59:
		return 0, bad
	}
	return h*60 + m, nil
}

func parseDate(s string) (civilDate, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return civilDate{}, fmt.Errorf("%q is not a date YYYY-MM-DD", s)
	}
	return dateOf(t), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Location is the time zone the hours are in (UTC for nil Hours).
func (h *Hours) Location() *time.Location {
	if h == nil {
		return time.UTC
	}
	return h.loc
}

// Alternatives are the configured other ways to get help.
func (h *Hours) Alternatives() Alternatives {
	if h == nil {
		return Alternatives{}
	}
	return h.alt
}

// spans are the opening ranges of a local date: closed beats exceptions
// beat the weekly schedule.
func (h *Hours) spans(d civilDate) []span {
	if h.closed[d] {
		return nil
	}
	if s, ok := h.exceptions[d]; ok {
		return s
	}
	return h.weekly[time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Weekday()]
}

// Open reports whether the chat is open at t. Ranges are wall-clock times:
// on the night clocks go forward, 01:00-04:00 lasts two hours; on the
// night they go back, four.
func (h *Hours) Open(t time.Time) bool {
	if h == nil {
		return true
	}
	lt := t.In(h.loc)
	minute := lt.Hour()*60 + lt.Minute()
	for _, s := range h.spans(dateOf(lt)) {
		if s.from <= minute && minute < s.to {
			return true
		}
	}
	return false
}

// NextOpen returns the first instant at or after t at which the chat is
// open (t itself when it is open), and false when it does not open within
// the next 14 days.
func (h *Hours) NextOpen(t time.Time) (time.Time, bool) {
	if h == nil {
		return t, true
	}
	limit := t.Add(lookAhead)
	// Walk the stretches of constant UTC offset: inside one, wall clock
	// and instant move together, so each range is one interval. Clock
	// changes fall between stretches, which handles the hour that is
	// skipped or repeated.
	for start := t; start.Before(limit); {
		lt := start.In(h.loc)
		name, offset := lt.Zone()
		_, end := lt.ZoneBounds()
		if end.IsZero() || end.After(limit) {
			end = limit
		}
		zone := time.FixedZone(name, offset)
		first := dateOf(start.In(zone))
		last := dateOf(end.In(zone))
		for d := first; ; d = nextDate(d) {
			for _, s := range h.spans(d) {
				from := time.Date(d.y, d.m, d.d, 0, s.from, 0, 0, zone)
				to := time.Date(d.y, d.m, d.d, 0, s.to, 0, 0, zone)
				if from.Before(start) {
					from = start
				}
				if from.Before(to) && from.Before(end) {
					return from.In(h.loc), true
				}
			}
			if d == last {
				break
			}
		}
		start = end
	}
	return time.Time{}, false
}

func nextDate(d civilDate) civilDate {
	return dateOf(time.Date(d.y, d.m, d.d+1, 12, 0, 0, 0, time.UTC))
}
