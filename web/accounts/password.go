package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argonParams are the cost parameters stored in a PHC string.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// defaultParams follow the first argon2id configuration recommended by the
// OWASP Password Storage Cheat Sheet: 19 MiB, 2 iterations, 1 lane.
var defaultParams = argonParams{memory: 19456, time: 2, threads: 1}

const (
	saltLen = 16
	keyLen  = 32

	// A hand-edited hash with absurd costs must not let one login take
	// the server's memory or CPU.
	maxMemory = 1 << 20 // KiB, 1 GiB
	maxTime   = 64
)

// HashPassword hashes password with argon2id and a random salt and returns
// it in PHC format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>.
func HashPassword(password string) (string, error) {
	return hashWith(defaultParams, password)
}

func hashWith(p argonParams, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the argon2id PHC string
// phc. The cost parameters come from phc, so hashes made with stronger
// parameters than HashPassword's still verify. A malformed phc is an error.
func VerifyPassword(phc, password string) (bool, error) {
	h, err := parsePHC(phc)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.time, h.params.memory, h.params.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

type parsedPHC struct {
	params    argonParams
	salt, key []byte
}

// parsePHC parses an argon2id PHC string. Its errors never quote the string,
// which holds the hash.
func parsePHC(s string) (parsedPHC, error) {
	// A leading "$" makes the first part empty.
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return parsedPHC{}, errors.New("not an argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$key)")
	}
	if parts[1] != "argon2id" {
		return parsedPHC{}, fmt.Errorf("unsupported algorithm %q (want argon2id)", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return parsedPHC{}, fmt.Errorf("unsupported version %q (want v=%d)", parts[2], argon2.Version)
	}
	p, err := parseParams(parts[3])
	if err != nil {
		return parsedPHC{}, err
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return parsedPHC{}, fmt.Errorf("salt: %w", err)
	}
	if len(salt) < 8 {
		return parsedPHC{}, fmt.Errorf("salt: %d bytes, want at least 8", len(salt))
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return parsedPHC{}, fmt.Errorf("key: %w", err)
	}
	if len(key) < 16 || len(key) > 64 {
		return parsedPHC{}, fmt.Errorf("key: %d bytes, want 16 to 64", len(key))
	}
	return parsedPHC{params: p, salt: salt, key: key}, nil
}

// parseParams parses "m=19456,t=2,p=1", in that order as every argon2
// implementation writes it.
func parseParams(s string) (argonParams, error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return argonParams{}, fmt.Errorf("parameters %q: want m=...,t=...,p=...", s)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(fields[i], name+"=")
		if !ok {
			return argonParams{}, fmt.Errorf("parameters %q: want m=...,t=...,p=...", s)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return argonParams{}, fmt.Errorf("parameter %s: %w", name, err)
		}
		vals[i] = n
	}
	m, t, p := vals[0], vals[1], vals[2]
	switch {
	case p < 1 || p > 255:
		return argonParams{}, fmt.Errorf("parameter p=%d: want 1 to 255", p)
	case t < 1 || t > maxTime:
		return argonParams{}, fmt.Errorf("parameter t=%d: want 1 to %d", t, maxTime)
	case m < 8*p || m > maxMemory:
		return argonParams{}, fmt.Errorf("parameter m=%d: want %d to %d KiB", m, 8*p, maxMemory)
	}
	return argonParams{memory: uint32(m), time: uint32(t), threads: uint8(p)}, nil
}

// passwordAlphabet leaves out characters that are easy to misread when a
// password is read aloud or copied from a screen: 0, O, 1, l and I.
const passwordAlphabet = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// GeneratePassword returns a random 20-character password (about 116 bits)
// from an alphabet without look-alike characters.
func GeneratePassword() string {
	const length = 20
	// Bytes at or above limit are skipped so every character is equally likely.
	const limit = 256 - 256%len(passwordAlphabet)
	out := make([]byte, 0, length)
	buf := make([]byte, 32)
	for len(out) < length {
		// crypto/rand.Read never returns an error since Go 1.24.
		rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < length {
				out = append(out, passwordAlphabet[int(b)%len(passwordAlphabet)])
			}
		}
	}
	return string(out)
}

// The lists of common passwords, one a line, lines starting with # left
// out, compared in lower case:
//
//   - passwords/openwall.lst is /usr/share/john/password.lst as Debian's
//     john-data 1.9.0-2 ships it, unchanged: the 3546 passwords the
//     Openwall Project (Solar Designer) found most often, on Unix systems
//     and in the public "top N" lists of website leaks up to 2011, most
//     common first; in the public domain, as its first lines say.
//   - passwords/local.txt is this service's own: the same habit in the
//     languages spoken here, and newer top-list entries.
//
//go:embed passwords/openwall.lst passwords/local.txt
var passwordLists embed.FS

// commonPasswords are the words of the lists in passwordLists.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for _, name := range []string{"passwords/openwall.lst", "passwords/local.txt"} {
		data, err := passwordLists.ReadFile(name)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		for line := range strings.Lines(string(data)) {
			if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
				m[strings.ToLower(w)] = true
			}
		}
	}
	return m
}()

// sequences are runs people type instead of a password; a password that
// is part of one of them (or of one backwards) is refused.
var sequences = []string{
	"abcdefghijklmnopqrstuvwxyz", "01234567890123456789",
	"qwertyuiopasdfghjklzxcvbnm", "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm", "1q2w3e4r5t6y7u8i9o0p", "zaq1xsw2cde3vfr4bgt5nhy6",
}

// unleet undoes the letters people swap for look-alikes, so p@ssw0rd is
// password.
var unleet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "@", "a", "$", "s", "5", "s", "7", "t", "!", "i")

// ErrWeakPassword: a password on the list of common ones, made of a
// common word and a number, a keyboard run, or the username.
var ErrWeakPassword = errors.New("password is too easy to guess")

// minUsernameInPassword is the shortest username (or part of one) that a
// password may not contain: a password holding "al" says nothing about
// the account "al", but it may not be "al" itself.
const minUsernameInPassword = 3

// CheckPassword refuses, for an advisor's account, a password that is
// common (OWASP ASVS 6.2.4: checked against a list of the most common
// ones), also with digits or punctuation around it or look-alike
// characters in it; only digits and punctuation; a few characters or a
// common password repeated; a run along the keyboard or the alphabet; or
// the username, or one that holds it or a part of it (anna.visser:
// anna, visser) of at least 3 characters. Case never matters. Its length
// is checked by the caller.
func CheckPassword(username, password string) error {
	if reason := weakness(strings.ToLower(username), strings.ToLower(password)); reason != "" {
		return fmt.Errorf("%w: %s", ErrWeakPassword, reason)
	}
	return nil
}

// weakness says why p (lower case) is a weak password for the account u
// (lower case), or "" if it is not.
func weakness(u, p string) string {
	notLetter := func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	}
	tail := strings.TrimRightFunc(p, notLetter) // welcome2026! is welcome
	core := strings.TrimFunc(p, notLetter)      // !2026welcome! too
	switch {
	case p == "":
		return "it is empty"
	case commonPasswords[p]:
		return "it is one of the most common passwords"
	case core == "":
		return "it is only digits and punctuation"
	case commonPasswords[tail] || commonPasswords[core] ||
		commonPasswords[unleet.Replace(tail)] || commonPasswords[unleet.Replace(core)]:
		return "it is one of the most common passwords with digits, punctuation or look-alike characters"
	case u != "" && (p == u || core == u):
		return "it is the username"
	}
	if u != "" {
		for _, part := range append([]string{u}, strings.FieldsFunc(u, func(r rune) bool { return r == '.' || r == '_' || r == '-' })...) {
			if utf8.RuneCountInString(part) >= minUsernameInPassword && strings.Contains(p, part) {
				return "it holds the username or a part of it"
			}
		}
	}
	for _, w := range []string{p, core} {
		if unit := period(w); unit != w {
			switch {
			case utf8.RuneCountInString(unit) <= 3:
				return "it is a few characters repeated"
			case weakness(u, unit) != "":
				return "it is a weak password repeated"
			}
		}
	}
	for _, s := range sequences {
		for _, w := range []string{p, core} {
			if strings.Contains(s, w) || strings.Contains(reverse(s), w) {
				return "it is a run along the keyboard or the alphabet"
			}
		}
	}
	return ""
}

// period returns the shortest string that s is made of, repeated: "ab"
// for "ababab", s itself if it is no repetition.
func period(s string) string {
	r := []rune(s)
	for n := 1; n <= len(r)/2; n++ {
		if len(r)%n == 0 && strings.Repeat(string(r[:n]), len(r)/n) == s {
			return string(r[:n])
		}
	}
	return s
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}
