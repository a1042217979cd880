package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advicechat/advicechat/routing"
)

func env(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func TestLoadConfigRouting(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatalf("loadConfig(no variables) = %v", err)
	}
	if c.RoutingPolicy != routing.DefaultPolicy() || c.FallbackAfter != 2*time.Minute || !slices.Equal(c.FallbackLangs, []string{"en", "nl"}) {
		t.Errorf("loadConfig(no variables) = policy %v, fallback %s %q, want longest-waiting, 2m0s [en nl]", c.RoutingPolicy, c.FallbackAfter, c.FallbackLangs)
	}
	c, err = loadConfig(env(map[string]string{
		"ADVICECHAT_ROUTING_POLICY":     "round-robin",
		"ADVICECHAT_FALLBACK_AFTER":     "0",
		"ADVICECHAT_FALLBACK_LANGUAGES": " en , ar",
	}))
	if err != nil {
		t.Fatalf("loadConfig(round-robin, 0, en ar) = %v", err)
	}
	if c.RoutingPolicy.Name() != "round-robin" || c.FallbackAfter != 0 || !slices.Equal(c.FallbackLangs, []string{"en", "ar"}) {
		t.Errorf("loadConfig(round-robin, 0, en ar) = policy %v, fallback %s %q", c.RoutingPolicy, c.FallbackAfter, c.FallbackLangs)
	}
}

func TestLoadConfigQueue(t *testing.T) {
	c, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.OfferTimeout != 0 || c.MissedOffers != 3 || c.MaxWait != 20*time.Minute || c.BusyWait != 45*time.Minute || c.DefaultHandling != 20*time.Minute {
		t.Errorf("defaults: offer %s, missed %d, max wait %s, busy %s, handling %s; want 0, 3, 20m, 45m, 20m",
			c.OfferTimeout, c.MissedOffers, c.MaxWait, c.BusyWait, c.DefaultHandling)
	}
	c, err = loadConfig(env(map[string]string{
		"ADVICECHAT_OFFER_TIMEOUT":    "30s",
		"ADVICECHAT_MISSED_OFFERS":    "2",
		"ADVICECHAT_MAX_WAIT":         "0",
		"ADVICECHAT_BUSY_WAIT":        "0",
		"ADVICECHAT_DEFAULT_HANDLING": "12m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.OfferTimeout != 30*time.Second || c.MissedOffers != 2 || c.MaxWait != 0 || c.BusyWait != 0 || c.DefaultHandling != 12*time.Minute {
		t.Errorf("set: offer %s, missed %d, max wait %s, busy %s, handling %s", c.OfferTimeout, c.MissedOffers, c.MaxWait, c.BusyWait, c.DefaultHandling)
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
	}
	for _, tt := range tests {
		_, err := loadConfig(env(map[string]string{tt.name: tt.value}))
		if want := tt.name + ": " + tt.want; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("loadConfig(%s=%q) = %v, want an error containing %q", tt.name, tt.value, err, want)
		}
	}
}
