package web

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/advicechat/advicechat/chat"
	"github.com/advicechat/advicechat/web/protocol"
)

// FuzzMessageFrame feeds arbitrary client frames through the decoding and
// checks of a message: it must never panic, and whatever it accepts must
// be storable as is.
func FuzzMessageFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","id":"c1","text":"hallo"}`,
		`{"type":"message","id":"c1","text":"   "}`,
		`{"type":"message","id":"","text":"x"}`,
		`{"type":"message","id":"a b","text":"x"}`,
		`{"type":"message","id":"c1","text":"` + strings.Repeat("é", 4001) + `"}`,
		"{\"type\":\"message\",\"id\":\"c1\",\"text\":\"\xff\"}",
		`{"type":"message","conversation":"00000000000000000000000000000000","id":"c1","text":"<script>alert(1)</script>"}`,
		`{"type":5}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var head struct {
			Type *string `json:"type"`
		}
		if !utf8.Valid(data) || json.Unmarshal(data, &head) != nil || head.Type == nil {
			return // refused before any check
		}
		var m protocol.Message
		if json.Unmarshal(data, &m) != nil {
			return
		}
		e, code, msg := checkMessage(m)
		if code != "" {
			if msg == "" {
				t.Fatalf("error %q without a message", code)
			}
			return
		}
		if chat.ValidClientID(e.ClientID) != nil {
			t.Fatalf("accepted client id %q", e.ClientID)
		}
		if !utf8.ValidString(e.Text) || strings.TrimSpace(e.Text) != e.Text || e.Text == "" || utf8.RuneCountInString(e.Text) > chat.MaxTextRunes {
			t.Fatalf("accepted text %q", e.Text)
		}
	})
}

// FuzzRedactAddrs checks that no IPv4 address survives the error-log
// filter.
func FuzzRedactAddrs(f *testing.F) {
	for _, s := range []string{
		"http: TLS handshake error from 203.0.113.7:51234: EOF",
		"http: superfluous response.WriteHeader call from [2001:db8::1]:443",
		"accept error: 10.0.0.1",
		"nothing to see",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := RedactAddrs(s)
		if ipv4.MatchString(out) {
			t.Fatalf("RedactAddrs(%q) = %q still has an address", s, out)
		}
	})
}
