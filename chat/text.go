package chat

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxTextRunes is the longest message text in Unicode code points.
const MaxTextRunes = 4000

// Errors of CleanText and ValidClientID.
var (
	ErrEmptyText     = errors.New("message text is empty")
	ErrTextTooLong   = errors.New("message text is longer than 4000 characters")
	ErrBadUTF8       = errors.New("message text is not valid UTF-8")
	ErrControlChar   = errors.New("message text may not hold control characters other than newline and tab")
	ErrBadClientID   = errors.New("client id must be 1 to 64 characters of A-Z a-z 0-9 - _")
	ErrBadAudience   = errors.New("audience must be public or professional")
	ErrBadDisplayArg = errors.New("display name must be 1 to 40 characters")
)

// CleanText trims surrounding white space and checks what a client sent as
// message text.
func CleanText(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrBadUTF8
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmptyText
	}
	if utf8.RuneCountInString(s) > MaxTextRunes {
		return "", ErrTextTooLong
	}
	// NUL and the other C0 and C1 controls have no business in a message
	// and can confuse whatever shows or copies it; newline and tab are
	// text. Bidirectional overrides are allowed (they are real text in
	// right-to-left writing); the pages show every message as an
	// isolated run, so none can change how the rest reads.
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) {
			return "", ErrControlChar
		}
	}
	return s, nil
}

// ValidClientID reports whether id may serve as a client message id.
func ValidClientID(id string) error {
	if len(id) == 0 || len(id) > 64 {
		return ErrBadClientID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return ErrBadClientID
		}
	}
	return nil
}

// ValidAudience checks a visitor's audience choice.
func ValidAudience(a string) error {
	if a != AudiencePublic && a != AudienceProfessional {
		return ErrBadAudience
	}
	return nil
}

// CleanDisplayName trims and checks the name an advisor shows visitors.
func CleanDisplayName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", ErrBadDisplayArg
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n == 0 || n > 40 {
		return "", ErrBadDisplayArg
	}
	return s, nil
}
