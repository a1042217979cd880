package protocol

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// encoding/json quietly turns invalid UTF-8 and a lone surrogate escape
// (\ud800) into U+FFFD. A message's text must be what the sender wrote, so
// the frames that carry one keep whether its raw field was valid, and the
// server refuses it with bad_utf8 naming the message. Only that field
// counts: invalid bytes in another field turn into U+FFFD and then fail
// that field's own check (an id, a conversation, an audience).

// UnmarshalJSON decodes a message frame and records whether its text was
// valid UTF-8 without lone surrogates.
func (m *Message) UnmarshalJSON(b []byte) error {
	d, err := DecodeMessage(b)
	if err != nil {
		return err
	}
	*m = d
	return nil
}

// DecodeMessage decodes a message frame as Message.UnmarshalJSON does, in
// one pass over the frame where json.Unmarshal into a Message makes two
// (it checks the frame, then hands it to UnmarshalJSON, which decodes it
// again): the handlers of every message call it.
func DecodeMessage(b []byte) (Message, error) {
	type plain Message
	var aux struct {
		plain
		Text json.RawMessage `json:"text"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return Message{}, err
	}
	m := Message(aux.plain)
	m.Text, m.BadText = "", false
	raw := aux.Text
	switch {
	case len(raw) == 0 || string(raw) == "null":
	case len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw):
		// A string without escapes, checked as JSON already: its bytes are
		// the text.
		m.Text = string(raw[1 : len(raw)-1])
	default:
		if err := json.Unmarshal(raw, &m.Text); err != nil {
			return Message{}, err
		}
		m.BadText = !ValidJSONString(raw)
	}
	return m, nil
}

// UnmarshalJSON decodes a transfer and records whether its note was valid
// UTF-8 without lone surrogates.
func (t *Transfer) UnmarshalJSON(b []byte) error {
	type plain Transfer
	var aux struct {
		plain
		Note json.RawMessage `json:"note"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*t = Transfer(aux.plain)
	t.Note, t.BadNote = "", false
	if len(aux.Note) == 0 || string(aux.Note) == "null" {
		return nil
	}
	if err := json.Unmarshal(aux.Note, &t.Note); err != nil {
		return err
	}
	t.BadNote = !ValidJSONString(aux.Note)
	return nil
}

// ValidJSONString reports whether raw, a JSON string token as it came on
// the wire, is valid UTF-8 and every \u escape of a surrogate is half of a
// pair.
func ValidJSONString(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue // \" \\ \/ \b \f \n \r \t: one byte
		}
		r, ok := hex4(raw, i+1)
		if !ok {
			return false
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low half on its own
		case r >= 0xD800 && r <= 0xDBFF:
			// A high half must be followed by \u and a low half.
			if i+2 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return false
			}
			lo, ok := hex4(raw, i+3)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

// hex4 reads four hex digits at raw[at:].
func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
