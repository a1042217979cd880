package chat

import (
	"encoding/json"
	"testing"
)

// entrySeeds are published entries as the append script and Signal write
// them, and the shapes that must go to json.Unmarshal.
var entrySeeds = []string{
	`{"conversation":"c1","seq":3,"kind":"message","from":"visitor","at":1764876543210,"id":"m1","text":"hello"}`,
	`{"at":1764876543210,"conversation":"c1","from":"advisor","id":"a1","kind":"message","seq":4,"text":"line\nnext \/ \"q\" \u00e9 \ud83d\ude00"}`,
	`{"conversation":"c1","seq":5,"kind":"joined","from":"system","name":"Sam","at":1}`,
	`{"conversation":"c1","seq":0,"kind":"typing","from":"visitor","at":0}`,
	`{"conversation":"c1","seq":6,"kind":"ended","from":"system","reason":"visitor","at":-0}`,
	`{"conversation":"c1","seq":7,"kind":"message","from":"visitor","text":"é ü 😀 עברית","at":2}`,
	"{\"conversation\":\"c1\",\"text\":\"\xff\"}",
	"{\"text\":\"a\x01b\"}",
	` { "seq" : 1 , "kind" : "message" } `,
	`{}`,
	`{"Seq":2}`,
	`{"seq":1.5}`,
	`{"seq":1e3}`,
	`{"seq":01}`,
	`{"seq":12345678901234567890}`,
	`{"seq":"1"}`,
	`{"text":null}`,
	`{"extra":[1,{"a":2}],"seq":1}`,
	`{"seq":1,"seq":2}`,
	`{"seq":1}x`,
	`{"seq":1,}`,
	`[1]`,
	`{"text":"unterminated}`,
	``,
}

func TestDecodeEntry(t *testing.T) {
	for _, s := range entrySeeds {
		checkDecodeEntry(t, []byte(s))
	}
	e, err := DecodeEntry([]byte(entrySeeds[0]))
	want := Entry{Conversation: "c1", Seq: 3, Kind: KindMessage, From: FromVisitor, At: 1764876543210, ClientID: "m1", Text: "hello"}
	if err != nil || e != want {
		t.Errorf("DecodeEntry(%s) = %+v, %v, want %+v", entrySeeds[0], e, err, want)
	}
	var flat Entry
	if !decodeFlatEntry([]byte(entrySeeds[0]), &flat) {
		t.Errorf("a plain published message is not read in one pass")
	}
}

// FuzzDecodeEntry: DecodeEntry gives what json.Unmarshal gives, and fails
// where it fails.
func FuzzDecodeEntry(f *testing.F) {
	for _, s := range entrySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecodeEntry(t, b) })
}

func checkDecodeEntry(t *testing.T, b []byte) {
	t.Helper()
	got, gerr := DecodeEntry(b)
	var want Entry
	werr := json.Unmarshal(b, &want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("DecodeEntry(%q) error %v, json.Unmarshal's %v", b, gerr, werr)
	}
	if werr == nil && got != want {
		t.Fatalf("DecodeEntry(%q) = %+v, json.Unmarshal gives %+v", b, got, want)
	}
}
