package fingerprint

import (
	"testing"
	"time"

	"github.com/zeebo/blake3"
)

const benchSize = 64 << 20

// The ratios compare against raw blake3 over the same buffer, timed in the
// same run and interleaved with the measured loop, so a busy or throttled
// machine moves both sides alike.

// measure runs f over data b.N times and reports its throughput as a
// multiple of raw blake3 (x_blake3) and raw blake3's own rate (blake3_GB/s).
func measure(b *testing.B, data []byte, f func([]byte)) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	var raw, own time.Duration
	for b.Loop() {
		b.StopTimer()
		t := time.Now()
		blake3.Sum256(data)
		raw += time.Since(t)
		b.StartTimer()
		t = time.Now()
		f(data)
		own += time.Since(t)
	}
	b.ReportMetric(raw.Seconds()/own.Seconds(), "x_blake3")
	b.ReportMetric(float64(len(data))*float64(b.N)/raw.Seconds()/1e9, "blake3_GB/s")
}

// BenchmarkHasher measures the whole upload pass: CDC, per-chunk blake3 (chained into the file digest),
// per-chunk blake3 and the low-entropy check, fed in 1 MiB writes.
func BenchmarkHasher(b *testing.B) {
	measure(b, randomBytes(1, benchSize), func(data []byte) {
		h := NewHasher()
		for p := data; len(p) > 0; p = p[min(len(p), 1<<20):] {
			_, _ = h.Write(p[:min(len(p), 1<<20)])
		}
		h.Sum()
	})
}

// BenchmarkHasherText is BenchmarkHasher on compressible text.
func BenchmarkHasherText(b *testing.B) {
	measure(b, textBytes(1, benchSize), func(data []byte) { Sum(data) })
}

// BenchmarkChunker measures the gear chunker alone.
func BenchmarkChunker(b *testing.B) {
	measure(b, randomBytes(2, benchSize), func(data []byte) {
		n := 0
		Split(data, func(int) { n++ })
	})
}

// BenchmarkBlake3 is raw blake3 over the same data, for reference.
func BenchmarkBlake3(b *testing.B) {
	data := randomBytes(1, benchSize)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		blake3.Sum256(data)
	}
}
