package redistest

import "testing"

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
		{"foo{bar}", KeySlot("bar")},
		{"{foo}bar", KeySlot("foo")},
		{"{user1000}.following", KeySlot("{user1000}.followers")},
		{"foo{{bar}}zap", KeySlot("{bar")},
		{"foo{bar}{zap}", KeySlot("bar")},
	}
	for _, tt := range tests {
		if got := KeySlot(tt.key); got != tt.want {
			t.Errorf("KeySlot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}
