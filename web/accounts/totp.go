package accounts

import (
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: what every authenticator app understands (RFC 6238
// defaults, as Google Authenticator uses them).
const (
	TOTPIssuer = "advicechat"
	// TOTPPeriod is the length of one time step.
	TOTPPeriod = 30 * time.Second
	// totpSkew accepts the step before and after the current one, for
	// clocks that are a little off and codes typed at the end of a step.
	totpSkew = 1
	// totpSecretSize is the secret's length in bytes (160 bits, as RFC
	// 4226 recommends); minTOTPSecret is the least Validate accepts.
	totpSecretSize = 20
	minTOTPSecret  = 16
)

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// dummyTOTPSecret is checked when there is no account or no secret, so a
// failed login costs the same work whatever made it fail.
const dummyTOTPSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// GenerateTOTP makes a new TOTP key for username: its Secret() goes into
// the account, its URL() (otpauth://...) into the authenticator app.
func GenerateTOTP(username string) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer:      TOTPIssuer,
		AccountName: username,
		Period:      uint(TOTPPeriod / time.Second),
		SecretSize:  totpSecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("generate TOTP key for %q: %w", username, err)
	}
	return k, nil
}

// validateTOTPSecret checks a base32 secret as GenerateTOTP makes it. Its
// errors never quote the secret.
func validateTOTPSecret(s string) error {
	b, err := totpEncoding.DecodeString(s)
	if err != nil {
		return errors.New("not base32 (A-Z, 2-7, no padding)")
	}
	if len(b) < minTOTPSecret {
		return fmt.Errorf("%d bytes, want at least %d", len(b), minTOTPSecret)
	}
	return nil
}

// TOTPStep returns the time step that t falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod/time.Second) }

// VerifyTOTP checks a six-digit code against secret at time now, allowing
// one step of clock skew either way, and returns the step the code belongs
// to. The caller must refuse a step at or below the last one it accepted
// for the account, or a code could be used twice. An empty secret checks a
// dummy secret and fails, so that it costs the same as a wrong code.
func VerifyTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	fake := secret == ""
	if fake {
		secret = dummyTOTPSecret
	}
	valid := len(code) == 6
	for _, r := range code {
		if r < '0' || r > '9' {
			valid = false
		}
	}
	if !valid {
		code = "000000" // still do the work: failures look alike
	}
	cur := TOTPStep(now)
	found := int64(-1)
	// Every candidate step is computed, also after a match.
	for _, s := range []int64{cur, cur - totpSkew, cur + totpSkew} {
		match, err := hotp.ValidateCustom(code, uint64(s), secret, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && match && found < 0 {
			found = s
		}
	}
	if fake || !valid || found < 0 {
		return 0, false
	}
	return found, true
}
