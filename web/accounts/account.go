// Package accounts holds advisor and supervisor accounts: a JSON file edited
// by `advicechat advisor` and read by the web server, which re-reads it when
// it changes. Accounts never live in Redis, so a Redis dump holds no
// password hashes.
package accounts

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Role says what an account may do in the console.
type Role string

// The roles an account can have.
const (
	RoleAdvisor    Role = "advisor"
	RoleSupervisor Role = "supervisor"
)

// KnownLanguages are the languages an advisor can take conversations in.
var KnownLanguages = []string{"nl", "en", "ar", "tr", "pl", "uk"}

// KnownAudiences are the kinds of visitor an advisor can serve.
var KnownAudiences = []string{"public", "professional"}

// Limits on an account's fields.
const (
	MaxNameLength    = 40
	MinConversations = 1
	MaxConversations = 20
)

// ErrNotFound is wrapped by errors about a username that has no account.
var ErrNotFound = errors.New("no such account")

// ErrInvalidCredentials is returned for both an unknown username and a wrong
// password, so a login form cannot be used to find out who has an account.
var ErrInvalidCredentials = errors.New("invalid username or password")

// Account is one advisor or supervisor.
type Account struct {
	// Username is the login name. Visitors never see it.
	Username string `json:"username"`
	// Name is the display name (alias) visitors see by default.
	Name string `json:"name"`
	Role Role   `json:"role"`
	// PasswordHash is an argon2id PHC string made by HashPassword.
	PasswordHash string `json:"password"`
	// Languages is a subset of KnownLanguages, at least one.
	Languages []string `json:"languages"`
	// Audiences is a subset of KnownAudiences, at least one.
	Audiences []string `json:"audiences"`
	// MaxConversations is how many conversations the advisor takes at once.
	MaxConversations int `json:"max_conversations"`
	// TOTPSecret is the base32 secret of the second factor, made by
	// GenerateTOTP; empty if none is enrolled.
	TOTPSecret string `json:"totp_secret,omitempty"`
}

// FieldError says which field of an account is invalid. Field is the JSON
// name, so callers can point at the flag or form field that set it.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,31}$`)

// Validate reports the first invalid field of a, as a *FieldError.
func (a Account) Validate() error {
	if !usernameRE.MatchString(a.Username) {
		return &FieldError{"username", fmt.Errorf("%q must be 1 to 32 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit", a.Username)}
	}
	if err := validateName(a.Name); err != nil {
		return &FieldError{"name", err}
	}
	if a.Role != RoleAdvisor && a.Role != RoleSupervisor {
		return &FieldError{"role", fmt.Errorf("unknown role %q (known: %s, %s)", a.Role, RoleAdvisor, RoleSupervisor)}
	}
	if err := validateSubset("language", a.Languages, KnownLanguages); err != nil {
		return &FieldError{"languages", err}
	}
	if err := validateSubset("audience", a.Audiences, KnownAudiences); err != nil {
		return &FieldError{"audiences", err}
	}
	if a.MaxConversations < MinConversations || a.MaxConversations > MaxConversations {
		return &FieldError{"max_conversations", fmt.Errorf("must be between %d and %d, got %d", MinConversations, MaxConversations, a.MaxConversations)}
	}
	if _, err := parsePHC(a.PasswordHash); err != nil {
		return &FieldError{"password", err}
	}
	if a.TOTPSecret != "" {
		if err := validateTOTPSecret(a.TOTPSecret); err != nil {
			return &FieldError{"totp_secret", err}
		}
	}
	return nil
}

// NormalizeUsername is what a login form's username means: phones
// capitalise the first letter of a login field, and usernames are lowercase
// anyway.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// validateName rejects names that would render badly for visitors: control
// characters (newlines, escapes) and names that are blank.
func validateName(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("not valid UTF-8")
	}
	if strings.TrimSpace(name) == "" {
		return errors.New("must not be empty")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fmt.Errorf("must be at most %d characters, got %d", MaxNameLength, n)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return errors.New("must not contain control characters")
	}
	return nil
}

func validateSubset(kind string, values, known []string) error {
	if len(values) == 0 {
		return fmt.Errorf("at least one %s is required (known: %s)", kind, strings.Join(known, ", "))
	}
	for i, v := range values {
		if !slices.Contains(known, v) {
			return fmt.Errorf("unknown %s %q (known: %s)", kind, v, strings.Join(known, ", "))
		}
		if slices.Contains(values[:i], v) {
			return fmt.Errorf("%s %q listed twice", kind, v)
		}
	}
	return nil
}

// clone returns a copy that shares no slices with a, so a caller holding it
// cannot race with whoever owns a.
func (a Account) clone() Account {
	a.Languages = slices.Clone(a.Languages)
	a.Audiences = slices.Clone(a.Audiences)
	return a
}
