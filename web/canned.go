package web

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/web/accounts"
	"github.com/advicechat/advicechat/web/protocol"
)

// Canned is one ready-made answer an advisor can put in the message box
// (typing / in it searches them).
type Canned = protocol.Canned

// cannedHeader starts an answer: "[nl] Title".
var cannedHeader = regexp.MustCompile(`^\[([a-z]{2})\]\s*(.*)$`)

// LoadCanned reads the canned responses file. The format is plain text, so
// the people who write the answers can edit it:
//
//	# A comment.
//	[nl] Welkom
//	Goedenavond, fijn dat u contact opneemt.
//	Waar wilt u het over hebben?
//
//	[en] Welcome
//	Good evening, thank you for getting in touch.
//
// An answer is a header line "[lang] title" and the lines after it, up to
// the next header; blank lines at its ends are dropped, those inside kept.
// An error names the file and line.
func LoadCanned(path string) ([]Canned, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseCanned(path, f)
}

func parseCanned(name string, r io.Reader) ([]Canned, error) {
	var out []Canned
	var body []string
	headerLine := 0
	seen := map[string]int{} // lang + title -> line
	finish := func() error {
		if headerLine == 0 {
			return nil
		}
		for len(body) > 0 && strings.TrimSpace(body[len(body)-1]) == "" {
			body = body[:len(body)-1]
		}
		for len(body) > 0 && strings.TrimSpace(body[0]) == "" {
			body = body[1:]
		}
		text, err := chat.CleanText(strings.Join(body, "\n"))
		if err != nil {
			return fmt.Errorf("%s:%d: answer %q: %w", name, headerLine, out[len(out)-1].Title, err)
		}
		out[len(out)-1].Text = text
		body = nil
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		switch {
		case strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "["):
			m := cannedHeader.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("%s:%d: want a header like \"[nl] Title\", got %q", name, n, line)
			}
			if !slices.Contains(accounts.KnownLanguages, m[1]) {
				return nil, fmt.Errorf("%s:%d: unknown language %q (known: %s)", name, n, m[1], strings.Join(accounts.KnownLanguages, ", "))
			}
			title := strings.TrimSpace(m[2])
			if title == "" || len([]rune(title)) > 80 {
				return nil, fmt.Errorf("%s:%d: the title must be 1 to 80 characters", name, n)
			}
			if prev, ok := seen[m[1]+"\x00"+title]; ok {
				return nil, fmt.Errorf("%s:%d: [%s] %q is already on line %d", name, n, m[1], title, prev)
			}
			if err := finish(); err != nil {
				return nil, err
			}
			seen[m[1]+"\x00"+title] = n
			headerLine = n
			out = append(out, Canned{Lang: m[1], Title: title})
		case headerLine == 0:
			if strings.TrimSpace(line) != "" {
				return nil, fmt.Errorf("%s:%d: text before the first \"[lang] title\" header", name, n)
			}
		default:
			body = append(body, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return out, nil
}

// DefaultOutcomeTags are the outcome tags an advisor chooses from when
// ending a conversation, unless configured otherwise.
var DefaultOutcomeTags = []string{
	"jihadist", "right-wing", "left-wing", "conspiracy", "other-ideology",
	"advice-given", "referral-made",
}

var tagRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// CheckOutcomeTag reports whether a configured tag name is acceptable: it
// becomes a metrics label value and a locale key.
func CheckOutcomeTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("tag %q: want 1 to 32 lower-case letters, digits or -, starting with a letter", tag)
	}
	return nil
}
