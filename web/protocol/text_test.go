package protocol

import (
	"encoding/json"
	"testing"
)

func TestValidJSONString(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`"plain"`, true},
		{`""`, true},
		{`"escapes \" \\ \/ \b \f \n \r \t"`, true},
		{`"\u00e9 and é"`, true},
		{`"pair \ud83d\ude00"`, true},
		{`"pair \uD83D\uDE00 upper"`, true},
		{`"\ud800"`, false},
		{`"\udfff"`, false},
		{`"high then text \ud800x"`, false},
		{`"high then other escape \ud800\n"`, false},
		{`"high then high \ud800\ud800"`, false},
		{`"high then BMP \ud83d\u0041"`, false},
		{`"cut \ud83d\ude0"`, false},
		{"\"bad \xff byte\"", false},
		{"\"half a sequence \xe2\x82\"", false},
		{"\"encoded surrogate \xed\xa0\x80\"", false},
	}
	for _, tt := range tests {
		if got := ValidJSONString([]byte(tt.raw)); got != tt.want {
			t.Errorf("ValidJSONString(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestMessageBadText(t *testing.T) {
	tests := []struct {
		frame string
		text  string
		bad   bool
	}{
		{`{"type":"message","id":"a","text":"hi"}`, "hi", false},
		{`{"type":"message","id":"a","text":"\ud800"}`, "\uFFFD", true},
		{"{\"type\":\"message\",\"id\":\"a\",\"text\":\"\xff\"}", "\uFFFD", true},
		{"{\"type\":\"message\",\"id\":\"\xff\",\"text\":\"fine\"}", "fine", false},
		{`{"type":"message","id":"a"}`, "", false},
		{`{"type":"message","id":"a","text":null}`, "", false},
	}
	for _, tt := range tests {
		var m Message
		if err := json.Unmarshal([]byte(tt.frame), &m); err != nil {
			t.Fatalf("Unmarshal(%q) = %v", tt.frame, err)
		}
		if m.Text != tt.text || m.BadText != tt.bad || m.Type != TypeMessage {
			t.Errorf("Unmarshal(%q) = %+v, want text %q, bad %v", tt.frame, m, tt.text, tt.bad)
		}
	}
	var m Message
	if err := json.Unmarshal([]byte(`{"type":"message","id":"a","text":5}`), &m); err == nil {
		t.Error("a number as text decoded without error")
	}
	// The flag never goes on the wire.
	b, _ := json.Marshal(Message{Type: TypeMessage, ID: "a", Text: "x", BadText: true})
	if string(b) != `{"type":"message","id":"a","text":"x"}` {
		t.Errorf("Marshal = %s", b)
	}

	var tr Transfer
	if err := json.Unmarshal([]byte(`{"conversation":"c","to_queue":"q","note":"\udc00"}`), &tr); err != nil || !tr.BadNote || tr.ToQueue != "q" {
		t.Errorf("transfer with a lone surrogate in its note = %+v, %v; want BadNote", tr, err)
	}
}
