package fingerprint

import (
	"encoding/binary"
	"math"
)

// Low-entropy detection must cost next to nothing next to blake3, so it
// looks at a fixed sample of each chunk instead of every byte. The sample
// positions depend only on the chunk's length, so equal chunks always get
// the same verdict.
const (
	byteSamples = 256
	wordSamples = 32
	// minInfo is the information, in bits, a mostly-one-byte chunk must
	// carry to be scored: order-0 entropy of the sample times the chunk's
	// length, at least 256 bytes' worth. Zero fill, padding and zero runs
	// with a few bytes of common structure at their edges fall below it
	// (those are what unrelated files share); sparse but varied tables
	// (opcode and relocation tables at 95% zeros, about 0.5 bits per byte)
	// stay scored, because two of them are only equal when copied.
	minInfo = 256 * 8
	// Chunks with few distinct byte values get a second look for a short
	// repeating pattern (see periodic): at most maxPeriodWords recurring
	// 8-byte words and at most maxOnce words seen once among wordSamples.
	fewBytes       = 16
	maxPeriodWords = 8
	maxOnce        = 2
)

// lowEntropy reports whether chunk c is too uniform to identify anything.
// Like the chunker it is exempt from race instrumentation.
//
//go:norace
func lowEntropy(c []byte) bool {
	n := len(c)
	if n == 0 {
		return true
	}
	m := min(n, byteSamples)
	step := n / m
	var cnt [256]uint16
	top, distinct := 0, 0
	for i := range m {
		k := &cnt[c[i*step]]
		if *k == 0 {
			distinct++
		}
		*k++
		top = max(top, int(*k))
	}
	// A most common byte under half the sample means more than one bit of
	// min-entropy, hence of Shannon entropy, per byte: such chunks carry
	// enough, so the logarithms are only taken for mostly-one-byte chunks.
	if 2*top >= m && entropyBits(&cnt, m)*float64(n) < minInfo {
		return true
	}
	return distinct <= fewBytes && periodic(c)
}

// entropyBits returns the order-0 entropy of the counts, in bits per byte.
func entropyBits(cnt *[256]uint16, m int) float64 {
	var sum float64
	for _, k := range cnt {
		if k > 0 {
			sum += float64(k) * math.Log2(float64(k))
		}
	}
	return math.Log2(float64(m)) - sum/float64(m)
}

// periodic reports whether c looks like a short pattern repeated: among
// wordSamples 8-byte words at spread-out positions, at most maxPeriodWords
// distinct values that recur and no more than a few that occur once. With a
// period of 8 bytes or less every phase recurs; sparse data (mostly zero
// words and varied rare ones) has many words that occur once.
func periodic(c []byte) bool {
	if len(c) < 8*wordSamples {
		return false
	}
	step := (len(c) - 8) / (wordSamples - 1)
	var words [wordSamples]uint64
	var counts [wordSamples]int
	n := 0
	for i := range wordSamples {
		w := binary.LittleEndian.Uint64(c[i*step:])
		j := index(words[:n], w)
		if j < 0 {
			j = n
			words[n] = w
			n++
		}
		counts[j]++
	}
	once := 0
	for _, k := range counts[:n] {
		if k == 1 {
			once++
		}
	}
	return n-once <= maxPeriodWords && once <= maxOnce
}

func index(s []uint64, v uint64) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
