package main

import (
	"testing"
	"time"
)

// Every value falls in a bucket whose top is at or above it and within 7%
// of it, and buckets grow with the value.
func TestHistBuckets(t *testing.T) {
	prev := -1
	for _, us := range []uint64{0, 1, 31, 32, 33, 47, 63, 64, 65, 100, 1000, 4095, 4096, 123456, 1 << 40} {
		b := bucketOf(us)
		top := bucketTop(b)
		if top < us || float64(top) > float64(us)*1.07+1 {
			t.Errorf("value %d: bucket %d has top %d", us, b, top)
		}
		if b < prev {
			t.Errorf("value %d: bucket %d below the previous value's %d", us, b, prev)
		}
		prev = b
		if b > 0 && bucketTop(b-1) >= us {
			t.Errorf("value %d: the bucket below (%d) already reaches %d", us, b-1, bucketTop(b-1))
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, 1000 * time.Millisecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.04 {
			t.Errorf("quantile(%v) = %s, want %s (within 4%%)", c.q, got, c.want)
		}
	}
}
