package keep

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/chat/redisstore/redistest"
)

func TestCodeRoundTrip(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)
	seen := map[string]bool{}
	for range 1000 {
		c := NewCode()
		s := c.String()
		if !shape.MatchString(s) {
			t.Fatalf("code %q is not four groups of four Crockford characters", s)
		}
		if seen[s] {
			t.Fatalf("code %q twice in 1000", s)
		}
		seen[s] = true
		for _, typed := range []string{s, strings.ToLower(s), strings.ReplaceAll(s, "-", ""), strings.ReplaceAll(s, "-", " "), " " + s + " "} {
			got, ok := ParseCode(typed)
			if !ok || got != c {
				t.Fatalf("ParseCode(%q) = %v, %v; want %v", typed, got, ok, c)
			}
		}
	}
	// Every bit counts: the all-ones code and the zero code.
	for _, c := range []Code{{}, {0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff}} {
		if got, ok := ParseCode(c.String()); !ok || got != c {
			t.Errorf("ParseCode(%q) = %v, %v; want %v", c.String(), got, ok, c)
		}
	}
}

func TestParseCodeReadsWhatPeopleWrite(t *testing.T) {
	want, ok := ParseCode("0111-0000-0000-0000")
	if !ok {
		t.Fatal("plain code refused")
	}
	for _, typed := range []string{"OIL1-oooo-0000-0000", "oil1 0000 0000 0000", "0il10000o0000000"} {
		if got, ok := ParseCode(typed); !ok || got != want {
			t.Errorf("ParseCode(%q) = %v, %v; want the code of 0111-0000-0000-0000", typed, got, ok)
		}
	}
}

func TestParseCodeRefusesMalformed(t *testing.T) {
	for _, typed := range []string{
		"",
		"7KQ2-M9XD-4TPV",           // too short
		"7KQ2-M9XD-4TPV-HX3R-A",    // too long
		"7KQ2-M9XD-4TPV-HX3U",      // U is not in the alphabet
		"7KQ2-M9XD-4TPV-HX3!",      // punctuation
		"7KQ2-M9XD-4TPV-HX3\u00c9", // not ASCII
		strings.Repeat("0", 65),    // far too long
	} {
		if _, ok := ParseCode(typed); ok {
			t.Errorf("ParseCode(%q) accepted", typed)
		}
	}
}

func TestKeysAreIndependent(t *testing.T) {
	a, b := NewCode(), NewCode()
	ka, kb := a.Keys(), b.Keys()
	if ka.Lookup == kb.Lookup || ka.Key == kb.Key {
		t.Fatal("two codes share a lookup id or key")
	}
	if a.Keys() != ka {
		t.Fatal("keys of one code differ between derivations")
	}
	// Neither the code nor the key shows in the lookup id.
	if strings.Contains(ka.Lookup, strings.ToLower(strings.ReplaceAll(a.String(), "-", ""))) || bytes.Contains([]byte(ka.Lookup), ka.Key[:4]) {
		t.Fatal("the lookup id shows the code or key")
	}
	got, ok := DecodeKeys(ka.Encode())
	if !ok || got != ka {
		t.Fatalf("DecodeKeys(Encode()) = %v, %v", got, ok)
	}
	for _, bad := range []string{"", "x:y", ka.Lookup, ka.Lookup + ":" + "zz", strings.Repeat("g", 32) + ":" + strings.Repeat("0", 64)} {
		if _, ok := DecodeKeys(bad); ok {
			t.Errorf("DecodeKeys(%q) accepted", bad)
		}
	}
}

func sample() Thread {
	return Thread{
		Audience: "public", Lang: "nl", Advisor: "anna",
		Parts: []Part{{Kind: PartChat, Started: 1764000000000, Entries: []chat.Entry{
			{Seq: 1, Kind: chat.KindJoined, From: chat.FromSystem, Name: "Anna", At: 1764000001000},
			{Seq: 2, Kind: chat.KindMessage, From: chat.FromVisitor, ClientID: "v1", Text: "Mijn zoon kijkt rare filmpjes", At: 1764000002000},
		}}},
	}
}

func TestSeal(t *testing.T) {
	k := NewCode().Keys()
	sealed, err := Seal(k, sample())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("filmpjes")) || bytes.Contains(sealed, []byte("anna")) {
		t.Fatal("the sealed thread shows its text")
	}
	if (len(sealed)-24-16)%padTo != 0 {
		t.Errorf("sealed length %d is not padded to %d", len(sealed), padTo)
	}
	got, err := Unseal(k, sealed)
	if err != nil || got.Parts[0].Entries[1].Text != "Mijn zoon kijkt rare filmpjes" || got.Advisor != "anna" {
		t.Fatalf("Unseal = %+v, %v", got, err)
	}
	again, _ := Seal(k, sample())
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one thread are equal: the nonce does not change")
	}

	other := NewCode().Keys()
	moved := k
	moved.Lookup = other.Lookup // the same key, stored under another id
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, try := range map[string]func() (Thread, error){
		"another code":      func() (Thread, error) { return Unseal(other, sealed) },
		"another lookup":    func() (Thread, error) { return Unseal(moved, sealed) },
		"a flipped bit":     func() (Thread, error) { return Unseal(k, tampered) },
		"cut short":         func() (Thread, error) { return Unseal(k, sealed[:10]) },
		"nothing":           func() (Thread, error) { return Unseal(k, nil) },
		"the nonce alone":   func() (Thread, error) { return Unseal(k, sealed[:24]) },
		"not sealed at all": func() (Thread, error) { return Unseal(k, []byte(strings.Repeat("x", 600))) },
	} {
		if _, err := try(); !errors.Is(err, ErrUnknown) {
			t.Errorf("%s: Unseal = %v, want ErrUnknown", name, err)
		}
	}
}

func TestVault(t *testing.T) {
	ctx := context.Background()
	r := redistest.New(t)
	v := NewVault(r.Client, r.Prefix)
	c := NewCode()
	k := c.Keys()
	if err := v.Put(ctx, k, sample(), time.Hour); err != nil {
		t.Fatal(err)
	}
	keys := r.Keys(t)
	if len(keys) != 1 || keys[0] != v.Key(k.Lookup) {
		t.Fatalf("keys after Put = %q, want the one thread", keys)
	}
	if ttl := r.Client.TTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL = %s, want at most an hour", ttl)
	}
	raw := r.Client.Get(ctx, keys[0]).Val()
	if strings.Contains(raw, "filmpjes") || strings.Contains(raw, k.Encode()[33:]) {
		t.Fatal("Redis holds the text or the key")
	}

	typed := strings.ToLower(c.String())
	gotK, got, err := v.Open(ctx, typed)
	if err != nil || gotK != k || got.Parts[0].Entries[1].Text != "Mijn zoon kijkt rare filmpjes" {
		t.Fatalf("Open(%q) = %+v, %v", typed, got, err)
	}
	for name, typed := range map[string]string{
		"wrong":     NewCode().String(),
		"malformed": "not a code",
		"empty":     "",
		"absent":    absent.String(),
	} {
		if _, _, err := v.Open(ctx, typed); !errors.Is(err, ErrUnknown) || err.Error() != "this code is not known or has expired" {
			t.Errorf("%s code: Open = %v, want ErrUnknown", name, err)
		}
	}
	// Even a thread stored under the code malformed ones are looked up
	// as is not what a malformed code gets.
	if err := v.Put(ctx, absent.Keys(), sample(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Open(ctx, "not a code"); !errors.Is(err, ErrUnknown) {
		t.Errorf("malformed code with the absent thread stored: Open = %v, want ErrUnknown", err)
	}

	if ok, err := v.Delete(ctx, k); !ok || err != nil {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if _, _, err := v.Open(ctx, c.String()); !errors.Is(err, ErrUnknown) {
		t.Errorf("after Delete: Open = %v, want ErrUnknown", err)
	}
	if ok, _ := v.Delete(ctx, k); ok {
		t.Error("second Delete found something")
	}

	// Expired: the TTL ends it.
	short := NewCode()
	if err := v.Put(ctx, short.Keys(), sample(), time.Second); err != nil {
		t.Fatal(err)
	}
	if r.Mini != nil {
		r.Mini.FastForward(2 * time.Second)
	} else {
		deadline := time.Now().Add(10 * time.Second)
		for r.Client.Exists(ctx, v.Key(short.Keys().Lookup)).Val() == 1 {
			if time.Now().After(deadline) {
				t.Fatal("kept thread outlived its TTL")
			}
			time.Sleep(50 * time.Millisecond) // polling Redis's expiry
		}
	}
	if _, _, err := v.Open(ctx, short.String()); !errors.Is(err, ErrUnknown) {
		t.Errorf("expired code: Open = %v, want ErrUnknown", err)
	}
}

func TestVaultUpdate(t *testing.T) {
	ctx := context.Background()
	r := redistest.New(t)
	v := NewVault(r.Client, r.Prefix)
	k := NewCode().Keys()
	// Ten updates at once: every part stays.
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			errs <- v.Update(ctx, k, time.Hour, func(th *Thread, _ bool) {
				th.Parts = append(th.Parts, Part{Kind: PartChat, Started: int64(i)})
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Update = %v", err)
		}
	}
	got, err := v.Get(ctx, k)
	if err != nil || len(got.Parts) != 10 {
		t.Fatalf("after ten updates at once: %d parts, %v; want 10", len(got.Parts), err)
	}
	// The first update finds nothing; later ones find the thread.
	fresh := NewCode().Keys()
	var founds []bool
	for range 2 {
		if err := v.Update(ctx, fresh, time.Hour, func(_ *Thread, found bool) { founds = append(founds, found) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(founds) != 2 || founds[0] || !founds[1] {
		t.Errorf("found = %v, want [false true]", founds)
	}
	// What does not open under the key is left as it is.
	if err := r.Client.Set(ctx, v.Key(k.Lookup), "not sealed by us", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := v.Update(ctx, k, time.Hour, func(th *Thread, _ bool) { th.Parts = nil }); err == nil {
		t.Error("Update over an unreadable thread succeeded")
	}
	if s := r.Client.Get(ctx, v.Key(k.Lookup)).Val(); s != "not sealed by us" {
		t.Errorf("unreadable thread overwritten with %q", s)
	}
}
