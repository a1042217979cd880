package web

import (
	"regexp"
	"testing"
)

var ipv4 = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`)

func TestRedactAddrs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http: TLS handshake error from 203.0.113.7:51234: EOF", "http: TLS handshake error from [addr]: EOF"},
		{"from [2001:db8::1]:443: reset", "from [addr]: reset"},
		{"from 2001:db8:0:0:0:0:0:1 done", "from [addr] done"},
		{"http: Accept error: accept tcp 127.0.0.1:8080: too many open files", "http: Accept error: accept tcp [addr]: too many open files"},
		{"nothing here: EOF", "nothing here: EOF"},
	}
	for _, tt := range tests {
		if got := RedactAddrs(tt.in); got != tt.want {
			t.Errorf("RedactAddrs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
