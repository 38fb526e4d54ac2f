package container

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

const encChunk = encChunkSize

// flipPositions samples every region of a container: each envelope byte
// (cheap: it fails before any crypto), each age header and nonce byte, and
// the start, middle and tag of every chunk.
func flipPositions(h *Header) []int64 {
	var pos []int64
	for i := int64(0); i < h.PayloadOffset()+ageNonceLen; i++ {
		pos = append(pos, i)
	}
	start := h.PayloadOffset() + ageNonceLen
	for c := start; c < h.Size(); c += encChunk {
		end := min(c+encChunk, h.Size())
		pos = append(pos, c, c+1, (c+end)/2, end-tagOverhead-1, end-tagOverhead, end-1)
	}
	return pos
}

func flipped(b []byte, i int64) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

// A single flipped bit anywhere must fail, and fail as the right kind of
// damage: envelope → header errors, age header → hash mismatch, payload →
// the chunk it hit.
func TestFlippedByteFails(t *testing.T) {
	s := sealPlain(t, pattern(3*chunkSize-100))
	for _, i := range flipPositions(s.h) {
		f := flipped(s.file, i)
		got, err := openAll(f, s.key)
		if err == nil {
			t.Fatalf("flip at %d: opened", i)
		}
		if !bytes.HasPrefix(s.plain, got) {
			t.Fatalf("flip at %d: released bytes that are not plaintext", i)
		}
		checkFlipError(t, s.h, i, err)
		if i >= s.h.EnvLen && VerifyContent(bytes.NewReader(f), s.h) == nil {
			t.Fatalf("flip at %d: VerifyContent passed", i)
		}
	}
}

func checkFlipError(t *testing.T, h *Header, i int64, err error) {
	t.Helper()
	payload := h.PayloadOffset() + ageNonceLen
	switch {
	case i < h.EnvLen:
		if errors.Is(err, ErrCorruptChunk) || errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("flip at %d (envelope): %v", i, err)
		}
	case i < h.PayloadOffset():
		wantErr(t, err, ErrContentMismatch)
	default:
		idx := max(0, i-payload) / encChunk
		var ce *ChunkError
		if !errors.As(err, &ce) || ce.Index != idx {
			t.Fatalf("flip at %d: got %v, want chunk %d", i, err, idx)
		}
	}
}

// The random-access path must refuse a damaged chunk too.
func TestFlippedByteReaderAt(t *testing.T) {
	s := sealPlain(t, pattern(3*chunkSize-100))
	payload := s.h.PayloadOffset() + ageNonceLen
	for _, i := range flipPositions(s.h) {
		if i < payload {
			continue
		}
		f := flipped(s.file, i)
		ra, _, err := NewReaderAt(bytes.NewReader(f), s.h, s.key)
		if err == nil {
			buf := make([]byte, len(s.plain))
			_, err = ra.ReadAt(buf, 0)
		}
		wantErr(t, err, ErrCorruptChunk)
	}
}

// cutPoints are the truncation boundaries of research §7.3.
func cutPoints(h *Header) []int64 {
	p := []int64{0, 3, 8, 13, 14, 100, h.EnvLen - 1, h.EnvLen, h.EnvLen + 10,
		h.PayloadOffset() - 1, h.PayloadOffset(), h.PayloadOffset() + 8}
	for c := h.PayloadOffset() + ageNonceLen; c < h.Size(); c += encChunk {
		p = append(p, c)
	}
	return append(p, h.Size()-1)
}

func TestTruncation(t *testing.T) {
	s := sealPlain(t, pattern(3*chunkSize))
	for _, n := range cutPoints(s.h) {
		_, err := ReadHeader(bytes.NewReader(s.file[:n]), n)
		wantErr(t, err, ErrTruncated)
	}
}

// shortReader claims the full size but its data stops early: the file shrank
// after ReadHeader. Decrypt must still call it truncation.
type shortReader struct {
	*bytes.Reader
}

func TestTruncatedAfterHeader(t *testing.T) {
	s := sealPlain(t, pattern(3*chunkSize))
	for _, n := range []int64{s.h.PayloadOffset() + ageNonceLen + encChunk, s.h.Size() - 1} {
		r := shortReader{bytes.NewReader(s.file[:n])}
		_, err := Decrypt(io.Discard, r, s.h, s.key)
		wantErr(t, err, ErrTruncated)
	}
}

func TestTrailingData(t *testing.T) {
	s := sealPlain(t, pattern(2*chunkSize+5))
	chunk := s.file[s.h.PayloadOffset()+ageNonceLen:][:encChunk]
	for _, extra := range [][]byte{{0}, make([]byte, 16), chunk} {
		f := append(bytes.Clone(s.file), extra...)
		_, err := ReadHeader(bytes.NewReader(f), int64(len(f)))
		wantErr(t, err, ErrTrailingData)
	}
}

// Reordered or duplicated full chunks keep the size right; STREAM's counter
// nonces must catch them at the first misplaced chunk.
func TestChunkSwapAndDuplicate(t *testing.T) {
	s := sealPlain(t, pattern(3*chunkSize+10))
	at := func(i int64) int64 { return s.h.PayloadOffset() + ageNonceLen + i*encChunk }
	swap := bytes.Clone(s.file)
	copy(swap[at(0):at(1)], s.file[at(1):at(2)])
	copy(swap[at(1):at(2)], s.file[at(0):at(1)])
	dup := bytes.Clone(s.file)
	copy(dup[at(2):at(3)], s.file[at(1):at(2)])
	for name, c := range map[string]struct {
		file []byte
		idx  int64
	}{"swap": {swap, 0}, "duplicate": {dup, 2}} {
		_, err := openAll(c.file, s.key)
		var ce *ChunkError
		if !errors.As(err, &ce) || ce.Index != c.idx {
			t.Fatalf("%s: got %v, want chunk %d", name, err, c.idx)
		}
	}
	drop := append(bytes.Clone(s.file[:at(1)]), s.file[at(2):]...)
	_, err := openAll(drop, s.key)
	wantErr(t, err, ErrTruncated)
}

// forgeBody re-encrypts other plaintext under the same file key behind the
// same signed envelope and age header: what a buyer who leaked the key could
// do. Every chunk authenticates, so only content_id can catch it.
func forgeBody(t *testing.T, s sealed, plain []byte) []byte {
	t.Helper()
	out := bytes.Clone(s.file[:s.h.PayloadOffset()])
	nonce := make([]byte, ageNonceLen)
	rand.Read(nonce)
	out = append(out, nonce...)
	k, err := hkdf.Key(sha256.New, s.key, nonce, "payload", chacha20poly1305.KeySize)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := chacha20poly1305.New(k)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i == 0 || i*chunkSize < len(plain); i++ {
		var n [chacha20poly1305.NonceSize]byte
		binary.BigEndian.PutUint64(n[3:11], uint64(i))
		chunk := plain[i*chunkSize : min(len(plain), (i+1)*chunkSize)]
		if (i+1)*chunkSize >= len(plain) {
			n[11] = 1
		}
		out = aead.Seal(out, n[:], chunk, nil)
	}
	return out
}

func TestSubstitutedBodyByKeyHolder(t *testing.T) {
	s := sealPlain(t, pattern(2*chunkSize+7))
	evil := bytes.Repeat([]byte("evil"), len(s.plain)/4+1)[:len(s.plain)]
	f := forgeBody(t, s, evil)
	if len(f) != len(s.file) {
		t.Fatalf("forged file is %d bytes, want %d", len(f), len(s.file))
	}
	_, err := openAll(f, s.key)
	wantErr(t, err, ErrContentMismatch)
}
