package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
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

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords are the words of common-passwords.txt.
var commonPasswords = func() map[string]bool {
	m := map[string]bool{}
	for line := range strings.Lines(commonPasswordsText) {
		if w := strings.TrimSpace(line); w != "" && !strings.HasPrefix(w, "#") {
			m[w] = true
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

// ErrWeakPassword: a password on the list of common ones, made of a
// common word and a number, a keyboard run, or the username.
var ErrWeakPassword = errors.New("password is too easy to guess")

// CheckPassword refuses, for an advisor's account, a password that is
// common (OWASP ASVS 6.2.4: checked against a list of the most common
// ones), a common word with digits or punctuation after it, one
// character repeated, a run along the keyboard or the alphabet, or one
// that is or holds the username. Its length is checked by the caller.
func CheckPassword(username, password string) error {
	p := strings.ToLower(password)
	base := strings.TrimRightFunc(p, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	switch {
	case commonPasswords[p] || commonPasswords[base]:
		return fmt.Errorf("%w: it is one of the most common passwords", ErrWeakPassword)
	case base == "":
		return fmt.Errorf("%w: it is only digits and punctuation", ErrWeakPassword)
	case strings.Count(p, p[:utf8.RuneLen([]rune(p)[0])]) == utf8.RuneCountInString(p):
		return fmt.Errorf("%w: it is one character repeated", ErrWeakPassword)
	case username != "" && strings.Contains(p, strings.ToLower(username)):
		return fmt.Errorf("%w: it holds the username", ErrWeakPassword)
	}
	for _, s := range sequences {
		if strings.Contains(s, p) || strings.Contains(reverse(s), p) {
			return fmt.Errorf("%w: it is a run along the keyboard or the alphabet", ErrWeakPassword)
		}
	}
	return nil
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}
