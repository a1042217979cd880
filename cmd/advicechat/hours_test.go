package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/web/protocol"
)

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

// writeHours writes an hours file and returns its path.
func writeHours(tb testing.TB, hours map[string]any) string {
	tb.Helper()
	b, err := json.Marshal(hours)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "hours.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// day is the Amsterdam date n days from today.
func day(n int) string {
	return time.Now().In(amsterdam).AddDate(0, 0, n).Format(time.DateOnly)
}

var allWeek = map[string]any{
	"monday": [][]string{{"09:00", "17:00"}}, "tuesday": [][]string{{"09:00", "17:00"}},
	"wednesday": [][]string{{"09:00", "17:00"}}, "thursday": [][]string{{"09:00", "17:00"}},
	"friday": [][]string{{"09:00", "17:00"}}, "saturday": [][]string{{"09:00", "17:00"}},
	"sunday": [][]string{{"09:00", "17:00"}},
}

var alternatives = map[string]string{"phone": "0800-1234", "email": "advies@example.org", "url": "https://example.org/help"}

func getPage(t *testing.T, a *app, path string) string {
	t.Helper()
	resp, err := http.Get(a.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", path, resp.StatusCode, err)
	}
	return string(b)
}

// TestClosed runs the service on a schedule that is closed now: the page
// says so with the next opening time and the other ways to get help, its
// start button is disabled, and a start over the socket is refused.
func TestClosed(t *testing.T) {
	// Closed from yesterday to the day after tomorrow (a test running over
	// midnight still sees a closed day), then a half morning.
	opens := day(3)
	hours := writeHours(t, map[string]any{
		"time_zone":    "Europe/Amsterdam",
		"weekly":       allWeek,
		"closed":       []string{day(-1), day(0), day(1), day(2)},
		"exceptions":   map[string]any{opens: [][]string{{"10:30", "12:00"}}},
		"alternatives": alternatives,
	})
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": hours})
	// An advisor on duty does not open a closed chat.
	onDutyAdvisor(t, a, "anna")

	at, err := time.ParseInLocation(time.DateOnly+" 15:04", opens+" 10:30", amsterdam)
	if err != nil {
		t.Fatal(err)
	}
	en := getPage(t, a, "/?lang=en")
	for _, want := range []string{
		`data-hours="closed"`,
		"The chat is closed. It opens again on " + at.Format("Monday 2 January") + " at 10:30.",
		`<a href="tel:08001234">0800-1234</a>`,
		`<a href="mailto:advies@example.org">advies@example.org</a>`,
		`<a href="https://example.org/help" rel="noreferrer">https://example.org/help</a>`,
		`href="tel:112"`, // the emergency notice stays
		`<button id="start" class="primary" type="submit" disabled`,
	} {
		if !strings.Contains(en, want) {
			t.Errorf("GET /?lang=en lacks %s", want)
		}
	}
	nl := getPage(t, a, "/?lang=nl")
	for _, want := range []string{"De chat is gesloten. We zijn er weer op ", " om 10:30.", `href="tel:08001234"`} {
		if !strings.Contains(nl, want) {
			t.Errorf("GET /?lang=nl lacks %s", want)
		}
	}

	v := a.visitor(t)
	v.send(protocol.Start{Type: protocol.TypeStart, Audience: "public", Lang: "en"})
	f := v.expectType("error")
	if f.str("code") != "closed" || !strings.Contains(f.str("message"), "opens again at "+at.Format(time.RFC3339)) {
		t.Errorf("start while closed = %v, want error closed naming %s", f, at.Format(time.RFC3339))
	}
	// The socket stays open and still refuses: nothing was started.
	v.send(protocol.Message{Type: protocol.TypeMessage, ID: "m1", Text: "hello"})
	v.expect("not_started", isError("not_started"))
	for _, k := range a.Redis.Keys(t) {
		if strings.Contains(k, "{c:") {
			t.Errorf("a refused start stored %s", k)
		}
	}
}

// TestOpenByException runs the service on a schedule that is open now
// only through an exception: a start works. With nobody on duty the page
// says so but still lets the visitor start and wait.
func TestOpenByException(t *testing.T) {
	allDay := [][]string{{"00:00", "24:00"}}
	hours := writeHours(t, map[string]any{
		"weekly":       map[string]any{},
		"exceptions":   map[string]any{day(-1): allDay, day(0): allDay, day(1): allDay},
		"alternatives": alternatives,
	})
	a := startApp(t, map[string]string{"ADVICECHAT_HOURS": hours})

	page := getPage(t, a, "/?lang=en")
	for _, want := range []string{`data-hours="no-advisor"`, "No advisor is available right now.", `href="tel:08001234"`, `<button id="start" class="primary" type="submit">`} {
		if !strings.Contains(page, want) {
			t.Errorf("GET / with nobody on duty lacks %s", want)
		}
	}
	v, _, _ := startConversation(t, a, "public")
	v.expect("waiting", isState("waiting"))

	adv, _ := onDutyAdvisor(t, a, "bram")
	v.expect("active", isState("active"))
	adv.expectType("assigned")
	page = getPage(t, a, "/?lang=en")
	if strings.Contains(page, `id="hours"`) || strings.Contains(page, "disabled") {
		t.Errorf("GET / while open with an advisor on duty shows an hours notice or a disabled control")
	}
}

// TestBadHoursFile: a broken hours file stops the start with exit code 2
// and a message that names the variable and the field.
func TestBadHoursFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, path, want string
	}{
		{"unknown day", write("day.json", `{"weekly": {"mondy": [["09:00", "17:00"]]}}`), "ADVICECHAT_HOURS: weekly.mondy: unknown day"},
		{"unknown zone", write("zone.json", `{"time_zone": "Europe/Amsterdm", "weekly": {}}`), `ADVICECHAT_HOURS: time_zone: unknown time zone "Europe/Amsterdm"`},
		{"unknown setting", write("key.json", `{"weekly": {}, "holidays": []}`), "ADVICECHAT_HOURS: holidays: unknown setting"},
		{"overlap", write("overlap.json", `{"weekly": {"friday": [["09:00", "17:00"], ["16:00", "18:00"]]}}`), "ADVICECHAT_HOURS: weekly.friday[1]: overlaps weekly.friday[0]"},
		{"bad date", write("date.json", `{"weekly": {}, "closed": ["2026-12-32"]}`), `ADVICECHAT_HOURS: closed[0]: "2026-12-32" is not a date`},
		{"missing file", filepath.Join(dir, "none.json"), "ADVICECHAT_HOURS: open "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"ADVICECHAT_ADDR": "127.0.0.1:0", "ADVICECHAT_HOURS": tt.path}
			var out, errOut strings.Builder
			code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("run with %s = %d, stderr %q; want 2 and %q", tt.name, code, errOut.String(), tt.want)
			}
		})
	}
}
