package fingerprint

import (
	"bytes"
	"testing"
	"unicode/utf16"
)

func TestLowEntropy(t *testing.T) {
	text := textBytes(51, 8192)
	u16 := utf16.Encode([]rune(string(text)))
	utf16le := make([]byte, 0, 2*len(u16))
	for _, u := range u16 {
		utf16le = append(utf16le, byte(u), byte(u>>8))
	}
	sparse := make([]byte, 8192)
	for i := 0; i < len(sparse); i += 37 {
		sparse[i] = byte(i)
	}
	table := make([]byte, 8192) // 95% zeros, varied values: real content
	for i, r := range randomBytes(54, 8192) {
		if r < 13 {
			table[i] = randomBytes(uint64(i), 1)[0]
		}
	}
	edge := make([]byte, 8192) // zero padding ending in a small header
	copy(edge[8192-64:], randomBytes(55, 64))
	cases := []struct {
		name string
		data []byte
		low  bool
	}{
		{"zeros", make([]byte, 8192), true},
		{"0xff", bytes.Repeat([]byte{0xff}, 8192), true},
		{"sparse", sparse, true},
		{"zeros then a 64-byte header", edge, true},
		{"sparse varied table", table, false},
		{"float32 1.0 array", bytes.Repeat([]byte{0, 0, 0x80, 0x3f}, 2048), true},
		{"abab", bytes.Repeat([]byte("ab"), 4096), true},
		{"8-byte pattern", bytes.Repeat([]byte("ABCDEFGH"), 1024), true},
		{"random", randomBytes(52, 8192), false},
		{"text", text, false},
		{"utf-16 text", utf16le[:8192], false},
		{"dna", dna(53, 8192), false},
		{"one byte", []byte("x"), true},
	}
	for _, c := range cases {
		if got := lowEntropy(c.data); got != c.low {
			t.Errorf("%s: low entropy %v, want %v", c.name, got, c.low)
		}
	}
}

// dna returns a random ACGT string: few distinct bytes, yet real content.
func dna(seed uint64, n int) []byte {
	r := randomBytes(seed, n)
	for i := range r {
		r[i] = "ACGT"[r[i]&3]
	}
	return r
}
