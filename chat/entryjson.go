package chat

import (
	"encoding/json"
	"unicode/utf8"
)

// DecodeEntry decodes an entry as json.Unmarshal does. Every instance
// decodes every entry published on the conversations it follows, so the
// usual shape (a flat object of the entry's own keys, integers, and
// strings without escapes, as the append script writes a plain message)
// is read in one pass without reflection; anything else goes to
// json.Unmarshal. FuzzDecodeEntry holds the two to the same result.
func DecodeEntry(b []byte) (Entry, error) {
	var e Entry
	if decodeFlatEntry(b, &e) {
		return e, nil
	}
	e = Entry{}
	err := json.Unmarshal(b, &e)
	return e, err
}

// decodeFlatEntry decodes b into e if it has the usual shape, and reports
// whether it had; e holds garbage when it did not.
func decodeFlatEntry(b []byte, e *Entry) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipSpace(b, i+1)
		switch key {
		case "seq", "at":
			n, j, ok := plainInt(b, i)
			if !ok {
				return false
			}
			if key == "seq" {
				e.Seq = n
			} else {
				e.At = n
			}
			i = j
		case "conversation", "kind", "from", "id", "text", "name", "reason":
			s, j, ok := plainString(b, i)
			if !ok {
				return false
			}
			switch key {
			case "conversation":
				e.Conversation = s
			case "kind":
				e.Kind = Kind(s)
			case "from":
				e.From = s
			case "id":
				e.ClientID = s
			case "text":
				e.Text = s
			case "name":
				e.Name = s
			case "reason":
				e.Reason = s
			}
			i = j
		default:
			return false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return skipSpace(b, i+1) == len(b)
		default:
			return false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i:] that has no escapes, no
// control characters and only valid UTF-8, and returns it and the index
// after it.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	start := i + 1
	for j := start; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := b[start:j]
			if !utf8.Valid(s) {
				return "", 0, false
			}
			return string(s), j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// plainInt reads a JSON integer at b[i:] (no fraction, no exponent, at
// most 18 digits) and returns it and the index after it.
func plainInt(b []byte, i int) (int64, int, bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	digits := i - start
	if digits == 0 || digits > 18 || (digits > 1 && b[start] == '0') {
		return 0, 0, false
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, i, true
}
