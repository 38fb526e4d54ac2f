package fingerprint

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/zeebo/blake3"
)

// checkTiling fails unless p's chunks tile [0, size) within the size bounds.
func checkTiling(t testing.TB, p *Print, size int) {
	t.Helper()
	var off int64
	for i, c := range p.Chunks {
		if c.Off != off {
			t.Fatalf("chunk %d at %d, want %d", i, c.Off, off)
		}
		last := i == len(p.Chunks)-1
		if c.Len <= 0 || c.Len > MaxSize || (!last && c.Len < MinSize) {
			t.Fatalf("chunk %d of %d has length %d", i, len(p.Chunks), c.Len)
		}
		if c.Hash >= 1<<63 {
			t.Fatalf("chunk %d hash %x has the top bit set", i, c.Hash)
		}
		off += int64(c.Len)
	}
	if off != int64(size) || p.Size != int64(size) {
		t.Fatalf("chunks cover %d bytes, print says %d, want %d", off, p.Size, size)
	}
}

func TestChunkSizes(t *testing.T) {
	data := randomBytes(1, 8<<20)
	p := Sum(data)
	checkTiling(t, p, len(data))
	avg := len(data) / len(p.Chunks)
	if avg < 7<<10 || avg > 11<<10 {
		t.Errorf("average chunk %d bytes, want about 8-10 KiB", avg)
	}
	if p.Blake3 != digestOf(p, data) {
		t.Error("file digest differs from blake3 over the chunk digests")
	}
	flipped := append([]byte{}, data...)
	flipped[len(flipped)/2] ^= 1
	if Sum(flipped).Blake3 == p.Blake3 {
		t.Error("a flipped byte left the file digest unchanged")
	}
}

// digestOf recomputes a Print's file digest from the data, independently
// of the Hasher: blake3 over each chunk's length and blake3, in order.
func digestOf(p *Print, data []byte) [32]byte {
	h := blake3.New()
	for _, c := range p.Chunks {
		sum := blake3.Sum256(data[c.Off:c.End()])
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(c.Len))
		h.Write(n[:])
		h.Write(sum[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func TestChunkSizesText(t *testing.T) {
	data := textBytes(1, 4<<20)
	p := Sum(data)
	checkTiling(t, p, len(data))
	avg := len(data) / len(p.Chunks)
	if avg < 6<<10 || avg > 12<<10 {
		t.Errorf("average chunk %d bytes on text, want about 8-10 KiB", avg)
	}
}

// TestWriteSizes checks that the Print does not depend on how the file was
// split into writes.
func TestWriteSizes(t *testing.T) {
	all := randomBytes(2, 3*MaxSize+12345)
	for _, step := range []int{1, 7, 4096, 32 << 10, MaxSize - 1, MaxSize, MaxSize + 1, 300 << 10} {
		data := all
		if step < 100 {
			data = all[:MaxSize+MaxSize/2] // tiny writes are slow under -race
		}
		want := Sum(data)
		h := NewHasher()
		for p := data; len(p) > 0; {
			n := min(step, len(p))
			if _, err := h.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		got := h.Sum()
		if got.Blake3 != want.Blake3 || !equalChunks(got.Chunks, want.Chunks) {
			t.Fatalf("write size %d: print differs", step)
		}
		if _, err := h.Write([]byte{1}); err != ErrSummed {
			t.Fatalf("write after Sum: %v", err)
		}
		if h.Sum() != got {
			t.Fatal("second Sum returned a different print")
		}
	}
}

func equalChunks(a, b []Chunk) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmptyAndTiny(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, MinSize - 1, MinSize, MinSize + 1, MaxSize, MaxSize + 1} {
		data := randomBytes(uint64(n), n)
		p := Sum(data)
		checkTiling(t, p, n)
		if n == 0 && len(p.Chunks) != 0 {
			t.Fatalf("empty input gave %d chunks", len(p.Chunks))
		}
		if n > 0 && n <= MinSize && len(p.Chunks) != 1 {
			t.Fatalf("%d bytes gave %d chunks, want 1", n, len(p.Chunks))
		}
		if p.Blake3 != digestOf(p, data) {
			t.Fatalf("%d bytes: wrong file digest", n)
		}
		if tier, hs := p.Sample(); tier != 0 || len(hs) > len(p.Chunks) {
			t.Fatalf("%d bytes: sample tier %d with %d hashes", n, tier, len(hs))
		}
	}
}

func TestDeterministic(t *testing.T) {
	data := textBytes(3, 1<<20)
	a, b := Sum(data), Sum(bytes.Clone(data))
	if a.Blake3 != b.Blake3 || !equalChunks(a.Chunks, b.Chunks) {
		t.Fatal("same bytes, different prints")
	}
}

// survivors returns the share of a's chunk hashes found in b.
func survivors(a, b *Print) float64 {
	set := map[uint64]bool{}
	for _, c := range b.Chunks {
		set[c.Hash] = true
	}
	n := 0
	for _, c := range a.Chunks {
		if set[c.Hash] {
			n++
		}
	}
	return float64(n) / float64(len(a.Chunks))
}

// TestBoundaryStability checks the point of CDC: an edit disturbs only the
// chunks next to it, so nearly all chunks survive a prepend or an insert.
func TestBoundaryStability(t *testing.T) {
	for _, kind := range []string{"random", "text"} {
		data := randomBytes(4, 4<<20)
		if kind == "text" {
			data = textBytes(4, 4<<20)
		}
		orig := Sum(data)
		mid := len(data) / 2
		edits := map[string][]byte{
			"prepend 1":    cat([]byte{9}, data),
			"prepend 1000": cat(randomBytes(5, 1000), data),
			"insert 777":   cat(data[:mid], randomBytes(6, 777), data[mid:]),
			"delete 5000":  cat(data[:mid], data[mid+5000:]),
			"append 1000":  cat(data, randomBytes(7, 1000)),
		}
		for name, d := range edits {
			// At most 3 chunks around one edit may change: 4 MiB has ~450.
			if s := survivors(orig, Sum(d)); s < 0.99 {
				t.Errorf("%s %s: %.3f of chunks survive, want >= 0.99", kind, name, s)
			}
		}
	}
}

func TestSplitMatchesHasher(t *testing.T) {
	data := randomBytes(8, 3<<20)
	var lens []int32
	Split(data, func(n int) { lens = append(lens, int32(n)) })
	p := Sum(data)
	if len(lens) != len(p.Chunks) {
		t.Fatalf("Split gave %d chunks, Hasher %d", len(lens), len(p.Chunks))
	}
	for i, c := range p.Chunks {
		if c.Len != lens[i] {
			t.Fatalf("chunk %d: Split %d, Hasher %d", i, lens[i], c.Len)
		}
	}
}

// TestScanExact checks the four-bytes-per-step scan against the plain
// one-byte gear loop it must equal.
func TestScanExact(t *testing.T) {
	data := randomBytes(9, 1<<20)
	for _, mask := range []uint64{maskStrict, maskLoose, uint64(0x3f) << 54} {
		for start := 0; start < 64; start++ {
			p := data[start*1000 : start*1000+20000]
			var h1, h2 uint64
			i1, ok1 := scan(&h1, p, mask)
			i2, ok2 := 0, false
			for i, b := range p {
				if h2 = h2<<1 + gear[0][b]; h2&mask == 0 {
					i2, ok2 = i+1, true
					break
				}
			}
			if i1 != i2 || ok1 != ok2 || (!ok1 && h1 != h2) {
				t.Fatalf("mask %x start %d: scan (%d,%v,%x), plain (%d,%v,%x)", mask, start, i1, ok1, h1, i2, ok2, h2)
			}
		}
	}
}
