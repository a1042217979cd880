package main

import (
	"bytes"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/advicechat/advicechat/web/accounts"
)

type advisorResult struct {
	code           int
	stdout, stderr string
}

// runAdvisorTest runs the advisor command with ADVICECHAT_ACCOUNTS set to
// path and stdin as its input.
func runAdvisorTest(tb testing.TB, path, stdin string, args ...string) advisorResult {
	tb.Helper()
	getenv := func(key string) string {
		if key == "ADVICECHAT_ACCOUNTS" {
			return path
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	code := runAdvisor(args, getenv, strings.NewReader(stdin), &stdout, &stderr)
	return advisorResult{code, stdout.String(), stderr.String()}
}

// mustRunAdvisor runs the advisor command and fails the test if it fails.
func mustRunAdvisor(tb testing.TB, path, stdin string, args ...string) advisorResult {
	tb.Helper()
	r := runAdvisorTest(tb, path, stdin, args...)
	if r.code != 0 {
		tb.Fatalf("runAdvisor(%q) = %d, stderr %q, want 0", args, r.code, r.stderr)
	}
	return r
}

func mustFind(tb testing.TB, path, username string) accounts.Account {
	tb.Helper()
	f, err := accounts.Load(path)
	if err != nil {
		tb.Fatalf("Load(%s) = %v", path, err)
	}
	a, ok := f.Find(username)
	if !ok {
		tb.Fatalf("Find(%q) in %s = false, want true", username, path)
	}
	return a
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("ReadFile: %v", err)
	}
	return data
}

func verifies(tb testing.TB, hash, password string) bool {
	tb.Helper()
	ok, err := accounts.VerifyPassword(hash, password)
	if err != nil {
		tb.Fatalf("VerifyPassword = %v", err)
	}
	return ok
}

var shownPassword = regexp.MustCompile(`password for (\S+): (\S+) \(shown once; store it safely\)`)

func TestAdvisorAddList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	r := mustRunAdvisor(t, path, "", "add", "-name", "Anna B", "-role", "supervisor", "-languages", "nl, en", "-max", "5", "anna")
	if !strings.Contains(r.stdout, "added supervisor anna") {
		t.Errorf("add stdout = %q, want it to say added supervisor anna", r.stdout)
	}
	m := shownPassword.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != "anna" {
		t.Fatalf("add stdout = %q, want the generated password for anna", r.stdout)
	}
	a := mustFind(t, path, "anna")
	if !verifies(t, a.PasswordHash, m[2]) {
		t.Errorf("stored hash does not verify the printed password")
	}

	r = mustRunAdvisor(t, path, "", "list")
	for _, want := range []string{"USERNAME", "anna", "Anna B", "supervisor", "nl,en", "public,professional", "5"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("list stdout = %q, want it to contain %q", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout, "argon2") || strings.Contains(r.stdout, m[2]) {
		t.Errorf("list stdout = %q, shows a hash or password", r.stdout)
	}
}

func TestAdvisorAddPasswordStdin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	r := mustRunAdvisor(t, path, "a long secret phrase\r\nignored\n", "add", "-password-stdin", "bob")
	if strings.Contains(r.stdout, "password for") {
		t.Errorf("add -password-stdin stdout = %q, want no password shown", r.stdout)
	}
	a := mustFind(t, path, "bob")
	if !verifies(t, a.PasswordHash, "a long secret phrase") {
		t.Errorf("stored hash does not verify the password from stdin")
	}
	// The defaults of add.
	if a.Name != "bob" || a.Role != accounts.RoleAdvisor || strings.Join(a.Languages, ",") != "nl" ||
		strings.Join(a.Audiences, ",") != "public,professional" || a.MaxConversations != 3 {
		t.Errorf("add bob stored %+v, want name bob, advisor, nl, public,professional, max 3", a)
	}
}

func TestAdvisorFileFlag(t *testing.T) {
	dir := t.TempDir()
	envPath, flagPath := filepath.Join(dir, "env.json"), filepath.Join(dir, "flag.json")
	mustRunAdvisor(t, envPath, "a long secret phrase", "-file", flagPath, "add", "-password-stdin", "anna")
	mustRunAdvisor(t, envPath, "", "remove", "-file", flagPath, "anna")
	if _, err := os.Stat(envPath); !os.IsNotExist(err) {
		t.Errorf("Stat(%s) = %v, want not exist: -file must win over ADVICECHAT_ACCOUNTS", envPath, err)
	}
	if r := mustRunAdvisor(t, "", "", "-file", flagPath, "list"); !strings.Contains(r.stdout, "no accounts") {
		t.Errorf("list after remove = %q, want no accounts", r.stdout)
	}
}

func TestAdvisorDuplicate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	mustRunAdvisor(t, path, "a long secret phrase", "add", "-password-stdin", "anna")
	before := mustRead(t, path)
	r := runAdvisorTest(t, path, "", "add", "-name", "Other", "anna")
	if r.code != 1 || !strings.Contains(r.stderr, `"anna" already exists`) {
		t.Errorf("add anna twice = %d, %q, want 1 and already exists", r.code, r.stderr)
	}
	if after := mustRead(t, path); !bytes.Equal(before, after) {
		t.Errorf("add anna twice changed the file:\n%s\nwant\n%s", after, before)
	}
}

func TestAdvisorRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	mustRunAdvisor(t, path, "a long secret phrase", "add", "-password-stdin", "anna")
	if r := mustRunAdvisor(t, path, "", "remove", "anna"); !strings.Contains(r.stdout, "removed advisor anna") {
		t.Errorf("remove stdout = %q, want removed advisor anna", r.stdout)
	}
	if r := mustRunAdvisor(t, path, "", "list"); strings.Contains(r.stdout, "anna") {
		t.Errorf("list after remove = %q, still shows anna", r.stdout)
	}
	if r := runAdvisorTest(t, path, "", "remove", "anna"); r.code != 1 || !strings.Contains(r.stderr, `no account "anna"`) {
		t.Errorf("remove anna again = %d, %q, want 1 and no account", r.code, r.stderr)
	}
}

func TestAdvisorPasswd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	mustRunAdvisor(t, path, "the old password", "add", "-password-stdin", "anna")
	mustRunAdvisor(t, path, "the new password", "passwd", "-password-stdin", "anna")
	a := mustFind(t, path, "anna")
	if verifies(t, a.PasswordHash, "the old password") || !verifies(t, a.PasswordHash, "the new password") {
		t.Errorf("after passwd the stored hash does not verify only the new password")
	}

	r := mustRunAdvisor(t, path, "", "passwd", "anna")
	m := shownPassword.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("passwd stdout = %q, want a generated password", r.stdout)
	}
	if a := mustFind(t, path, "anna"); !verifies(t, a.PasswordHash, m[2]) {
		t.Errorf("after passwd the stored hash does not verify the generated password")
	}
}

func TestAdvisorBadInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	mustRunAdvisor(t, path, "a long secret phrase", "add", "-password-stdin", "anna")
	before := mustRead(t, path)

	for _, tt := range []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     string // in stderr
		usage    bool   // stderr is a usage text, not a one-line error
	}{
		{"no command", nil, "", 2, "usage: advicechat advisor", true},
		{"help", []string{"-h"}, "", 2, "usage: advicechat advisor", true},
		{"add help", []string{"add", "-h"}, "", 2, "-languages", true},
		{"unknown command", []string{"frobnicate"}, "", 2, `unknown command "frobnicate"`, false},
		{"unknown flag", []string{"add", "-colour", "red", "bob"}, "", 2, "-colour", false},
		{"missing username", []string{"add"}, "", 2, "missing USERNAME", false},
		{"remove missing username", []string{"remove"}, "", 2, "missing USERNAME", false},
		{"extra argument", []string{"add", "bob", "carol"}, "", 2, `unexpected argument "carol"`, false},
		{"flag after username", []string{"add", "bob", "-role", "supervisor"}, "", 2, "flags go before the username", false},
		{"list argument", []string{"list", "anna"}, "", 2, `unexpected argument "anna"`, false},
		{"bad username", []string{"add", "Bob!"}, "", 2, `USERNAME: "Bob!"`, false},
		{"unknown language", []string{"add", "-languages", "nl,xx", "bob"}, "", 2, `-languages: unknown language "xx" (known: nl, en, ar, tr, pl, uk)`, false},
		{"no language", []string{"add", "-languages", "", "bob"}, "", 2, "-languages: at least one", false},
		{"unknown audience", []string{"add", "-audiences", "kids", "bob"}, "", 2, `-audiences: unknown audience "kids"`, false},
		{"bad role", []string{"add", "-role", "boss", "bob"}, "", 2, `-role: unknown role "boss"`, false},
		{"max 0", []string{"add", "-max", "0", "bob"}, "", 2, "-max: must be between 1 and 20, got 0", false},
		{"max 21", []string{"add", "-max", "21", "bob"}, "", 2, "-max: must be between 1 and 20, got 21", false},
		{"max not a number", []string{"add", "-max", "many", "bob"}, "", 2, `invalid value "many" for flag -max`, false},
		{"short stdin password", []string{"add", "-password-stdin", "bob"}, "short\n", 1, "at least 12", false},
		{"empty stdin password", []string{"passwd", "-password-stdin", "anna"}, "", 1, "at least 12", false},
		{"passwd unknown user", []string{"passwd", "bob"}, "", 1, `no account "bob"`, false},
		{"totp unknown user", []string{"totp", "bob"}, "", 1, `no account "bob"`, false},
		{"totp missing username", []string{"totp"}, "", 2, "missing USERNAME", false},
		{"totp help", []string{"totp", "-h"}, "", 2, "-png", true},
		{"png without totp", []string{"add", "-png", "qr.png", "bob"}, "", 2, "-png needs -totp", false},
		{"png in a missing directory", []string{"totp", "-png", filepath.Join(t.TempDir(), "no", "qr.png"), "anna"}, "", 1, "-png: ", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runAdvisorTest(t, path, tt.stdin, tt.args...)
			if r.code != tt.wantCode || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("runAdvisor(%q) = %d, stderr %q, want %d and %q", tt.args, r.code, r.stderr, tt.wantCode, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("runAdvisor(%q) stdout = %q, want nothing", tt.args, r.stdout)
			}
			if !tt.usage && (strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "advicechat advisor")) {
				t.Errorf("runAdvisor(%q) stderr = %q, want one line", tt.args, r.stderr)
			}
			if after := mustRead(t, path); !bytes.Equal(before, after) {
				t.Errorf("runAdvisor(%q) changed the file", tt.args)
			}
		})
	}
}

func TestAdvisorBrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	if err := os.WriteFile(path, []byte("{\n  \"accounts\": [,]\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runAdvisorTest(t, path, "", "list")
	if r.code != 1 || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "line 2") {
		t.Errorf("list with broken file = %d, %q, want 1 and an error naming %s line 2", r.code, r.stderr, path)
	}
}

var (
	shownSecret = regexp.MustCompile(`TOTP secret for (\S+): ([A-Z2-7]+)\n`)
	shownURL    = regexp.MustCompile(`otpauth URL: (otpauth://\S+)\n`)
)

// shownTOTP returns the secret and URL a command printed, and the QR code
// it drew, read back into modules (true for dark).
func shownTOTP(t *testing.T, stdout string) (secret, rawURL string, modules [][]bool) {
	t.Helper()
	m, u := shownSecret.FindStringSubmatch(stdout), shownURL.FindStringSubmatch(stdout)
	if m == nil || u == nil {
		t.Fatalf("stdout = %q, want the TOTP secret and URL", stdout)
	}
	_, qrText, ok := strings.Cut(stdout, "type in the secret:\n")
	if !ok {
		t.Fatalf("stdout = %q, want a QR code", stdout)
	}
	for line := range strings.Lines(qrText) {
		line = strings.TrimSuffix(line, "\n")
		if strings.TrimLeft(line, " █▀▄") != "" {
			break // the text after the code
		}
		top, bottom := []bool{}, []bool{}
		for _, r := range line {
			// Light modules are drawn, dark ones are blank.
			top = append(top, r != '█' && r != '▀')
			bottom = append(bottom, r != '█' && r != '▄')
		}
		modules = append(modules, top, bottom)
	}
	return m[2], u[1], modules
}

// TestAdvisorTOTP: add -totp and totp enrol a second factor: the secret is
// stored and shown with its URL and a QR code of that URL; totp replaces
// it; list says whether one is set, never what it is.
func TestAdvisorTOTP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.json")
	pngPath := filepath.Join(dir, "anna.png")
	r := mustRunAdvisor(t, path, "a long secret phrase", "add", "-password-stdin", "-totp", "-png", pngPath, "anna")
	secret, rawURL, modules := shownTOTP(t, r.stdout)
	if a := mustFind(t, path, "anna"); a.TOTPSecret != secret {
		t.Errorf("stored secret %q, printed %q", a.TOTPSecret, secret)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Path != "/advicechat:anna" || u.Query().Get("issuer") != "advicechat" || u.Query().Get("secret") != secret {
		t.Errorf("otpauth URL %q, want issuer advicechat, account anna and the secret", rawURL)
	}
	want, err := qrMatrix(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if len(modules) > len(want) {
		modules = modules[:len(want)] // the half row below an odd-sized code
	}
	if !reflect.DeepEqual(modules, want) {
		t.Errorf("the QR code drawn is not the QR code of the URL:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "QR code written to "+pngPath) {
		t.Errorf("stdout = %q, want it to name the PNG", r.stdout)
	}
	checkQRPNG(t, pngPath, want)

	// A code made from the printed secret logs in: see TestLoginTOTP. Here,
	// that it is a working TOTP secret at all.
	if code, err := totp.GenerateCode(secret, time.Now()); err != nil || !totp.Validate(code, secret) {
		t.Errorf("the printed secret gives code %q, %v, which does not validate", code, err)
	}

	mustRunAdvisor(t, path, "a long secret phrase", "add", "-password-stdin", "bob")
	r = mustRunAdvisor(t, path, "", "list")
	if !regexp.MustCompile(`(?m)^anna .* yes$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^bob .* no$`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "TOTP") {
		t.Errorf("list stdout = %q, want a TOTP column: yes for anna, no for bob", r.stdout)
	}
	if strings.Contains(r.stdout, secret) {
		t.Errorf("list stdout = %q shows the TOTP secret", r.stdout)
	}

	r = mustRunAdvisor(t, path, "", "totp", "anna")
	newSecret, _, _ := shownTOTP(t, r.stdout)
	if newSecret == secret {
		t.Errorf("totp anna kept the old secret")
	}
	if a := mustFind(t, path, "anna"); a.TOTPSecret != newSecret {
		t.Errorf("after totp anna, stored secret %q, printed %q", a.TOTPSecret, newSecret)
	}
	r = mustRunAdvisor(t, path, "", "totp", "bob")
	if s, _, _ := shownTOTP(t, r.stdout); mustFind(t, path, "bob").TOTPSecret != s {
		t.Errorf("totp bob did not store the printed secret")
	}
}

// checkQRPNG reads the PNG back: black on white, mode 0600, and the same
// modules as want.
func checkQRPNG(t *testing.T, path string, want [][]bool) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("PNG mode = %v, want 0600: it holds the secret", mode)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	n := len(want)
	if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx()%n != 0 {
		t.Fatalf("PNG is %v, want a square of %d modules", b, n)
	}
	scale := img.Bounds().Dx() / n
	for y := range n {
		for x := range n {
			dark := color.GrayModel.Convert(img.At(x*scale+scale/2, y*scale+scale/2)).(color.Gray).Y < 0x80
			if dark != want[y][x] {
				t.Fatalf("PNG module (%d, %d) dark = %v, want %v", x, y, dark, want[y][x])
			}
		}
	}
}

// TestAdvisorRefusesWeakPasswords: a common password, or one that is or
// holds the username, is refused with a clear error, and the file is left
// as it was (or not made at all).
func TestAdvisorRefusesWeakPasswords(t *testing.T) {
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.json")
	for _, stdin := range []string{"Password1234", "bob-is-my-name"} {
		r := runAdvisorTest(t, fresh, stdin+"\n", "add", "-password-stdin", "bob")
		if r.code == 0 || !strings.Contains(r.stderr, "too easy to guess") {
			t.Errorf("add bob with %q = %d, %q; want a refusal", stdin, r.code, r.stderr)
		}
		if _, err := os.Stat(fresh); !os.IsNotExist(err) {
			t.Errorf("a refused add made the accounts file: %v", err)
		}
	}

	path := filepath.Join(dir, "accounts.json")
	mustRunAdvisor(t, path, "a long secret phrase", "add", "-password-stdin", "anna")
	before := mustRead(t, path)
	for _, tt := range []struct{ stdin, cmd, user, reason string }{
		{"passwordpassword", "add", "bob", "one of the most common passwords"},
		{"Sunshine4321", "add", "bob", "one of the most common passwords with digits"},
		{"P@ssw0rd2024!", "add", "bob", "look-alike"},
		{"WACHTWOORD2026", "add", "bob", "most common"},
		{"qwertyuiopas", "add", "bob", "a run along the keyboard"},
		{"monkeymonkey", "add", "bob", "repeated"},
		{"bob-is-my-name", "add", "bob", "holds the username"},
		{"BobBobBob2024", "add", "bob", "holds the username"},
		{"password12345", "passwd", "anna", "most common"},
		{"annaanna1234", "passwd", "anna", "holds the username"},
		{"I am ANNA, hello", "passwd", "anna", "holds the username"},
	} {
		r := runAdvisorTest(t, path, tt.stdin+"\n", tt.cmd, "-password-stdin", tt.user)
		want := "-password-stdin: password is too easy to guess: it " // then the reason
		if r.code == 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, tt.reason) ||
			!strings.Contains(r.stderr, "leave out -password-stdin for a generated one") {
			t.Errorf("%s %s with %q = %d, %q; want a refusal saying %q", tt.cmd, tt.user, tt.stdin, r.code, r.stderr, tt.reason)
		}
	}
	if after := mustRead(t, path); !bytes.Equal(before, after) {
		t.Error("a refused password changed the accounts file")
	}
}

// TestAdvisorFileMode: every command that writes the accounts file leaves
// it with mode 0600, whatever it had (a 0640 file, still accepted, comes
// back 0600), and none reads or writes one that group or others may
// write: it says how to fix that instead.
func TestAdvisorFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	mode := func() os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	for _, args := range [][]string{
		{"add", "-password-stdin", "anna"},
		{"add", "bob"},
		{"passwd", "-password-stdin", "anna"},
		{"totp", "anna"},
		{"remove", "bob"},
	} {
		if _, err := os.Stat(path); err == nil {
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		mustRunAdvisor(t, path, "a long secret phrase\n", args...)
		if m := mode(); m != 0o600 {
			t.Errorf("after %q the file has mode %04o, want 0600", args, m)
		}
	}

	if err := os.Chmod(path, 0o664); err != nil {
		t.Fatal(err)
	}
	before := mustRead(t, path)
	want := "accounts file " + path + ": mode 0664 is writable by group or others; chmod 600 it"
	for _, args := range [][]string{{"list"}, {"add", "carol"}, {"remove", "anna"}} {
		if r := runAdvisorTest(t, path, "", args...); r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("%q on a 0664 file = %d, %q; want a refusal %q", args, r.code, r.stderr, want)
		}
	}
	if after := mustRead(t, path); !bytes.Equal(before, after) || mode() != 0o664 {
		t.Error("a command refused on a 0664 file changed it")
	}
}
