package auth

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advicechat/advicechat/chat/redisstore/redistest"
	"github.com/advicechat/advicechat/web/accounts"
)

func TestParseLoginForm(t *testing.T) {
	for _, tt := range []struct {
		body string
		want loginForm
	}{
		{"username=anna&password=pw&code=123456", loginForm{"anna", "pw", "123456"}},
		{"username=+Anna+&password=+pw+&code=123+456", loginForm{"anna", " pw ", "123456"}},
		{"username=anna&password=pw", loginForm{"anna", "pw", ""}},
		{"", loginForm{}},
		{"username=a&username=b&code=1&code=2", loginForm{"a", "", "1"}},
	} {
		v, err := url.ParseQuery(tt.body)
		if err != nil {
			t.Fatal(err)
		}
		if got := parseLoginForm(v); got != tt.want {
			t.Errorf("parseLoginForm(%q) = %+v, want %+v", tt.body, got, tt.want)
		}
	}
}

// FuzzLoginForm feeds arbitrary form bodies through the login form's
// decoding: it must never panic, the username must be in its normal form
// (so that the throttle and the accounts agree on who it is), and the code
// must hold no spaces.
func FuzzLoginForm(f *testing.F) {
	for _, seed := range []string{
		"username=anna&password=pw&code=123456",
		"username=+Anna+&password=pw&code=123+456",
		"username=%FF&password=%00&code=%E2%80%8B",
		"username=%C4%B0&code=",
		"=&&=&%",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return // ParseForm refuses it with 400
		}
		got := parseLoginForm(v)
		if accounts.NormalizeUsername(got.username) != got.username {
			t.Fatalf("username %q is not normalized", got.username)
		}
		if strings.Contains(got.code, " ") {
			t.Fatalf("code %q has a space", got.code)
		}
		if got.password != v.Get("password") {
			t.Fatalf("password %q changed to %q", v.Get("password"), got.password)
		}
	})
}

// TestTOTPStepUsedOnce: a TOTP step is accepted once per account, and never
// one at or below a step accepted before.
func TestTOTPStepUsedOnce(t *testing.T) {
	r := redistest.New(t)
	g := newLoginGuard(r.Client, r.Prefix, nil)
	ctx := context.Background()
	for _, tt := range []struct {
		user string
		step int64
		want bool
	}{
		{"anna", 100, true},
		{"anna", 100, false}, // the same code again
		{"anna", 99, false},  // an older code after a newer one
		{"bob", 100, true},   // another account has its own record
		{"anna", 101, true},
		{"anna", 103, true},
		{"anna", 102, false},
	} {
		got, err := g.useStep(ctx, tt.user, tt.step)
		if err != nil || got != tt.want {
			t.Errorf("useStep(%s, %d) = %v, %v, want %v", tt.user, tt.step, got, err, tt.want)
		}
	}
	ttl := r.Client.PTTL(ctx, r.Prefix+"totp:anna").Val()
	if ttl <= 0 || ttl > totpReplayTTL {
		t.Errorf("PTTL(totp:anna) = %v, want up to %v", ttl, totpReplayTTL)
	}
	// The record outlives every step a code is valid in.
	if span := 3 * accounts.TOTPPeriod; totpReplayTTL < span {
		t.Errorf("totpReplayTTL = %v, shorter than the %v a code is valid", totpReplayTTL, span)
	}
}

// TestTOTPStepRace: instances racing with the same code: exactly one wins.
func TestTOTPStepRace(t *testing.T) {
	r := redistest.New(t)
	var won atomic.Int32
	var wg sync.WaitGroup
	step := accounts.TOTPStep(time.Now())
	for range 16 {
		g := newLoginGuard(r.Client, r.Prefix, nil) // one per "instance"
		wg.Go(func() {
			ok, err := g.useStep(context.Background(), "anna", step)
			if err != nil {
				t.Errorf("useStep = %v", err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if n := won.Load(); n != 1 {
		t.Errorf("%d of 16 concurrent uses of one step accepted, want 1", n)
	}
}
