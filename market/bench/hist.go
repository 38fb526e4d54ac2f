package bench

import (
	"math/bits"
	"time"
)

// histogram records latencies in log-linear buckets: 64 sub-buckets per
// power of two of microseconds, so a quantile is off by at most 1/64
// (1.6%). It is not safe for concurrent use: each worker keeps its own and
// they are merged at the end.
type histogram struct {
	counts [64 * 64]int64
	n      int64
	max    time.Duration
}

const subBits = 6 // 64 sub-buckets

func bucketOf(us uint64) int {
	if us < 1<<subBits {
		return int(us)
	}
	exp := bits.Len64(us) - subBits // ≥ 1
	return exp<<subBits | int(us>>(exp-1)&(1<<subBits-1))
}

// lowerBound is the smallest latency, in µs, that lands in bucket i.
func lowerBound(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	exp := i >> subBits
	return (1<<subBits | uint64(i&(1<<subBits-1))) << (exp - 1)
}

func (h *histogram) record(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	i := min(bucketOf(us), len(h.counts)-1)
	h.counts[i]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of the samples lie
// (the upper edge of its bucket, so it never flatters).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			up := time.Duration(lowerBound(i+1)) * time.Microsecond
			return min(up, h.max)
		}
	}
	return h.max
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
