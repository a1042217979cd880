package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// getStatus asks for /status.json with an Origin (none if empty).
func getStatus(t *testing.T, a *app, query, origin string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.URL+"/status.json"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("status.json %q: %v", b, err)
		}
	} else {
		out = map[string]any{"error": string(b)}
	}
	return resp, out
}

const hostOrigin = "http://helpline.example"

func widgetApp(t *testing.T, extra map[string]string) *app {
	env := map[string]string{"ADVICECHAT_WIDGET_ORIGINS": hostOrigin + ", https://www.helpline.example", "ADVICECHAT_STATUS_CACHE": "0"}
	for k, v := range extra {
		env[k] = v
	}
	return startApp(t, env)
}

// TestStatusJSON: the public status says open or closed, whether anyone
// is on duty and the wait as a band; it names no count of advisors or of
// those waiting, and sets no cookie.
func TestStatusJSON(t *testing.T) {
	a := widgetApp(t, map[string]string{"ADVICECHAT_DEFAULT_HANDLING": "20m"})
	want := func(what string, got map[string]any, fields map[string]any) {
		t.Helper()
		for k, v := range fields {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v (all: %v)", what, k, got[k], v, got)
			}
		}
		for k := range got {
			if !map[string]bool{"open": true, "next_open": true, "next_open_text": true, "on_duty": true, "wait": true, "chat": true, "lang": true}[k] {
				t.Errorf("%s: unexpected field %s", what, k)
			}
		}
	}
	resp, s := getStatus(t, a, "", "")
	want("nobody on duty", s, map[string]any{"open": true, "on_duty": false, "wait": "unknown", "lang": "nl", "chat": a.URL + "/?lang=nl"})
	if c := resp.Header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("status.json set cookies %v", c)
	}
	checkSecurityHeaders(t, "GET /status.json", resp.Header)

	adv, _ := onDutyAdvisor(t, a, "anna", "-max", "1")
	_, s = getStatus(t, a, "?lang=en", "")
	want("a free advisor", s, map[string]any{"open": true, "on_duty": true, "wait": "short", "lang": "en", "chat": a.URL + "/?lang=en"})

	// Her one place taken: the next one waits a handling time, 20 minutes.
	activeConversation(t, a, adv)
	_, s = getStatus(t, a, "?lang=ar", "")
	want("busy", s, map[string]any{"open": true, "on_duty": true, "wait": "30", "lang": "ar"})
	// One waiting in each queue (anna serves both): 40 minutes for the
	// next; then two: 60 minutes, over the busy wait of 45. The band is
	// the shortest of the queues'.
	for i, band := range []string{"45", "long"} {
		for _, aud := range []string{"public", "professional"} {
			v, _, _ := startConversation(t, a, aud)
			v.expect("waiting", isState("waiting"))
		}
		_, s = getStatus(t, a, "", "")
		want(fmt.Sprintf("%d waiting in each queue", i+1), s, map[string]any{"wait": band})
	}

	if resp, s := getStatus(t, a, "?lang=xx", ""); resp.StatusCode != http.StatusBadRequest || !strings.Contains(s["error"].(string), "lang must be one of") {
		t.Errorf("lang=xx: %d %v, want 400 naming the languages", resp.StatusCode, s)
	}
}

// TestStatusJSONClosed: closed, with the next opening in the helpline's
// zone and as the visitor page writes it.
func TestStatusJSONClosed(t *testing.T) {
	opens := day(3)
	hours := writeHours(t, map[string]any{
		"time_zone":  "Europe/Amsterdam",
		"weekly":     allWeek,
		"closed":     []string{day(-1), day(0), day(1), day(2)},
		"exceptions": map[string]any{opens: [][]string{{"10:30", "12:00"}}},
	})
	a := widgetApp(t, map[string]string{"ADVICECHAT_HOURS": hours})
	onDutyAdvisor(t, a, "anna")
	at, err := time.ParseInLocation(time.DateOnly+" 15:04", opens+" 10:30", amsterdam)
	if err != nil {
		t.Fatal(err)
	}
	_, s := getStatus(t, a, "?lang=en", "")
	if s["open"] != false || s["next_open"] != at.Format(time.RFC3339) || s["wait"] != "unknown" || s["on_duty"] != false ||
		s["next_open_text"] != at.Format("Monday 2 January")+" at 10:30" {
		t.Errorf("closed status = %v, want closed until %s", s, at.Format(time.RFC3339))
	}
}

// TestStatusJSONCORS: the pages of the configured origins may read the
// status; any other origin is refused with 403 and no CORS header; a
// request without Origin, or from the service itself, needs none.
func TestStatusJSONCORS(t *testing.T) {
	a := widgetApp(t, nil)
	for _, o := range []string{hostOrigin, "https://www.helpline.example", "HTTP://HELPLINE.EXAMPLE"} {
		resp, _ := getStatus(t, a, "", o)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != o {
			t.Errorf("Origin %s: %d, Allow-Origin %q, want 200 and the origin", o, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("Origin %s: no Vary: Origin", o)
		}
	}
	for _, o := range []string{"https://helpline.example", "http://helpline.example:8080", "http://evil.example", "null"} {
		resp, s := getStatus(t, a, "", o)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
			!strings.Contains(s["error"].(string), "ADVICECHAT_WIDGET_ORIGINS") {
			t.Errorf("Origin %s: %d, Allow-Origin %q, %v, want 403 naming ADVICECHAT_WIDGET_ORIGINS", o, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), s)
		}
	}
	for _, o := range []string{"", a.URL} {
		if resp, _ := getStatus(t, a, "", o); resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("Origin %q: %d, Allow-Origin %q, want 200 without", o, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	// The script and the stylesheet may be loaded by other origins' pages.
	for _, p := range []string{"/widget.js", "/widget.css"} {
		resp, err := http.Get(a.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" || len(resp.Header.Values("Set-Cookie")) != 0 {
			t.Errorf("GET %s: %d, CORP %q, cookies %v", p, resp.StatusCode, resp.Header.Get("Cross-Origin-Resource-Policy"), resp.Header.Values("Set-Cookie"))
		}
	}
}
