package container

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"filippo.io/age"
)

var errDisk = errors.New("disk on fire")

// failingReader fails every read that touches [lo, hi).
type failingReader struct {
	r      io.ReaderAt
	lo, hi int64
}

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off < f.hi && off+int64(len(p)) > f.lo {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

// An I/O error must surface as itself, never as "tampered" or "truncated":
// the user should fix the disk, not blame the shop.
func TestIOErrorIsNotCorruption(t *testing.T) {
	s := sealPlain(t, pattern(3*chunkSize))
	chunk1 := s.h.PayloadOffset() + ageNonceLen + encChunkSize
	isDisk := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, errDisk) || errors.Is(err, ErrCorruptChunk) || errors.Is(err, ErrTruncated) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	broken := failingReader{bytes.NewReader(s.file), chunk1 + 10, chunk1 + 11}
	_, err := Decrypt(io.Discard, broken, s.h, s.key)
	isDisk("Decrypt", err)
	ra, _, err := NewReaderAt(broken, s.h, s.key)
	if err != nil {
		t.Fatal(err) // the final chunk and header are readable
	}
	for _, l := range []int{100, 3 * chunkSize} { // cached path and whole-chunk path
		_, err = ra.ReadAt(make([]byte, l), chunkSize)
		isDisk("ReadAt", err)
	}
	_, _, err = NewReaderAt(failingReader{bytes.NewReader(s.file), s.h.Size() - 1, s.h.Size()}, s.h, s.key)
	isDisk("NewReaderAt", err)
}

// With one CPU the content_id hash runs inline instead of on a goroutine;
// both paths must produce the same container and accept it.
func TestSingleCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, n := range []int{0, 3*chunkSize + 5, 300 << 10} {
		s := sealPlain(t, pattern(n))
		got, err := openAll(s.file, s.key)
		if err != nil || !bytes.Equal(got, s.plain) {
			t.Fatalf("size %d: %v", n, err)
		}
	}
}

// A post-quantum escrow recipient only works with Encrypt if labels pass
// through the key-capturing wrapper.
func TestSealHybridEscrow(t *testing.T) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	var f memFile
	h, key, err := Seal(&f, strings.NewReader("pq"), testMeta(), hostSigner(t, 7), id.Recipient(), 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := age.DecryptHeader(f.b[h.EnvLen:h.PayloadOffset()], id)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("hybrid escrow cannot recover the key: %v", err)
	}
}
