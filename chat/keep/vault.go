package keep

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/advicechat/advicechat/chat"
)

// ErrUnknown is the one answer to a code that is wrong, expired, deleted
// or malformed.
var ErrUnknown = errors.New("this code is not known or has expired")

// Part kinds.
const (
	PartChat     = "chat"     // a live conversation
	PartQuestion = "question" // a question left while the chat was closed, and its answer
)

// Part is one conversation of a thread: its entries as the visitor saw
// them (messages and system lines; never internal notes), with the
// conversation's own seqs.
type Part struct {
	Kind    string       `json:"kind"`
	Started int64        `json:"started"` // Unix ms
	Entries []chat.Entry `json:"entries"`
}

// Thread is what a code unlocks: every conversation kept under it, oldest
// first, and what routing needs to prefer the advisor who had it last.
type Thread struct {
	Parts    []Part `json:"parts"`
	Audience string `json:"audience"`
	Lang     string `json:"lang"`
	// Advisor is the username of the advisor who had the last part. It
	// stays inside the seal, like everything else.
	Advisor string `json:"advisor,omitempty"`
}

// Vault keeps sealed threads in Redis, each under its lookup id with a
// TTL; nothing else is stored with them.
type Vault struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewVault returns a vault whose keys start with prefix.
func NewVault(rdb redis.UniversalClient, prefix string) *Vault {
	return &Vault{rdb: rdb, prefix: prefix}
}

// Key is the Redis key of a thread; each has its own hash slot.
func (v *Vault) Key(lookup string) string { return v.prefix + "{k:" + lookup + "}" }

// padTo rounds the sealed text's length up, so that its size tells little
// about how long the conversation was.
const padTo = 512

// Seal encrypts a thread under k. The lookup id is bound to it as
// associated data: a sealed thread copied under another id does not open.
func Seal(k Keys, t Thread) ([]byte, error) {
	plain, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("encode thread: %w", err)
	}
	if r := len(plain) % padTo; r != 0 {
		pad := make([]byte, padTo-r)
		for i := range pad {
			pad[i] = ' ' // JSON white space
		}
		plain = append(plain, pad...)
	}
	aead, err := chacha20poly1305.NewX(k.Key[:])
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plain, []byte(k.Lookup)), nil
}

// Unseal decrypts what Seal wrote; any failure is ErrUnknown.
func Unseal(k Keys, sealed []byte) (Thread, error) {
	aead, err := chacha20poly1305.NewX(k.Key[:])
	if err != nil || len(sealed) < aead.NonceSize() {
		return Thread{}, ErrUnknown
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(k.Lookup))
	if err != nil {
		return Thread{}, ErrUnknown
	}
	var t Thread
	if err := json.Unmarshal(plain, &t); err != nil {
		return Thread{}, ErrUnknown
	}
	return t, nil
}

// Put seals t under k and stores it for ttl, replacing what was there.
func (v *Vault) Put(ctx context.Context, k Keys, t Thread, ttl time.Duration) error {
	sealed, err := Seal(k, t)
	if err != nil {
		return err
	}
	if err := v.rdb.Set(ctx, v.Key(k.Lookup), sealed, ttl).Err(); err != nil {
		return fmt.Errorf("store kept thread: %w", err)
	}
	return nil
}

// Update changes the thread under k in one optimistic transaction: fn
// gets what is stored (an empty thread and found false when nothing is)
// and changes it; the result is sealed and stored for ttl. When another
// changed the thread meanwhile, it is read again and fn called again, so
// that two updates at once (a conversation ending, a question answered
// under one code) both stay. A stored thread that does not open is never
// overwritten.
func (v *Vault) Update(ctx context.Context, k Keys, ttl time.Duration, fn func(t *Thread, found bool)) error {
	key := v.Key(k.Lookup)
	for range 20 {
		err := v.rdb.Watch(ctx, func(tx *redis.Tx) error {
			var t Thread
			found := false
			b, err := tx.Get(ctx, key).Bytes()
			switch {
			case errors.Is(err, redis.Nil):
			case err != nil:
				return fmt.Errorf("read kept thread: %w", err)
			default:
				if t, err = Unseal(k, b); err != nil {
					return errors.New("a kept thread does not open under its own key; left as it is")
				}
				found = true
			}
			fn(&t, found)
			sealed, err := Seal(k, t)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, sealed, ttl)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return errors.New("the kept thread kept changing; not updated")
}

// Get returns the thread stored under k, or ErrUnknown.
func (v *Vault) Get(ctx context.Context, k Keys) (Thread, error) {
	b, err := v.rdb.Get(ctx, v.Key(k.Lookup)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Thread{}, ErrUnknown
	}
	if err != nil {
		return Thread{}, fmt.Errorf("read kept thread: %w", err)
	}
	return Unseal(k, b)
}

// Delete removes the thread stored under k; it reports whether there was
// one.
func (v *Vault) Delete(ctx context.Context, k Keys) (bool, error) {
	n, err := v.rdb.Del(ctx, v.Key(k.Lookup)).Result()
	if err != nil {
		return false, fmt.Errorf("delete kept thread: %w", err)
	}
	return n > 0, nil
}

// absent is the code a malformed one is looked up as: derived and looked
// up like any other, so that a malformed code costs what a wrong one
// costs. What it finds is never returned for a malformed code.
var absent = Code{0: 0xff, 9: 0xff}

// Open reads a code as typed and returns its keys and thread. A
// malformed, wrong, expired or deleted code gets ErrUnknown after the same
// work: one derivation and one lookup.
func (v *Vault) Open(ctx context.Context, typed string) (Keys, Thread, error) {
	c, ok := ParseCode(typed)
	if !ok {
		c = absent
	}
	k := c.Keys()
	t, err := v.Get(ctx, k)
	if !ok && err == nil {
		err = ErrUnknown
	}
	if err != nil {
		return Keys{}, Thread{}, err
	}
	return k, t, nil
}
