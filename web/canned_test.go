package web

import (
	"strings"
	"testing"
)

func TestParseCanned(t *testing.T) {
	const file = `# Answers for the evening shift.

[nl] Welkom
Goedenavond, fijn dat u contact opneemt.

Waar wilt u het over hebben?

[en] Welcome
Good evening.
[nl] Doorverwijzing
U kunt ook bellen met 112 bij direct gevaar.
`
	got, err := parseCanned("canned.txt", strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []Canned{
		{Lang: "nl", Title: "Welkom", Text: "Goedenavond, fijn dat u contact opneemt.\n\nWaar wilt u het over hebben?"},
		{Lang: "en", Title: "Welcome", Text: "Good evening."},
		{Lang: "nl", Title: "Doorverwijzing", Text: "U kunt ook bellen met 112 bij direct gevaar."},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d answers %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("answer %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseCannedErrors(t *testing.T) {
	for _, tt := range []struct{ name, file, want string }{
		{"text before a header", "\nHello\n[nl] A\nx\n", "canned.txt:2: text before the first"},
		{"broken header", "[nl] A\nx\n[nl A\n", `canned.txt:3: want a header like "[nl] Title"`},
		{"unknown language", "[xx] A\nx\n", `canned.txt:1: unknown language "xx"`},
		{"no title", "[nl]\nx\n", "canned.txt:1: the title must be 1 to 80 characters"},
		{"twice", "[nl] A\nx\n\n[nl] A\ny\n", `canned.txt:4: [nl] "A" is already on line 1`},
		{"empty answer", "[nl] A\n\n[nl] B\ny\n", `canned.txt:1: answer "A"`},
		{"too long", "[nl] A\n" + strings.Repeat("x", 4001) + "\n", `canned.txt:1: answer "A"`},
	} {
		_, err := parseCanned("canned.txt", strings.NewReader(tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}
