package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/routing"
	"github.com/advicechat/advicechat/web"
)

func env(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestLoadConfigRouting(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatalf("Load(no variables) = %v", err)
	}
	if c.Routing.Policy != routing.DefaultPolicy() || c.Routing.FallbackAfter != 2*time.Minute || !slices.Equal(c.Routing.FallbackLanguages, []string{"en", "nl"}) {
		t.Errorf("Load(no variables) = policy %v, fallback %s %q, want longest-waiting, 2m0s [en nl]", c.Routing.Policy, c.Routing.FallbackAfter, c.Routing.FallbackLanguages)
	}
	c, err = Load(env(map[string]string{
		"ADVICECHAT_ROUTING_POLICY":     "round-robin",
		"ADVICECHAT_FALLBACK_AFTER":     "0",
		"ADVICECHAT_FALLBACK_LANGUAGES": " en , ar",
	}))
	if err != nil {
		t.Fatalf("Load(round-robin, 0, en ar) = %v", err)
	}
	if c.Routing.Policy.Name() != "round-robin" || c.Routing.FallbackAfter != 0 || !slices.Equal(c.Routing.FallbackLanguages, []string{"en", "ar"}) {
		t.Errorf("Load(round-robin, 0, en ar) = policy %v, fallback %s %q", c.Routing.Policy, c.Routing.FallbackAfter, c.Routing.FallbackLanguages)
	}
}

func TestLoadConfigQueue(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Routing.OfferTimeout != 0 || c.Routing.MissedOffers != 3 || c.Routing.MaxWait != 20*time.Minute || c.Web.BusyWait != 45*time.Minute || c.Routing.DefaultHandling != 20*time.Minute {
		t.Errorf("defaults: offer %s, missed %d, max wait %s, busy %s, handling %s; want 0, 3, 20m, 45m, 20m",
			c.Routing.OfferTimeout, c.Routing.MissedOffers, c.Routing.MaxWait, c.Web.BusyWait, c.Routing.DefaultHandling)
	}
	c, err = Load(env(map[string]string{
		"ADVICECHAT_OFFER_TIMEOUT":    "30s",
		"ADVICECHAT_MISSED_OFFERS":    "2",
		"ADVICECHAT_MAX_WAIT":         "0",
		"ADVICECHAT_BUSY_WAIT":        "0",
		"ADVICECHAT_DEFAULT_HANDLING": "12m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Routing.OfferTimeout != 30*time.Second || c.Routing.MissedOffers != 2 || c.Routing.MaxWait != 0 || c.Web.BusyWait != 0 || c.Routing.DefaultHandling != 12*time.Minute {
		t.Errorf("set: offer %s, missed %d, max wait %s, busy %s, handling %s", c.Routing.OfferTimeout, c.Routing.MissedOffers, c.Routing.MaxWait, c.Web.BusyWait, c.Routing.DefaultHandling)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // in the error, after the variable's name
	}{
		{"ADVICECHAT_ROUTING_POLICY", "fastest", `unknown routing policy "fastest" (known: longest-waiting, round-robin)`},
		{"ADVICECHAT_ROUTING_POLICY", "Round-Robin", `unknown routing policy "Round-Robin"`},
		{"ADVICECHAT_FALLBACK_AFTER", "soon", `"soon" is not a duration`},
		{"ADVICECHAT_FALLBACK_AFTER", "120", `"120" is not a duration`},
		{"ADVICECHAT_FALLBACK_AFTER", "-1m", "-1m0s is shorter than 0s"},
		{"ADVICECHAT_FALLBACK_LANGUAGES", "en,xx", `unknown language "xx" (known: nl, en, ar, tr, pl, uk)`},
		{"ADVICECHAT_FALLBACK_LANGUAGES", "EN", `unknown language "EN"`},
		{"ADVICECHAT_FALLBACK_LANGUAGES", "en,,nl", `unknown language ""`},
		{"ADVICECHAT_FALLBACK_LANGUAGES", "en,nl,en", `language "en" listed twice`},
		{"ADVICECHAT_OFFER_TIMEOUT", "30", `"30" is not a duration`},
		{"ADVICECHAT_OFFER_TIMEOUT", "500ms", "500ms is shorter than 1s"},
		{"ADVICECHAT_MISSED_OFFERS", "0", `"0" is not a number from 1 to 100`},
		{"ADVICECHAT_MISSED_OFFERS", "three", `"three" is not a number from 1 to 100`},
		{"ADVICECHAT_MAX_WAIT", "-5m", "-5m0s is shorter than 0s"},
		{"ADVICECHAT_BUSY_WAIT", "an hour", `"an hour" is not a duration`},
		{"ADVICECHAT_DEFAULT_HANDLING", "10s", "10s is shorter than 1m0s"},
		{"ADVICECHAT_SESSION_LEASE", "2", `"2" is not a duration`},
		{"ADVICECHAT_SESSION_LEASE", "-1s", "-1s is shorter than 0s"},
		{"ADVICECHAT_SESSION_LEASE", "5m", "5m0s is longer than a minute"},
	}
	for _, tt := range tests {
		_, err := Load(env(map[string]string{tt.name: tt.value}))
		if want := tt.name + ": " + tt.want; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s=%q) = %v, want an error containing %q", tt.name, tt.value, err, want)
		}
	}
}

// TestLoadSecretsAndMetrics: secrets may come from a file named by
// NAME_FILE (not both), and the metrics listener needs its own address.
func TestLoadSecretsAndMetrics(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "block")
	secretValue := strings.Repeat("s", 40)
	if err := os.WriteFile(file, []byte(secretValue+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"ADVICECHAT_BLOCK_SECRET_FILE": file, "ADVICECHAT_METRICS_ADDR": "127.0.0.1:9090"}))
	if err != nil {
		t.Fatalf("Load(secret file) = %v", err)
	}
	if string(c.Web.BlockSecret) != secretValue || c.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("Load(secret file) = secret %q, metrics %q", c.Web.BlockSecret, c.MetricsAddr)
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ADVICECHAT_BLOCK_SECRET": secretValue, "ADVICECHAT_BLOCK_SECRET_FILE": file}, "ADVICECHAT_BLOCK_SECRET_FILE: set either"},
		{map[string]string{"ADVICECHAT_BLOCK_SECRET_FILE": filepath.Join(dir, "missing")}, "ADVICECHAT_BLOCK_SECRET_FILE: open"},
		{map[string]string{"ADVICECHAT_BLOCK_SECRET_FILE": empty}, "is empty"},
		{map[string]string{"ADVICECHAT_REDIS_URL_FILE": empty}, "ADVICECHAT_REDIS_URL_FILE"},
		{map[string]string{"ADVICECHAT_METRICS_ADDR": "9090"}, "ADVICECHAT_METRICS_ADDR: \"9090\" is not host:port"},
		{map[string]string{"ADVICECHAT_METRICS_ADDR": "127.0.0.1:8080"}, "must differ from ADVICECHAT_ADDR"},
	} {
		if _, err := Load(env(tt.env)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%v) = %v, want an error containing %q", tt.env, err, tt.want)
		}
	}
}

// TestLoadDefaults: with nothing set, each package gets its own defaults,
// and what several share is the same in each.
func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Retention != routing.DefaultConfig().Retention || c.Routing.Retention != c.Store.Retention || c.Web.Retention != c.Store.Retention {
		t.Errorf("retention store %s, routing %s, web %s: want one value", c.Store.Retention, c.Routing.Retention, c.Web.Retention)
	}
	if c.Store.Prefix != "ac:" || c.Routing.Prefix != "ac:" || c.Web.KeyPrefix != "ac:" {
		t.Errorf("prefixes %q %q %q, want ac: everywhere", c.Store.Prefix, c.Routing.Prefix, c.Web.KeyPrefix)
	}
	if c.Web.Heartbeat != c.Routing.AdvisorGrace/4 || c.Web.RequireTOTP || c.Web.StartsPerClient != web.DefaultConfig().StartsPerClient {
		t.Errorf("web config %+v", c.Web)
	}
}

// TestLoadMessageLimits: the visitor's message rate and a conversation's
// size are settings, checked like the others.
func TestLoadMessageLimits(t *testing.T) {
	c, err := Load(env(map[string]string{"ADVICECHAT_MESSAGE_BURST": "100", "ADVICECHAT_MESSAGE_RATE": "0", "ADVICECHAT_MAX_ENTRIES": "500", "ADVICECHAT_MAX_BYTES": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.MessageBurst != 100 || c.Store.MessageRate != 0 || c.Store.MaxEntries != 500 || c.Store.MaxBytes != 0 {
		t.Errorf("Load = %+v", c.Store)
	}
	for name, v := range map[string]string{"ADVICECHAT_MESSAGE_BURST": "0", "ADVICECHAT_MESSAGE_RATE": "fast", "ADVICECHAT_MAX_ENTRIES": "-1", "ADVICECHAT_MAX_BYTES": "lots"} {
		if _, err := Load(env(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name+":") {
			t.Errorf("Load(%s=%q) = %v, want an error naming it", name, v, err)
		}
	}
}
