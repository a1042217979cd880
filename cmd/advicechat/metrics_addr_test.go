package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsListener: with ADVICECHAT_METRICS_ADDR, /metrics is served on
// that address alone and the public listener has none.
func TestMetricsListener(t *testing.T) {
	a := startApp(t, map[string]string{"ADVICECHAT_METRICS_ADDR": "127.0.0.1:0"})
	var metricsURL string
	for line := range strings.Lines(a.logs.String()) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "advicechat metrics on "); ok {
			metricsURL = rest
		}
	}
	if metricsURL == "" {
		t.Fatalf("no metrics address printed:\n%s", a.logs.String())
	}
	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(metricsURL); code != http.StatusOK || !strings.Contains(body, "\nadvicechat_") {
		t.Errorf("GET %s = %d, want 200 with the service's metrics", metricsURL, code)
	}
	if code, body := get(a.URL + "/metrics"); code != http.StatusNotFound || strings.Contains(body, "advicechat_") {
		t.Errorf("GET public /metrics = %d, want 404 and no metrics", code)
	}
	if code, _ := get(strings.TrimSuffix(metricsURL, "/metrics") + "/"); code != http.StatusNotFound {
		t.Errorf("GET / on the metrics listener = %d, want 404: it serves metrics only", code)
	}
}
