package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", true},
		{"https://127.9.8.7:443", "https://127.9.8.7:443", true},
		{"http://localhost:8080", "http://localhost:8080", true},
		{"http://[::1]:8080", "http://[::1]:8080", true},
		{"http://10.0.0.1:8080", "", false},
		{"http://0.0.0.0:8080", "", false},
		{"http://chat.example.org", "", false},
		{"http://localhost.example.org:80", "", false},
		{"http://[::ffff:10.0.0.1]:80", "", false},
		{"ftp://127.0.0.1:21", "", false},
		{"http://127.0.0.1:8080/advisor", "", false},
		{"http://user:pw@127.0.0.1:8080", "", false},
		{"127.0.0.1:8080", "", false},
	}
	for _, tt := range tests {
		got, err := checkTarget(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("checkTarget(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseAdvisor(t *testing.T) {
	tests := []struct {
		in   string
		want Advisor
		ok   bool
	}{
		{"anna:secret pw", Advisor{Name: "anna", Password: "secret pw"}, true},
		{"anna:pw:with:colons", Advisor{Name: "anna", Password: "pw:with:colons"}, true},
		{"anna:pw:totp=JBSWY3DPEHPK3PXP", Advisor{Name: "anna", Password: "pw", TOTPSecret: "JBSWY3DPEHPK3PXP"}, true},
		{"anna", Advisor{}, false},
		{"anna:", Advisor{}, false},
		{":pw", Advisor{}, false},
		{"anna:pw:totp=not base32!", Advisor{}, false},
	}
	for _, tt := range tests {
		got, err := parseAdvisor(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseAdvisor(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("parseAdvisor(%q) error %q shows the password", tt.in, err)
		}
	}
}

func TestTOTPFromAccounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	data := `{"accounts":[{"username":"anna","totp_secret":"JBSWY3DPEHPK3PXP","future_field":1},{"username":"bram"}]}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	as := []Advisor{{Name: "anna", Password: "x"}, {Name: "bram", Password: "y"}}
	if err := TOTPFromAccounts(path, as); err != nil {
		t.Fatal(err)
	}
	if as[0].TOTPSecret != "JBSWY3DPEHPK3PXP" || as[1].TOTPSecret != "" {
		t.Errorf("TOTPFromAccounts: secrets %q, %q; want JBSWY3DPEHPK3PXP and none", as[0].TOTPSecret, as[1].TOTPSecret)
	}
}

// TestRunRefusesNonLoopback: the command stops before any connection
// when a target is not this machine.
func TestRunRefusesNonLoopback(t *testing.T) {
	tests := [][]string{
		{"-targets", "http://127.0.0.1:8080,http://192.0.2.1:8080", "-advisor", "anna:pw"},
		{"-targets", "http://example.org:80", "-advisor", "anna:pw"},
	}
	for _, args := range tests {
		var out, errOut strings.Builder
		code := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), "not a loopback address") {
			t.Errorf("run(%q) = %d, stderr %q; want 2 and a loopback error", args, code, errOut.String())
		}
	}
}

func TestParseFlags(t *testing.T) {
	env := map[string]string{
		"ADVICECHAT_LOAD_ADVISORS": "bram:pw2\n# comment\n\ncarla:pw3",
		"ADVICECHAT_LOAD_PASSWORD": "shared",
	}
	var errOut strings.Builder
	cfg, jsonOut, _, err := parseFlags([]string{
		"-targets", "http://127.0.0.1:1,http://localhost:2", "-advisor", "anna:pw1",
		"-advisor-prefix", "load", "-advisors", "2", "-rate", "3", "-json",
	}, func(k string) string { return env[k] }, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range cfg.Advisors {
		names = append(names, a.Name+":"+a.Password)
	}
	if got, want := strings.Join(names, ","), "anna:pw1,bram:pw2,carla:pw3,load1:shared,load2:shared"; got != want {
		t.Errorf("advisors %s, want %s", got, want)
	}
	if len(cfg.Targets) != 2 || cfg.Rate != 3 || !jsonOut {
		t.Errorf("targets %v, rate %v, json %v", cfg.Targets, cfg.Rate, jsonOut)
	}
	if _, _, _, err := parseFlags([]string{"-advisors", "2"}, func(string) string { return "" }, &errOut); err == nil {
		t.Error("-advisors without -advisor-prefix and password: no error")
	}
}
