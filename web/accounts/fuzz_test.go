package accounts

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzLoad feeds arbitrary accounts files to Load, the decoder of the
// configuration the server and the CLI trust: it must never panic, and
// what it accepts must be valid accounts that survive being written and
// read again unchanged.
func FuzzLoad(f *testing.F) {
	anna := testAccount(f, "anna", "pw")
	anna.TOTPSecret = mustTOTPSecret(f, "anna")
	bob := testAccount(f, "bob", "pw")
	good := filepath.Join(f.TempDir(), "good.json")
	mustSave(f, good, anna, bob)
	data, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(data),
		"",
		"  \n",
		`{"accounts": []}`,
		`{"accounts": null}`,
		`{"accounts": [{"username": "anna",,}]}`,
		`{"accounts": [{"username": 5}]}`,
		`{"accounts": [{"username": "anna", "max_conversation": 3}]}`,
		`{"accounts": []} {}`,
		`{"accounts": [{"username": "anna", "totp_secret": "!!"}]}`,
		`[]`,
		`null`,
		"{\"accounts\": [{\"name\": \"\xff\"}]}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "accounts.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := Load(path)
		if err != nil {
			if file != nil {
				t.Fatalf("Load = %+v, %v: a file and an error", file, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, a := range file.Accounts {
			if err := a.Validate(); err != nil {
				t.Fatalf("Load accepted an invalid account %q: %v", a.Username, err)
			}
			if seen[a.Username] {
				t.Fatalf("Load accepted %q twice", a.Username)
			}
			seen[a.Username] = true
		}
		// What Save writes, without its fsyncs, which would make the
		// fuzzer crawl.
		out, err := json.MarshalIndent(file, "", "  ")
		if err != nil {
			t.Fatalf("marshal a loaded file: %v", err)
		}
		back, err := parse(out)
		if err != nil {
			t.Fatalf("parse of a saved file = %v\n%s", err, out)
		}
		if len(back.Accounts) != len(file.Accounts) || (len(file.Accounts) > 0 && !reflect.DeepEqual(back.Accounts, file.Accounts)) {
			t.Fatalf("Save and Load changed the accounts:\n%+v\nwant\n%+v", back.Accounts, file.Accounts)
		}
	})
}

// FuzzCheckPassword: any username and password, valid UTF-8 or not, get
// an answer without a panic, and a refusal is always ErrWeakPassword.
func FuzzCheckPassword(f *testing.F) {
	for _, seed := range [][2]string{{"anna", ""}, {"", "x"}, {"a", "aaaa"}, {"anna.visser", "\xff\xfe visser"}, {"bob", "P@ssw0rd2024!"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, username, password string) {
		if err := CheckPassword(username, password); err != nil && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("CheckPassword(%q, %q) = %v, want nil or ErrWeakPassword", username, password, err)
		}
	})
}
