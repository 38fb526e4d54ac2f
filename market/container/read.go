package container

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/age"
	"github.com/zeebo/blake3"
)

// readFullAt reads exactly len(p) bytes at off; a short source is ErrTruncated.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: wanted %d bytes at offset %d, got %d", ErrTruncated, len(p), off, n)
	}
	return fmt.Errorf("reading container at offset %d: %w", off, err)
}

// ReadHeader parses and verifies the envelope of a container of size bytes,
// checks the file size against the signed lengths (short → ErrTruncated,
// long → ErrTrailingData), and checks the age header against its signed
// BLAKE3. Reads are bounded (at most 16 KiB + 4 KiB) whatever the file claims.
// It does not hash the payload; VerifyContent does.
func ReadHeader(r io.ReaderAt, size int64) (*Header, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative container size %d", size)
	}
	prefix := make([]byte, min(size, fixedLen))
	if err := readFullAt(r, prefix, 0); err != nil {
		return nil, err
	}
	envLen, err := parsePrefix(prefix)
	if err != nil {
		return nil, err
	}
	if size < envLen {
		return nil, fmt.Errorf("%w: file is %d bytes, its envelope alone is %d", ErrTruncated, size, envLen)
	}
	env := make([]byte, envLen)
	if err := readFullAt(r, env, 0); err != nil {
		return nil, err
	}
	h, err := ParseEnvelope(env)
	if err != nil {
		return nil, err
	}
	if want := h.Size(); size < want {
		return nil, fmt.Errorf("%w: file is %d bytes, header declares %d", ErrTruncated, size, want)
	} else if size > want {
		return nil, fmt.Errorf("%w: file is %d bytes, header declares %d", ErrTrailingData, size, want)
	}
	if _, err := readAgeHeader(r, h); err != nil {
		return nil, err
	}
	return h, nil
}

// readAgeHeader returns the container's age header after checking it against
// the signed hash, so nothing unverified reaches age's parser.
func readAgeHeader(r io.ReaderAt, h *Header) ([]byte, error) {
	hdr := make([]byte, h.AgeHeaderLen)
	if err := readFullAt(r, hdr, h.EnvLen); err != nil {
		return nil, err
	}
	if blake3.Sum256(hdr) != h.AgeHeaderHash {
		return nil, fmt.Errorf("%w: age header hash differs from the signed age_header_blake3", ErrContentMismatch)
	}
	if err := checkAgeHeader(hdr); err != nil {
		return nil, fieldErr(tagAgeHeaderHash, "signed age header is unusable: %v", err)
	}
	return hdr, nil
}

// VerifyContent hashes the whole age file and compares it with ContentID.
// Anyone can run it before buying.
func VerifyContent(r io.ReaderAt, h *Header) error {
	hs := blake3.New()
	buf := make([]byte, min(h.BodyLen, 1<<20))
	for off := int64(0); off < h.BodyLen; {
		n := min(int64(len(buf)), h.BodyLen-off)
		if err := readFullAt(r, buf[:n], h.EnvLen+off); err != nil {
			return err
		}
		hs.Write(buf[:n])
		off += n
	}
	var sum [32]byte
	if hs.Sum(sum[:0]); sum != h.ContentID {
		return fmt.Errorf("%w: BLAKE3 of the age file differs from content_id %s", ErrContentMismatch, contentIDString(h))
	}
	return nil
}

func contentIDString(h *Header) string { return hex.EncodeToString(h.ContentID[:]) }

func keyMismatch(h *Header) error {
	return fmt.Errorf("this key does not open container %s: %w", contentIDString(h), ErrKeyMismatch)
}

// CheckKey proves fileKey opens this container without reading the payload:
// the age header MAC is keyed by the file key and the header is pinned by the
// signed hash, so exactly one file key passes (key commitment).
func CheckKey(r io.ReaderAt, h *Header, fileKey []byte) error {
	_, err := checkKey(r, h, fileKey)
	return err
}

// checkKey is CheckKey returning the verified age header.
func checkKey(r io.ReaderAt, h *Header, fileKey []byte) ([]byte, error) {
	if len(fileKey) != fileKeySize {
		return nil, keyMismatch(h)
	}
	hdr, err := readAgeHeader(r, h)
	if err != nil {
		return nil, err
	}
	// readAgeHeader already proved the header parses, so the only way left
	// for DecryptHeader to fail with an injected key is the MAC.
	if _, err := age.DecryptHeader(hdr, age.NewInjectedFileKeyIdentity(fileKey)); err != nil {
		return nil, keyMismatch(h)
	}
	return hdr, nil
}

// ioRecorder remembers the first real I/O error of the underlying file, so
// errors coming back through age's DecryptReaderAt can be told apart: I/O,
// truncation, or a chunk that failed authentication.
type ioRecorder struct {
	r    io.ReaderAt
	mu   sync.Mutex
	fail error
}

func (c *ioRecorder) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		c.mu.Lock()
		if c.fail == nil {
			c.fail = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *ioRecorder) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fail
}

// payloadErr classifies an error from age's payload decryption at chunk idx.
func payloadErr(err error, rec *ioRecorder, idx int64) error {
	if ioErr := rec.err(); ioErr != nil {
		return fmt.Errorf("reading container: %w", ioErr)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: payload ends inside chunk %d", ErrTruncated, idx)
	}
	return &ChunkError{Index: idx}
}
