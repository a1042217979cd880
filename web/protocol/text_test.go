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

// FuzzDecodeMessage: the one-pass decode of a message frame gives what
// decoding the whole frame and then its text on their own gives: the
// same fields, the same text, the same verdict on its bytes, and an error
// for the same frames.
func FuzzDecodeMessage(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","id":"a","text":"hi"}`,
		`{"type":"message","id":"a","conversation":"c","text":"é ü 😀"}`,
		`{"type":"message","id":"a","text":"line\nnext \"quoted\" \u00e9 \ud83d\ude00"}`,
		`{"type":"message","id":"a","text":"\ud800"}`,
		"{\"type\":\"message\",\"id\":\"a\",\"text\":\"\xff\"}",
		`{"type":"message","id":"a","text":""}`,
		`{"type":"message","id":"a","text":null}`,
		`{"type":"message","id":"a","text":5}`,
		`{"type":"message","id":"a"}`,
		`{"type":"message","id":"a","text":"x","text":"y"}`,
		`[1,2]`,
		`{"type":"message","id":"a","text":"unterminated}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := DecodeMessage(b)
		type plain Message
		var aux struct {
			plain
			Text json.RawMessage `json:"text"`
		}
		werr := json.Unmarshal(b, &aux)
		want := Message(aux.plain)
		want.Text, want.BadText = "", false
		if werr == nil && len(aux.Text) > 0 && string(aux.Text) != "null" {
			werr = json.Unmarshal(aux.Text, &want.Text)
			want.BadText = !ValidJSONString(aux.Text)
		}
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("DecodeMessage(%q) error %v, the two-pass decode's %v", b, gerr, werr)
		}
		if gerr == nil && got != want {
			t.Fatalf("DecodeMessage(%q) = %+v, the two-pass decode gives %+v", b, got, want)
		}
	})
}
