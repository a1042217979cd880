package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLoadWidgetOrigins: the chat button's origins are scheme and host,
// lower case; anything else stops the start naming the variable.
func TestLoadWidgetOrigins(t *testing.T) {
	c, err := Load(env(map[string]string{"ADVICECHAT_WIDGET_ORIGINS": " https://www.Example.org , http://localhost:8000/"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://www.example.org", "http://localhost:8000"}; !slices.Equal(c.Web.WidgetOrigins, want) {
		t.Errorf("WidgetOrigins = %q, want %q", c.Web.WidgetOrigins, want)
	}
	if c.Web.StatusCache != 5*time.Second {
		t.Errorf("StatusCache = %s, want 5s", c.Web.StatusCache)
	}
	if c, err := Load(env(nil)); err != nil || len(c.Web.WidgetOrigins) != 0 {
		t.Errorf("no variable: %q, %v, want no origins", c.Web.WidgetOrigins, err)
	}
	for _, bad := range []string{"*", "https://*.example.org", "www.example.org", "ftp://example.org", "https://example.org/page",
		"https://example.org?x=1", "https://user@example.org", "https://example.org,", "https://", "https://example.org#top"} {
		_, err := Load(env(map[string]string{"ADVICECHAT_WIDGET_ORIGINS": bad}))
		if err == nil || !strings.Contains(err.Error(), "ADVICECHAT_WIDGET_ORIGINS: ") {
			t.Errorf("ADVICECHAT_WIDGET_ORIGINS=%q: %v, want an error naming the variable", bad, err)
		}
	}
	if _, err := Load(env(map[string]string{"ADVICECHAT_STATUS_CACHE": "-1s"})); err == nil || !strings.Contains(err.Error(), "ADVICECHAT_STATUS_CACHE: ") {
		t.Errorf("ADVICECHAT_STATUS_CACHE=-1s: %v, want an error", err)
	}
}
