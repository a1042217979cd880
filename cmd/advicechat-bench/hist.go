package main

import (
	"math/bits"
	"sync"
	"time"
)

// hist is an HDR-style histogram of durations: log-linear buckets, 32 per
// power of two of microseconds, so a percentile is exact to about 3% from
// 1 µs to hours, in a few KiB whatever the count.
type hist struct {
	mu     sync.Mutex
	counts [64 * subBuckets]int64
	n      int64
	max    time.Duration
}

const (
	subBits    = 5
	subBuckets = 1 << subBits
)

func bucketOf(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	e := bits.Len64(us) - subBits // us >> e is in [16, 32)
	return (e+1)*subBuckets/2 + int(us>>(e))
}

// bucketTop is the largest value in bucket i, in microseconds.
func bucketTop(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	e := i/(subBuckets/2) - 1
	m := uint64(i - (e+1)*subBuckets/2)
	if m < subBuckets/2 {
		// The first buckets above subBuckets use the lower half.
		e--
		m += subBuckets / 2
	}
	return (m+1)<<e - 1
}

func (h *hist) add(d time.Duration) {
	us := uint64(max(0, d.Microseconds()))
	b := min(bucketOf(us), len(h.counts)-1)
	h.mu.Lock()
	h.counts[b]++
	h.n++
	h.max = max(h.max, d)
	h.mu.Unlock()
}

func (h *hist) count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// quantile returns the smallest bucket top at or above fraction q of the
// samples; 0 without samples.
func (h *hist) quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.999999)
	rank = max(1, min(rank, h.n))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketTop(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}
