package chat

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// NewID returns a random conversation id: 128 bits, hex encoded.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// NewToken returns a visitor's bearer token: 128 random bits, base64url
// encoded. Only its hash is ever stored.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken returns the SHA-256 of a token. The token has 128 bits of
// entropy, so a plain hash cannot be reversed by guessing.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// TokenMatches reports in constant time whether token hashes to hash.
func TokenMatches(token string, hash []byte) bool {
	return len(hash) == sha256.Size && subtle.ConstantTimeCompare(HashToken(token), hash) == 1
}

// ValidID reports whether s has the shape of an id made by NewID, so that
// garbage never reaches a Redis key name.
func ValidID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
