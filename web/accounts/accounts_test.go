package accounts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// cheapParams keep tests fast; VerifyPassword reads the parameters from the
// hash, so these verify like the real ones.
var cheapParams = argonParams{memory: 64, time: 1, threads: 1}

func mustHash(tb testing.TB, password string) string {
	tb.Helper()
	h, err := hashWith(cheapParams, password)
	if err != nil {
		tb.Fatalf("hashWith: %v", err)
	}
	return h
}

func testAccount(tb testing.TB, username, password string) Account {
	tb.Helper()
	return Account{
		Username:         username,
		Name:             strings.ToUpper(username[:1]) + username[1:],
		Role:             RoleAdvisor,
		PasswordHash:     mustHash(tb, password),
		Languages:        []string{"nl", "en"},
		Audiences:        []string{"public"},
		MaxConversations: 3,
	}
}

func mustSave(tb testing.TB, path string, accounts ...Account) {
	tb.Helper()
	f := &File{Accounts: accounts}
	if err := f.Save(path); err != nil {
		tb.Fatalf("Save(%s) = %v", path, err)
	}
}

func TestHashVerify(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatalf("HashPassword = %v", err)
	}
	if prefix := "$argon2id$v=19$m=19456,t=2,p=1$"; !strings.HasPrefix(h, prefix) {
		t.Errorf("HashPassword = %q, want prefix %q", h, prefix)
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"correct horse battery", true},
		{"correct horse batter", false},
		{"", false},
	} {
		got, err := VerifyPassword(h, tt.password)
		if err != nil || got != tt.want {
			t.Errorf("VerifyPassword(h, %q) = %v, %v, want %v, nil", tt.password, got, err, tt.want)
		}
	}
}

func TestVerifyOtherParams(t *testing.T) {
	h, err := hashWith(argonParams{memory: 2048, time: 3, threads: 2}, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, "$m=2048,t=3,p=2$") {
		t.Fatalf("hashWith = %q, want m=2048,t=3,p=2", h)
	}
	if ok, err := VerifyPassword(h, "pw"); !ok || err != nil {
		t.Errorf("VerifyPassword(%q, pw) = %v, %v, want true, nil", h, ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	const salt = "tqPP9P3DJHit4kKGeP/YtA"
	const key = "+HWA8D8Ylb00cTM0MLY6Tuq0fm2XFO0JPVZHdeajjrY"
	for _, phc := range []string{
		"",
		"secret",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=abc,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=4,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$a2V5",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
	} {
		if ok, err := VerifyPassword(phc, "pw"); ok || err == nil {
			t.Errorf("VerifyPassword(%q, pw) = %v, %v, want false, error", phc, ok, err)
		}
	}
}

func TestGeneratePassword(t *testing.T) {
	a, b := GeneratePassword(), GeneratePassword()
	if a == b {
		t.Errorf("GeneratePassword() returned %q twice", a)
	}
	for _, p := range []string{a, b} {
		if len(p) != 20 {
			t.Errorf("GeneratePassword() = %q, want 20 characters", p)
		}
		if i := strings.IndexAny(p, "0O1lI"); i >= 0 {
			t.Errorf("GeneratePassword() = %q, has look-alike %q", p, p[i])
		}
	}
}

func TestValidate(t *testing.T) {
	valid := testAccount(t, "anna", "pw")
	if err := valid.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v, want nil", valid, err)
	}
	for _, tt := range []struct {
		name  string
		edit  func(*Account)
		field string
	}{
		{"empty username", func(a *Account) { a.Username = "" }, "username"},
		{"uppercase username", func(a *Account) { a.Username = "Anna" }, "username"},
		{"username with space", func(a *Account) { a.Username = "anna b" }, "username"},
		{"username starting with dot", func(a *Account) { a.Username = ".anna" }, "username"},
		{"username too long", func(a *Account) { a.Username = strings.Repeat("a", 33) }, "username"},
		{"empty name", func(a *Account) { a.Name = "" }, "name"},
		{"name too long", func(a *Account) { a.Name = strings.Repeat("é", 41) }, "name"},
		{"name with newline", func(a *Account) { a.Name = "An\nna" }, "name"},
		{"bad role", func(a *Account) { a.Role = "boss" }, "role"},
		{"empty role", func(a *Account) { a.Role = "" }, "role"},
		{"unknown language", func(a *Account) { a.Languages = []string{"nl", "xx"} }, "languages"},
		{"empty languages", func(a *Account) { a.Languages = nil }, "languages"},
		{"duplicate language", func(a *Account) { a.Languages = []string{"nl", "nl"} }, "languages"},
		{"unknown audience", func(a *Account) { a.Audiences = []string{"kids"} }, "audiences"},
		{"empty audiences", func(a *Account) { a.Audiences = []string{} }, "audiences"},
		{"max 0", func(a *Account) { a.MaxConversations = 0 }, "max_conversations"},
		{"max 21", func(a *Account) { a.MaxConversations = 21 }, "max_conversations"},
		{"no password", func(a *Account) { a.PasswordHash = "" }, "password"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := valid.clone()
			tt.edit(&a)
			err := a.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("Validate(%+v) = %v, want error on field %s", a, err, tt.field)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	f, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if err != nil || f == nil || len(f.Accounts) != 0 {
		t.Errorf("Load(missing) = %v, %v, want empty file, nil", f, err)
	}
}

func TestLoadErrors(t *testing.T) {
	good := testAccount(t, "anna", "pw")
	for _, tt := range []struct {
		name    string
		content string
		want    []string // substrings of the error besides the path
	}{
		{"syntax", "{\n  \"accounts\": [\n    {\"username\": \"anna\",,}\n  ]\n}\n", []string{"line 3"}},
		{"type", "{\"accounts\": [\n{\"username\": 5}]}", []string{"line 2"}},
		{"unknown field", `{"accounts": [{"username": "anna", "max_conversation": 3}]}`, []string{"max_conversation"}},
		{"trailing data", `{"accounts": []} {}`, []string{"after"}},
		{"trailing brace", `{"accounts": []} }`, []string{"after"}},
		{"invalid account", `{"accounts": [{"username": "anna", "name": "Anna", "role": "advisor", "password": "` + good.PasswordHash + `", "languages": ["xx"], "audiences": ["public"], "max_conversations": 3}]}`, []string{`"anna"`, "languages", `"xx"`}},
		{"duplicate", `{"accounts": [{"username": "anna", "name": "Anna", "role": "advisor", "password": "` + good.PasswordHash + `", "languages": ["nl"], "audiences": ["public"], "max_conversations": 3},
{"username": "anna", "name": "Anna", "role": "advisor", "password": "` + good.PasswordHash + `", "languages": ["nl"], "audiences": ["public"], "max_conversations": 3}]}`, []string{"account 2", "twice"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "accounts.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, nil, want error", tt.name, f)
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%s) = %v, want error containing %q", tt.name, err, w)
				}
			}
		})
	}
}

func TestSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "accounts.json")
	want := []Account{testAccount(t, "anna", "a"), testAccount(t, "bob", "b")}
	want[1].Role = RoleSupervisor
	mustSave(t, path, want...)
	mustSave(t, path, want...) // overwriting works too

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("Save: mode = %v, want 0600", mode)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Save left %d files in the directory, want 1", len(entries))
	}
	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if len(f.Accounts) != len(want) {
		t.Fatalf("Load = %d accounts, want %d", len(f.Accounts), len(want))
	}
	for i := range want {
		got := f.Accounts[i]
		if got.Username != want[i].Username || got.Name != want[i].Name || got.Role != want[i].Role ||
			got.PasswordHash != want[i].PasswordHash || strings.Join(got.Languages, ",") != strings.Join(want[i].Languages, ",") ||
			strings.Join(got.Audiences, ",") != strings.Join(want[i].Audiences, ",") || got.MaxConversations != want[i].MaxConversations {
			t.Errorf("Load: account %d = %+v, want %+v", i, got, want[i])
		}
	}

	bad := &File{Accounts: []Account{{Username: "x"}}}
	if err := bad.Save(path); err == nil {
		t.Errorf("Save(invalid account) = nil, want error")
	}
}

func TestFileEdits(t *testing.T) {
	var f File
	a := testAccount(t, "anna", "pw")
	a.Name = ""
	if err := f.Add(a); err != nil {
		t.Fatalf("Add(anna) = %v", err)
	}
	if got, ok := f.Find("anna"); !ok || got.Name != "anna" {
		t.Errorf("Find(anna) = %+v, %v, want Name anna (defaulted)", got, ok)
	}
	if err := f.Add(a); err == nil {
		t.Errorf("Add(anna) twice = nil, want error")
	}
	h := mustHash(t, "new")
	if err := f.SetPassword("anna", h); err != nil {
		t.Errorf("SetPassword(anna) = %v", err)
	}
	if got, _ := f.Find("anna"); got.PasswordHash != h {
		t.Errorf("after SetPassword, hash = %q, want %q", got.PasswordHash, h)
	}
	if err := f.SetPassword("anna", "plain"); err == nil {
		t.Errorf("SetPassword(anna, plain) = nil, want error")
	}
	if err := f.SetPassword("bob", h); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword(bob) = %v, want ErrNotFound", err)
	}
	if err := f.Remove("bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove(bob) = %v, want ErrNotFound", err)
	}
	if err := f.Remove("anna"); err != nil {
		t.Errorf("Remove(anna) = %v", err)
	}
	if _, ok := f.Find("anna"); ok {
		t.Errorf("Find(anna) after Remove = true, want false")
	}
}

func TestStoreRereads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	s := NewStore(path)
	if n := s.Count(); n != 0 {
		t.Errorf("Count() with no file = %d, want 0", n)
	}

	anna, bob := testAccount(t, "anna", "a"), testAccount(t, "bob", "b")
	mustSave(t, path, anna)
	if _, ok := s.Lookup("anna"); !ok {
		t.Errorf("Lookup(anna) after file created = false, want true")
	}
	mustSave(t, path, anna, bob)
	if _, ok := s.Lookup("bob"); !ok {
		t.Errorf("Lookup(bob) after file changed = false, want true")
	}

	if err := os.WriteFile(path, []byte(`{"accounts": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup("bob"); !ok {
		t.Errorf("Lookup(bob) after file broke = false, want true (last good copy)")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Err() after file broke = %v, want error naming %s", err, path)
	}

	mustSave(t, path, bob)
	if _, ok := s.Lookup("anna"); ok {
		t.Errorf("Lookup(anna) after removal = true, want false")
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() after file fixed = %v, want nil", err)
	}
}

func TestStoreExtra(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	fileDemo := testAccount(t, "demo", "from-file")
	mustSave(t, path, fileDemo, testAccount(t, "anna", "a"))
	memDemo := testAccount(t, "demo", "in-memory")
	s := NewStore(path, memDemo)
	if n := s.Count(); n != 2 {
		t.Errorf("Count() = %d, want 2", n)
	}
	if got, _ := s.Lookup("demo"); got.PasswordHash != memDemo.PasswordHash {
		t.Errorf("Lookup(demo) = the file's account, want the in-memory one")
	}
	if n := NewStore("", memDemo).Count(); n != 1 {
		t.Errorf("NewStore(\"\", demo).Count() = %d, want 1", n)
	}
}

func TestAuthenticate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	mustSave(t, path, testAccount(t, "anna", "right"))
	s := NewStore(path)
	for _, tt := range []struct {
		username, password string
		wantErr            error
	}{
		{"anna", "right", nil},
		{" Anna", "right", nil},
		{"anna", "wrong", ErrInvalidCredentials},
		{"anna", "", ErrInvalidCredentials},
		{"nobody", "right", ErrInvalidCredentials},
	} {
		a, err := s.Authenticate(context.Background(), tt.username, tt.password)
		if !errors.Is(err, tt.wantErr) || (err == nil && a.Username != "anna") {
			t.Errorf("Authenticate(%q, %q) = %q, %v, want error %v", tt.username, tt.password, a.Username, err, tt.wantErr)
		}
	}
}

func TestAuthenticateWaitsForSlot(t *testing.T) {
	s := NewStore("", testAccount(t, "anna", "right"))
	for range maxHashing {
		s.sem <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Authenticate(ctx, "anna", "right"); !errors.Is(err, context.Canceled) {
		t.Errorf("Authenticate with all slots busy and ctx canceled = %v, want context.Canceled", err)
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	anna, bob := testAccount(t, "anna", "a"), testAccount(t, "bob", "b")
	mustSave(t, path, anna)
	s := NewStore(path)

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			username, password, want := "anna", "a", error(nil)
			switch i % 4 {
			case 1:
				password, want = "wrong", ErrInvalidCredentials
			case 2:
				username, want = "nobody", ErrInvalidCredentials
			}
			if _, err := s.Authenticate(context.Background(), username, password); !errors.Is(err, want) {
				t.Errorf("Authenticate(%q, %q) = %v, want %v", username, password, err, want)
			}
			s.Count()
		})
	}
	wg.Go(func() {
		// Rewriting the file while logins run exercises the re-read path.
		for range 3 {
			for _, f := range []*File{{Accounts: []Account{anna, bob}}, {Accounts: []Account{anna}}} {
				if err := f.Save(path); err != nil {
					t.Errorf("Save = %v", err)
				}
			}
		}
	})
	wg.Wait()
}

func TestDemo(t *testing.T) {
	a, password := Demo()
	if err := a.Validate(); err != nil {
		t.Errorf("Demo() account: Validate() = %v", err)
	}
	if a.Username != "demo" || a.Role != RoleSupervisor || a.MaxConversations != 3 {
		t.Errorf("Demo() = %+v, want username demo, supervisor, max 3", a)
	}
	if ok, err := VerifyPassword(a.PasswordHash, password); !ok || err != nil {
		t.Errorf("VerifyPassword(demo hash, demo password) = %v, %v, want true, nil", ok, err)
	}
}

// TestStoreRefusesUnsafeMode: an accounts file that group or others may
// write is refused, at start and on every reload, with an error naming
// the file and its mode; the last good copy stays in use and the refusal
// is logged once.
func TestStoreRefusesUnsafeMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	anna, bob := testAccount(t, "anna", "a"), testAccount(t, "bob", "b")
	mustSave(t, path, anna)
	for _, mode := range []os.FileMode{0o664, 0o606, 0o666, 0o620, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("accounts file %s: mode %04o is writable by group or others; chmod 600 it", path, mode)
		if _, err := Load(path); !errors.Is(err, ErrUnsafeMode) || err.Error() != want {
			t.Errorf("Load(mode %04o) = %v, want %q", mode, err, want)
		}
		if err := NewStore(path).Err(); !errors.Is(err, ErrUnsafeMode) {
			t.Errorf("NewStore(mode %04o).Err() = %v, want ErrUnsafeMode", mode, err)
		}
	}
	// Reading is not writing: 0644 and 0400 load.
	for _, mode := range []os.FileMode{0o644, 0o400, 0o600} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err != nil {
			t.Errorf("Load(mode %04o) = %v, want nil", mode, err)
		}
	}

	var logged bytes.Buffer
	s := NewStore(path)
	s.SetLogger(slog.New(slog.NewTextHandler(&logged, nil)))
	if _, ok := s.Lookup("anna"); !ok || s.Err() != nil {
		t.Fatalf("Lookup(anna) at 0600 = %v, err %v", ok, s.Err())
	}

	// A chmod alone changes neither the time nor the size: still seen.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); !errors.Is(err, ErrUnsafeMode) {
		t.Errorf("Err() after chmod 666 = %v, want ErrUnsafeMode", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Err(); err != nil {
		t.Errorf("Err() after chmod 600 again = %v, want nil", err)
	}
	logged.Reset()

	// A reload of a file that became group-writable is refused, even one
	// that adds an account: that is what an attacker would do.
	mustSave(t, path, anna, bob)
	if err := os.Chmod(path, 0o620); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok := s.Lookup("bob"); ok {
			t.Error("an account from a group-writable file was taken in")
		}
		if _, ok := s.Lookup("anna"); !ok {
			t.Error("the last good copy was dropped")
		}
		if n := s.Count(); n != 1 {
			t.Errorf("Count() = %d, want 1 (the last good copy)", n)
		}
	}
	if err := s.Err(); !errors.Is(err, ErrUnsafeMode) {
		t.Errorf("Err() after the chmod = %v, want ErrUnsafeMode", err)
	}
	if got := logged.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "level=ERROR") ||
		!strings.Contains(got, path) || !strings.Contains(got, "mode 0620") || !strings.Contains(got, "last good copy") {
		t.Errorf("log after a refused reload = %q, want one error naming the file and its mode", got)
	}

	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup("bob"); !ok || s.Err() != nil {
		t.Errorf("after chmod 600: Lookup(bob) = %v, err %v", ok, s.Err())
	}
}

// TestCheckPassword: each kind of weak password is refused with its own
// reason, in any case; good ones pass.
func TestCheckPassword(t *testing.T) {
	for _, tt := range []struct {
		username, password string
		reason             string // "" for accepted
	}{
		{"anna", "correct horse battery staple", ""},
		{"anna", "Zb7#kq!9mWr2", ""},
		{"bob", "a long secret phrase", ""},
		{"al", "a long secret phrase", ""}, // "al" is too short to look for in it
		{"anna", "", "empty"},
		{"anna", "passwordpassword", "most common"},
		{"anna", "QWERTY123", "most common"},    // case does not matter
		{"anna", "Password1234", "most common"}, // common word, then digits
		{"anna", "Welkom2026!!", "most common"}, // a Dutch one, then a year
		{"anna", "!!2026Welkom", "most common"}, // the year before it
		{"anna", "P@ssw0rd2024", "most common"}, // look-alike characters
		{"anna", "Notused2024!", "most common"}, // from the end of openwall.lst
		{"anna", "123456789012", "only digits"}, // digits only
		{"anna", "!!!!!!!!!!!!", "only digits"}, // punctuation only
		{"anna", "aaaaaaaaaaaa", "few characters repeated"},
		{"anna", "kq7kq7kq7kq7", "few characters repeated"},
		{"anna", "monkeymonkey", "weak password repeated"},
		{"anna", "qwertyuiopas", "run along"},  // along the keyboard
		{"anna", "lkjhgfdsapoi", "run along"},  // along it backwards
		{"anna", "abcdefghijklm", "run along"}, // the alphabet
		{"al", "al!!", "the username"},         // shorter than 3: only itself
		{"al", "AL", "the username"},
		{"annabel", "Annabel12345", "the username"},
		{"anna", "anna-is-my-name", "holds the username"},
		{"anna", "I am ANNA, hi", "holds the username"},
		{"anna.visser", "the Visser family 1987", "holds the username"},
		{"anna.visser", "Anna.Visser.2024", "the username"},
	} {
		err := CheckPassword(tt.username, tt.password)
		switch {
		case tt.reason == "" && err != nil:
			t.Errorf("CheckPassword(%q, %q) = %v, want nil", tt.username, tt.password, err)
		case tt.reason != "" && (!errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), tt.reason)):
			t.Errorf("CheckPassword(%q, %q) = %v, want ErrWeakPassword saying %q", tt.username, tt.password, err, tt.reason)
		}
	}
}

// TestCommonPasswordsEmbedded: both lists are in, and each of their
// entries is refused as it stands and in upper case.
func TestCommonPasswordsEmbedded(t *testing.T) {
	if n := len(commonPasswords); n < 3500 {
		t.Errorf("the embedded lists hold %d passwords, want the 3546 of openwall.lst and the local ones", n)
	}
	for _, w := range []string{"123456", "password", "sss", "welkom", "wachtwoord", "1q2w3e4r5t"} {
		if !commonPasswords[w] {
			t.Errorf("%q is not on the embedded lists", w)
		}
	}
	for w := range commonPasswords {
		if CheckPassword("x", w) == nil || CheckPassword("x", strings.ToUpper(w)) == nil {
			t.Errorf("CheckPassword(%q) = nil, want it refused", w)
		}
	}
}
