package locales

import (
	"encoding/json"
	"regexp"
	"sort"
	"testing"
)

// informalDutch matches the informal Dutch pronouns as whole words (STYLE.md:
// the Dutch texts say u and uw).
var informalDutch = regexp.MustCompile(`(?i)(^|[^\p{L}])(je|jij|jou|jouw|jezelf|jullie)([^\p{L}]|$)`)

// TestDutchIsFormal fails for every Dutch text that addresses the reader
// informally.
func TestDutchIsFormal(t *testing.T) {
	b, err := FS.ReadFile("nl.json")
	if err != nil {
		t.Fatal(err)
	}
	var texts map[string]any
	if err := json.Unmarshal(b, &texts); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(texts))
	for id := range texts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, s := range strings(texts[id]) {
			if m := informalDutch.FindStringSubmatch(s); m != nil {
				t.Errorf("nl.json %s says %q, informal; the Dutch texts say u and uw (locales/STYLE.md): %q", id, m[2], s)
			}
		}
	}
}

// TestInformalDutchIsCaught shows that the check finds what it is for.
func TestInformalDutchIsCaught(t *testing.T) {
	for _, s := range []string{"De code uit je app.", "Jij bent", "voor jou.", "Jouw gesprek", "(je)"} {
		if !informalDutch.MatchString(s) {
			t.Errorf("%q not flagged as informal", s)
		}
	}
	for _, s := range []string{"De code uit uw app.", "jeugdwerker", "bijou", "Jeroen"} {
		if informalDutch.MatchString(s) {
			t.Errorf("%q flagged as informal", s)
		}
	}
}

// strings returns the texts of a message: a string, or the plural forms
// of an object.
func strings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		for _, f := range v {
			if s, ok := f.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
