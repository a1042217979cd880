// Package keep lets a visitor come back to a conversation with nothing but
// a return code. The code is 80 random bits the visitor writes down; the
// service never stores it. From it come two values that cannot be turned
// back into it or into each other (HKDF-SHA256 with different labels): a
// lookup id, under which the sealed thread is stored, and a key, under
// which it is sealed with XChaCha20-Poly1305. Without the code nobody can
// find which thread is whose, nor read one.
package keep

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// CodeBytes is how many random bytes a code holds: 80 bits.
const CodeBytes = 10

// Code is a return code.
type Code [CodeBytes]byte

// alphabet is Crockford's base 32: no I, L, O or U, so that a code written
// by hand reads back the same.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewCode makes a code from the system's random source.
func NewCode() Code {
	var c Code
	_, _ = rand.Read(c[:]) // never fails (crypto/rand)
	return c
}

// String writes the code as four groups of four characters, as the page
// shows it: 7KQ2-M9XD-4TPV-HX3R.
func (c Code) String() string {
	var b strings.Builder
	var acc uint64
	bits := 0
	n := 0
	for _, x := range c {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(alphabet[(acc>>bits)&31])
			n++
		}
	}
	return b.String()
}

// ParseCode reads a code as a visitor may type it: any case, with or
// without dashes and spaces, O for 0 and I or L for 1. It reports false
// for anything that is not 16 such characters.
func ParseCode(s string) (Code, bool) {
	var c Code
	if len(s) > 64 {
		return c, false
	}
	var acc uint64
	bits, n, out := 0, 0, 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '-' || ch == ' ':
			continue
		case ch >= 'a' && ch <= 'z':
			ch -= 'a' - 'A'
		}
		switch ch {
		case 'O':
			ch = '0'
		case 'I', 'L':
			ch = '1'
		}
		v := strings.IndexByte(alphabet, ch)
		if v < 0 || n == 16 {
			return Code{}, false
		}
		n++
		acc = acc<<5 | uint64(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			c[out] = byte(acc >> bits)
			out++
		}
	}
	if n != 16 {
		return Code{}, false
	}
	return c, true
}

// Keys are what the service derives from a code: where the thread is kept
// and the key it is sealed under.
type Keys struct {
	Lookup string // hex, names the stored thread
	Key    [32]byte
}

// Labels of the derivations; changing one makes every kept thread
// unreachable.
const (
	salt        = "advicechat return code v1"
	lookupLabel = "lookup id"
	keyLabel    = "thread key"
)

// Keys derives the lookup id and the key of a code.
func (c Code) Keys() Keys {
	prk, err := hkdf.Extract(sha256.New, c[:], []byte(salt))
	if err != nil {
		panic(err) // only for a bad hash
	}
	var k Keys
	look, err := hkdf.Expand(sha256.New, prk, lookupLabel, 16)
	if err != nil {
		panic(err)
	}
	key, err := hkdf.Expand(sha256.New, prk, keyLabel, 32)
	if err != nil {
		panic(err)
	}
	k.Lookup = hex.EncodeToString(look)
	copy(k.Key[:], key)
	return k
}

// Encode writes keys as one opaque string, for a conversation's data while
// it is live (it expires with it); Decode reads it back.
func (k Keys) Encode() string { return k.Lookup + ":" + hex.EncodeToString(k.Key[:]) }

// DecodeKeys reads what Encode wrote.
func DecodeKeys(s string) (Keys, bool) {
	look, key, ok := strings.Cut(s, ":")
	if !ok || len(look) != 32 || len(key) != 64 {
		return Keys{}, false
	}
	if _, err := hex.DecodeString(look); err != nil {
		return Keys{}, false
	}
	b, err := hex.DecodeString(key)
	if err != nil {
		return Keys{}, false
	}
	k := Keys{Lookup: look}
	copy(k.Key[:], b)
	return k, true
}
