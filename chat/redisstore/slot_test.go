package redisstore_test

import (
	"strings"
	"testing"
)

// crc16 is CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as
// Redis Cluster uses it.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// keySlot is the Redis Cluster hash slot of key: only the part between the
// first { and the next } counts, if that part is not empty.
func keySlot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key) % 16384)
}

func TestKeySlot(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Errorf("crc16(%q) = %#x, want %#x", "123456789", got, 0x31C3)
	}
	// Values from the Redis Cluster specification and go-redis's tests.
	tests := []struct {
		key  string
		want int
	}{
		{"123456789", 12739},
		{"{}foo", 9500},
		{"foo{}", 5542},
		{"foo{}{bar}", 8363},
		{"foo", 12182},
		{"bar", 5061},
		{"foo{bar}", keySlot("bar")},
		{"{foo}bar", keySlot("foo")},
		{"{user1000}.following", keySlot("{user1000}.followers")},
		{"foo{{bar}}zap", keySlot("{bar")},
		{"foo{bar}{zap}", keySlot("bar")},
	}
	for _, tt := range tests {
		if got := keySlot(tt.key); got != tt.want {
			t.Errorf("keySlot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}
