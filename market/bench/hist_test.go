package bench

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us += 1 + us/97 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucket of %d µs is %d, below the previous %d", us, b, prev)
		}
		prev = b
		if lo := lowerBound(b); lo > us || lowerBound(b+1) <= us {
			t.Fatalf("%d µs in bucket %d = [%d, %d)", us, b, lo, lowerBound(b+1))
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.99, 9900 * time.Microsecond}} {
		got := h.quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.02 {
			t.Errorf("q%.2f = %v, want %v within 2%%", c.q, got, c.want)
		}
	}
	if h.quantile(1) != 10*time.Millisecond || h.max != 10*time.Millisecond {
		t.Errorf("max %v / q1 %v, want 10ms", h.max, h.quantile(1))
	}
}
