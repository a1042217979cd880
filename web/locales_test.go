package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/advicechat/advicechat/locales"
)

// TestLocalesComplete fails when a locale lacks a key of the reference
// locale, has a key the reference does not, or leaves a text empty.
func TestLocalesComplete(t *testing.T) {
	texts, err := Messages(map[string]any{"RetentionMinutes": 10})
	if err != nil {
		t.Fatal(err)
	}
	ref := texts[locales.Reference]
	if len(ref) == 0 {
		t.Fatalf("reference locale %q has no messages", locales.Reference)
	}
	// Every language the switch offers has a locale, and every locale is
	// offered under its own name.
	for want := range languageNames {
		if texts[want] == nil {
			t.Errorf("locale %q is missing", want)
		}
	}
	for lang := range texts {
		if languageNames[lang] == "" {
			t.Errorf("locale %q has no name in languageNames", lang)
		}
	}
	for lang, msgs := range texts {
		var missing, extra, empty []string
		for id := range ref {
			s, ok := msgs[id]
			switch {
			case !ok:
				missing = append(missing, id)
			case strings.TrimSpace(s) == "":
				empty = append(empty, id)
			}
		}
		for id := range msgs {
			if _, ok := ref[id]; !ok {
				extra = append(extra, id)
			}
		}
		sort.Strings(missing)
		sort.Strings(extra)
		if len(missing) > 0 || len(extra) > 0 || len(empty) > 0 {
			t.Errorf("locale %s: missing %v, not in %s %v, empty %v", lang, missing, locales.Reference, extra, empty)
		}
	}
}

// TestLocalesOwnFiles checks each file on its own: go-i18n falls back to
// the reference language for a missing key, which would hide a gap in
// Messages.
func TestLocalesOwnFiles(t *testing.T) {
	keys := localeKeys(t)
	ref := keys[locales.Reference]
	for lang, ks := range keys {
		for id := range ref {
			if !ks[id] {
				t.Errorf("locales/%s.json lacks %q", lang, id)
			}
		}
		for id := range ks {
			if !ref[id] {
				t.Errorf("locales/%s.json has %q, which %s.json lacks", lang, id, locales.Reference)
			}
		}
	}
}

// TestTemplatesUseKnownKeys renders every page in every language and fails
// on a key the templates ask for that no locale has.
func TestTemplatesUseKnownKeys(t *testing.T) {
	keys := localeKeys(t)[locales.Reference]
	for _, name := range []string{"visitor.html", "advisor.html", "supervisor.html", "login.html", "privacy.html"} {
		b, err := templateFS.ReadFile("templates/" + name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for {
			i := strings.Index(s, `index .T "`)
			if i < 0 {
				break
			}
			s = s[i+len(`index .T "`):]
			id := s[:strings.IndexByte(s, '"')]
			if !keys[id] {
				t.Errorf("%s uses unknown message %q", name, id)
			}
		}
	}
}

// localeKeys reads the message ids of every locale file as written.
func localeKeys(tb testing.TB) map[string]map[string]bool {
	tb.Helper()
	files, err := fs.Glob(locales.FS, "*.json")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, f := range files {
		b, err := fs.ReadFile(locales.FS, f)
		if err != nil {
			tb.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			tb.Fatalf("locales/%s: %v", f, err)
		}
		ks := map[string]bool{}
		for k := range m {
			ks[k] = true
		}
		out[strings.TrimSuffix(f, ".json")] = ks
	}
	return out
}

// TestLocaleNegotiation checks that ?lang= and the browser's
// Accept-Language pick each language, and that Dutch is the fallback.
func TestLocaleNegotiation(t *testing.T) {
	p := mustPages(t)
	tests := []struct {
		query, accept, want string
	}{
		{"", "", "nl"},
		{"", "de-DE,de;q=0.9", "nl"},
		{"", "en-GB,en;q=0.8", "en"},
		{"", "nl-BE", "nl"},
		{"", "ar-MA,ar;q=0.9,fr;q=0.8", "ar"},
		{"", "ar", "ar"},
		{"", "tr-TR,tr;q=0.9,en;q=0.5", "tr"},
		{"", "pl-PL,pl;q=0.9", "pl"},
		{"", "uk-UA,uk;q=0.9,ru;q=0.8", "uk"},
		{"", "fr;q=0.9,uk;q=0.5", "uk"},
		{"ar", "en", "ar"},
		{"tr", "", "tr"},
		{"pl", "uk", "pl"},
		{"uk", "", "uk"},
		{"xx", "tr", "tr"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/?lang="+tt.query, nil)
		if tt.accept != "" {
			r.Header.Set("Accept-Language", tt.accept)
		}
		if got := p.language(r); got != tt.want {
			t.Errorf("language(?lang=%s, Accept-Language %q) = %s, want %s", tt.query, tt.accept, got, tt.want)
		}
	}
}

// visitorSide are the pages whose language choice is a select.
var visitorSide = map[string]bool{"visitor.html": true, "privacy.html": true}

// TestLocalePages renders every page in every language: the document
// carries the language and its direction, and the language switch offers
// every language under its own name.
func TestLocalePages(t *testing.T) {
	p := mustPages(t)
	for lang := range languageNames {
		dir := "ltr"
		if lang == "ar" {
			dir = "rtl"
		}
		for _, name := range []string{"visitor.html", "advisor.html", "supervisor.html", "login.html", "privacy.html"} {
			b, err := p.html(name, p.data(lang))
			if err != nil {
				t.Fatal(err)
			}
			html := string(b)
			if want := fmt.Sprintf(`<html lang="%s" dir="%s">`, lang, dir); !strings.Contains(html, want) {
				t.Errorf("%s in %s lacks %s", name, lang, want)
			}
			for code, own := range languageNames {
				linkDir := "ltr"
				if code == "ar" {
					linkDir = "rtl"
				}
				link := fmt.Sprintf(`href="?lang=%s" data-lang="%s" lang="%s" hreflang="%s" dir="%s"`, code, code, code, code, linkDir)
				closing := "</a>"
				if visitorSide[name] {
					// The visitor's pages choose the language in one select.
					link = fmt.Sprintf(`<option value="%s" lang="%s" dir="%s"`, code, code, linkDir)
					closing = "</option>"
				}
				if !strings.Contains(html, link) || !strings.Contains(html, ">"+own+closing) {
					t.Errorf("%s in %s: the language switch does not offer %s (%s)", name, lang, code, own)
				}
			}
			want := fmt.Sprintf(`lang="%s" hreflang="%s" dir="%s" aria-current="true"`, lang, lang, dir)
			if visitorSide[name] {
				want = fmt.Sprintf(`<option value="%s" lang="%s" dir="%s" selected>`, lang, lang, dir)
			}
			if !strings.Contains(html, want) {
				t.Errorf("%s in %s does not mark %s as the current language", name, lang, lang)
			}
		}
	}
}
