package accounts

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func mustTOTPSecret(tb testing.TB, username string) string {
	tb.Helper()
	k, err := GenerateTOTP(username)
	if err != nil {
		tb.Fatalf("GenerateTOTP(%q) = %v", username, err)
	}
	return k.Secret()
}

func TestGenerateTOTP(t *testing.T) {
	k, err := GenerateTOTP("anna")
	if err != nil {
		t.Fatal(err)
	}
	if err := validateTOTPSecret(k.Secret()); err != nil {
		t.Errorf("GenerateTOTP secret: validateTOTPSecret = %v", err)
	}
	if len(k.Secret()) != 32 {
		t.Errorf("GenerateTOTP secret has %d base32 characters, want 32 (160 bits)", len(k.Secret()))
	}
	u, err := url.Parse(k.URL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/advicechat:anna" || q.Get("issuer") != "advicechat" ||
		q.Get("secret") != k.Secret() || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("GenerateTOTP URL = %s, want otpauth://totp/advicechat:anna with issuer, secret, 6 digits, 30 s, SHA1", k.URL())
	}
	if other := mustTOTPSecret(t, "anna"); other == k.Secret() {
		t.Errorf("GenerateTOTP made the same secret twice")
	}
}

func TestVerifyTOTP(t *testing.T) {
	secret := mustTOTPSecret(t, "anna")
	now := time.Unix(1_800_000_015, 0) // in the middle of a step
	cur := TOTPStep(now)
	code := func(step int64) string {
		t.Helper()
		c, err := totp.GenerateCode(secret, time.Unix(step*30, 0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct {
		name     string
		secret   string
		code     string
		wantStep int64
		wantOK   bool
	}{
		{"current step", secret, code(cur), cur, true},
		{"previous step", secret, code(cur - 1), cur - 1, true},
		{"next step", secret, code(cur + 1), cur + 1, true},
		{"two steps ago", secret, code(cur - 2), 0, false},
		{"two steps ahead", secret, code(cur + 2), 0, false},
		{"with spaces", secret, code(cur)[:3] + " " + code(cur)[3:], 0, false},
		{"too short", secret, code(cur)[:5], 0, false},
		{"too long", secret, code(cur) + "0", 0, false},
		{"not digits", secret, "12345a", 0, false},
		{"empty", secret, "", 0, false},
		{"other secret", mustTOTPSecret(t, "bob"), code(cur), 0, false},
		{"no secret", "", code(cur), 0, false},
		{"dummy secret's own code", "", mustCode(t, dummyTOTPSecret, now), 0, false},
		{"broken secret", "!!!", code(cur), 0, false},
	} {
		step, ok := VerifyTOTP(tt.secret, tt.code, now)
		if ok != tt.wantOK || step != tt.wantStep {
			t.Errorf("%s: VerifyTOTP(secret, %q, now) = %d, %v, want %d, %v", tt.name, tt.code, step, ok, tt.wantStep, tt.wantOK)
		}
	}
}

func mustCode(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := totp.GenerateCode(secret, t)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestValidateTOTPSecret(t *testing.T) {
	a := testAccount(t, "anna", "pw")
	a.TOTPSecret = mustTOTPSecret(t, "anna")
	if err := a.Validate(); err != nil {
		t.Errorf("Validate(with TOTP secret) = %v", err)
	}
	for _, secret := range []string{
		"GEZDGNBVGY3TQOJQ",                     // 10 bytes: too short
		"gezdgnbvgy3tqojqgezdgnbvgy3tqojq",     // lowercase
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====", // padding
		"GEZDGNBVGY3TQOJQ GEZDGNBVGY3TQOJQ",    // space
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",     // not base32
	} {
		a.TOTPSecret = secret
		err := a.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "totp_secret" {
			t.Errorf("Validate(totp_secret %q) = %v, want error on totp_secret", secret, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Validate(totp_secret %q) = %v: the error quotes the secret", secret, err)
		}
	}
}

func TestSetTOTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	var f File
	if err := f.Add(testAccount(t, "anna", "pw")); err != nil {
		t.Fatal(err)
	}
	secret := mustTOTPSecret(t, "anna")
	if err := f.SetTOTP("anna", secret); err != nil {
		t.Fatalf("SetTOTP(anna) = %v", err)
	}
	if err := f.SetTOTP("anna", "short"); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("SetTOTP(anna, short) = %v, want an error that does not quote the secret", err)
	}
	if err := f.SetTOTP("bob", secret); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetTOTP(bob) = %v, want ErrNotFound", err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := g.Find("anna"); a.TOTPSecret != secret {
		t.Errorf("after Save and Load, TOTPSecret = %q, want %q", a.TOTPSecret, secret)
	}
	if err := f.SetTOTP("anna", ""); err != nil {
		t.Fatalf("SetTOTP(anna, \"\") = %v", err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); strings.Contains(string(data), "totp_secret") {
		t.Errorf("an account without a secret is saved with a totp_secret field:\n%s", data)
	}
}
