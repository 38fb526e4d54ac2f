package container

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

// Sizes around the 64 KiB chunk boundary: empty (one empty chunk), a full
// final chunk, one byte into a second chunk, and three full chunks.
var roundTripSizes = []int{0, 1, 65535, 65536, 65537, 3 * 65536}

func TestRoundTripDecrypt(t *testing.T) {
	for _, n := range roundTripSizes {
		s := sealPlain(t, pattern(n))
		got, err := openAll(s.file, s.key)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !bytes.Equal(got, s.plain) {
			t.Fatalf("size %d: plaintext differs", n)
		}
		if err := VerifyContent(bytes.NewReader(s.file), s.h); err != nil {
			t.Fatalf("size %d: VerifyContent: %v", n, err)
		}
	}
}

func TestSealHeaderFields(t *testing.T) {
	s := sealPlain(t, pattern(70000))
	h, m := s.h, testMeta()
	if h.Version != 1 || h.ItemID != m.ItemID || h.PayAddr != m.PayAddr || h.PriceHint != m.PriceHint ||
		!h.CreatedAt.Equal(m.CreatedAt) || h.Title != m.Title || h.PlaintextSize != 70000 {
		t.Fatalf("header does not reflect meta: %+v", h)
	}
	if !bytes.Equal(h.HostKey.Marshal(), hostSigner(t, 7).PublicKey().Marshal()) {
		t.Fatal("host key differs")
	}
	if !bytes.Equal(h.Raw, s.file[:h.EnvLen]) || h.Size() != int64(len(s.file)) {
		t.Fatal("Raw or Size inconsistent with the file")
	}
	// The age file starts right after the envelope; its payload after the header.
	if !bytes.HasPrefix(s.file[h.EnvLen:], []byte(ageIntro)) || !bytes.HasSuffix(s.file[:h.PayloadOffset()], []byte("\n")) {
		t.Fatal("offsets do not frame the age header")
	}
	r, err := ReadHeader(bytes.NewReader(s.file), int64(len(s.file)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Raw, h.Raw) || r.ContentID != h.ContentID {
		t.Fatal("ReadHeader differs from Seal's header")
	}
}

// Every Seal must use a fresh file key and nonce, even for identical input.
func TestSealFreshKeys(t *testing.T) {
	a, b := sealPlain(t, pattern(100)), sealPlain(t, pattern(100))
	if bytes.Equal(a.key, b.key) || a.h.ContentID == b.h.ContentID {
		t.Fatal("two seals of the same plaintext share a key or content id")
	}
}

func TestSealLimit(t *testing.T) {
	seal := func(n int, max int64) error {
		var f memFile
		_, _, err := Seal(&f, bytes.NewReader(pattern(n)), testMeta(), hostSigner(t, 7), escrowIdentity(t).Recipient(), max)
		return err
	}
	if err := seal(1000, 1000); err != nil {
		t.Fatalf("exactly at the limit: %v", err)
	}
	wantErr(t, seal(1001, 1000), ErrTooLarge)
	wantErr(t, seal(200000, 65536), ErrTooLarge)
}

func TestSealRejectsBadInput(t *testing.T) {
	mods := map[string]func(*Meta){
		"zero item id":     func(m *Meta) { m.ItemID = [16]byte{} },
		"bad pay addr":     func(m *Meta) { m.PayAddr = "https://shop.example" },
		"long title":       func(m *Meta) { m.Title = strings.Repeat("a", 257) },
		"non-UTF-8 title":  func(m *Meta) { m.Title = "\xff" },
		"control in title": func(m *Meta) { m.Title = "a\x1b[2Jb" },
		"negative price":   func(m *Meta) { m.PriceHint = -1 },
	}
	for name, mod := range mods {
		m := testMeta()
		mod(&m)
		var f memFile
		if _, _, err := Seal(&f, strings.NewReader("x"), m, hostSigner(t, 7), escrowIdentity(t).Recipient(), 0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	rsaHost, err := ssh.NewSignerFromKey(rsaKey())
	if err != nil {
		t.Fatal(err)
	}
	var f memFile
	if _, _, err := Seal(&f, strings.NewReader("x"), testMeta(), rsaHost, escrowIdentity(t).Recipient(), 0); err == nil {
		t.Error("RSA host key accepted for a v1 envelope")
	}
}

// The escrow stanza really holds the file key: the shop can recover it.
func TestEscrowRecoversKey(t *testing.T) {
	var f memFile
	escrow := escrowIdentity(t)
	h, key, err := Seal(&f, strings.NewReader("hello"), testMeta(), hostSigner(t, 7), escrow.Recipient(), 0)
	if err != nil {
		t.Fatal(err)
	}
	hdr := f.b[h.EnvLen:h.PayloadOffset()]
	got, err := age.DecryptHeader(hdr, escrow)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("escrow identity does not recover the file key: %v", err)
	}
}

// readAtOffsets are the interesting plaintext offsets for a file of n bytes.
func readAtOffsets(n int64) []int64 {
	offs := []int64{0, 1, n / 2}
	for b := int64(0); b <= n+chunkSize; b += chunkSize {
		offs = append(offs, b-1, b, b+1, b-32<<10)
	}
	offs = append(offs, n-1, n)
	var out []int64
	for _, o := range offs {
		if o >= 0 && o <= n {
			out = append(out, o)
		}
	}
	return out
}

func TestReaderAtBoundaries(t *testing.T) {
	for _, n := range roundTripSizes {
		s := sealPlain(t, pattern(n))
		ra, size, err := NewReaderAt(bytes.NewReader(s.file), s.h, s.key)
		if err != nil || size != int64(n) {
			t.Fatalf("size %d: NewReaderAt = %d, %v", n, size, err)
		}
		for _, off := range readAtOffsets(size) {
			for _, l := range []int{1, 100, 32 << 10, chunkSize, chunkSize + 1, 3 * chunkSize} {
				checkReadAt(t, ra, s.plain, off, l)
			}
		}
	}
}

// checkReadAt compares one ReadAt with the plaintext, including io.ReaderAt's
// rule that a short read must return an error (io.EOF at the end).
func checkReadAt(t *testing.T, ra io.ReaderAt, plain []byte, off int64, l int) {
	t.Helper()
	buf := make([]byte, l)
	n, err := ra.ReadAt(buf, off)
	want := plain[off:min(int64(len(plain)), off+int64(l))]
	if !bytes.Equal(buf[:n], want) {
		t.Fatalf("ReadAt(%d, len %d): %d bytes differ", off, l, n)
	}
	if n < l && !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt(%d, len %d): short read %d with err %v", off, l, n, err)
	}
	if n == l && err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt(%d, len %d): %v", off, l, err)
	}
}

// Concurrent readers share one cache; -race checks the locking and the pool.
func TestReaderAtConcurrent(t *testing.T) {
	s := sealPlain(t, pattern(3*chunkSize+12345))
	ra, size, err := NewReaderAt(bytes.NewReader(s.file), s.h, s.key)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 20000+g*3000)
			for off := int64(g * 1000); off < size; off += int64(len(buf)) / 2 {
				n, err := ra.ReadAt(buf, off)
				if err != nil && !errors.Is(err, io.EOF) || !bytes.Equal(buf[:n], s.plain[off:off+int64(n)]) {
					t.Errorf("goroutine %d: ReadAt(%d) = %d, %v", g, off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestReaderAtNegativeOffset(t *testing.T) {
	s := sealPlain(t, pattern(10))
	ra, _, err := NewReaderAt(bytes.NewReader(s.file), s.h, s.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ra.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("negative offset accepted")
	}
}

// Decrypt implements age's STREAM itself; it must agree with age.Decrypt on
// every chunk-boundary case (same file, same key, same bytes out).
func TestDecryptMatchesAge(t *testing.T) {
	for _, n := range roundTripSizes {
		s := sealPlain(t, pattern(n))
		ageFile := s.file[s.h.EnvLen:]
		r, err := age.Decrypt(bytes.NewReader(ageFile), age.NewInjectedFileKeyIdentity(s.key))
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := Decrypt(&got, bytes.NewReader(s.file), s.h, s.key); err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("size %d: Decrypt disagrees with age.Decrypt: %v", n, err)
		}
	}
}
