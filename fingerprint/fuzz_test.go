package fingerprint

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"testing"
)

// FuzzChunker: any input, split into any two writes, gives chunks that tile
// it exactly within the size bounds, the same as one write. grow repeats the
// fuzzed bytes up to grow KiB, so short inputs still reach the MaxSize cut
// without the fuzzer having to carry (and minimize) 100 KB inputs.
func FuzzChunker(f *testing.F) {
	f.Add([]byte{}, uint32(0), uint8(0))
	f.Add([]byte("hello"), uint32(2), uint8(0))
	f.Add(randomBytes(1, 3000), uint32(MaxSize+7), uint8(200))
	f.Add([]byte{0}, uint32(MinSize), uint8(130))
	f.Add([]byte("ab"), uint32(1), uint8(64))
	f.Fuzz(func(t *testing.T, data []byte, split uint32, grow uint8) {
		if grow > 0 && len(data) > 0 {
			n := int(grow) << 10
			data = bytes.Repeat(data, n/len(data)+1)[:n]
		}
		whole := Sum(data)
		checkTiling(t, whole, len(data))
		k := int(split % uint32(len(data)+1))
		h := NewHasher()
		h.Write(data[:k])
		h.Write(data[k:])
		if p := h.Sum(); p.Blake3 != whole.Blake3 || !equalChunks(p.Chunks, whole.Chunks) {
			t.Fatalf("split at %d changes the print", k)
		}
	})
}

// FuzzMembers: arbitrary bytes as an archive never panic, and the work stays
// within the byte budget.
func FuzzMembers(f *testing.F) {
	f.Add([]byte{})
	f.Add(tarOf(f, "a", []byte("hello"), "b", randomBytes(2, 5000)))
	f.Add(zipOf(f, zip.Store, "a", []byte("hello")))
	f.Add(zipOf(f, zip.Deflate, "a", bytes.Repeat([]byte("x"), 100000), "b", randomBytes(3, 3000)))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(tarOf(f, "a", textBytes(4, 3000)))
	zw.Close()
	f.Add(gz.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits()
		ms, _ := MembersLimits(bytes.NewReader(data), int64(len(data)), lim)
		var total int64
		for _, m := range ms {
			if m.Print == nil || m.Print.Size <= 0 {
				t.Fatalf("member %q without content", m.Name)
			}
			checkTiling(t, m.Print, int(m.Print.Size))
			total += m.Print.Size
		}
		if budget := lim.MaxExpansion * int64(len(data)); total > budget || len(ms) > lim.MaxMembers {
			t.Fatalf("%d members, %d bytes from a %d-byte input", len(ms), total, len(data))
		}
	})
}
