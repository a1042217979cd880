package web

import (
	"encoding/json"
	"io/fs"
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
	for _, want := range []string{"nl", "en"} {
		if texts[want] == nil {
			t.Errorf("locale %q is missing", want)
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
	for _, name := range []string{"visitor.html", "advisor.html", "login.html", "privacy.html"} {
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
