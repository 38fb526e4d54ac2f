package fingerprint

import (
	"encoding/binary"
	"errors"

	"github.com/zeebo/blake3"
)

// Chunk is one content-defined chunk of a file.
type Chunk struct {
	Off int64 // offset of the chunk in the file
	Len int32 // length in bytes, at most MaxSize
	// Hash is the first 8 bytes of the chunk's blake3, little-endian,
	// shifted right by one: it is below 2^63, so int64(Hash) is
	// non-negative and sorts the same way (SQLite INTEGER is signed).
	Hash uint64
	// LowEntropy marks chunks that are one repeated byte, nearly so, or a
	// short repeating pattern. They are kept for evidence but never scored.
	LowEntropy bool
}

// End returns the offset just past the chunk.
func (c Chunk) End() int64 { return c.Off + int64(c.Len) }

// Print is the byte-layer fingerprint of one file.
type Print struct {
	Size int64
	// Blake3 is the file's digest: blake3 over each chunk's length and full
	// blake3 digest, in file order. Equal files have equal digests and any
	// change changes it, like a plain blake3 of the bytes, but it costs no
	// second hashing pass over the data (the per-chunk hashes are needed
	// anyway), which is what keeps the upload pass above 0.8 GB/s a core.
	Blake3 [32]byte
	// Chunks lists every chunk in file order; they tile [0, Size).
	Chunks []Chunk
}

// ErrSummed is returned by Write after Sum.
var ErrSummed = errors.New("fingerprint: write after Sum")

// Hasher computes a Print in one pass. It is an io.Writer: the upload tees
// the file into it once, in any write sizes. It is not safe for concurrent
// use.
type Hasher struct {
	whole  *blake3.Hasher
	chunk  *blake3.Hasher
	buf    []byte // bytes not yet cut into chunks; fewer than MaxSize between writes
	off    int64  // file offset of the next chunk
	chunks []Chunk
	print  *Print
	sum    [32]byte
}

// NewHasher returns a Hasher for one file.
func NewHasher() *Hasher {
	return &Hasher{
		whole: blake3.New(),
		chunk: blake3.New(),
		buf:   make([]byte, 0, 2*MaxSize),
	}
}

// Write adds p to the file. It never fails before Sum.
func (h *Hasher) Write(p []byte) (int, error) {
	if h.print != nil {
		return 0, ErrSummed
	}
	n := len(p)
	if len(h.buf) > 0 {
		var done bool
		if p, done = h.bridge(p); done {
			return n, nil
		}
	}
	// Chunk the caller's bytes in place while a whole MaxSize window is
	// there; only the undecided tail is copied.
	for len(p) >= MaxSize {
		c := cutPoint(p)
		h.emit(p[:c])
		p = p[c:]
	}
	h.buf = append(h.buf, p...)
	return n, nil
}

// bridge cuts the chunks that start in the pending bytes, using at most
// MaxSize bytes of p copied behind them. It returns the part of p where the
// next chunk starts, or done when p was used up into the pending bytes.
func (h *Hasher) bridge(p []byte) (rest []byte, done bool) {
	r := len(h.buf)
	h.buf = append(h.buf, p[:min(len(p), MaxSize)]...)
	i := 0
	for i < r && len(h.buf)-i >= MaxSize {
		c := cutPoint(h.buf[i:])
		h.emit(h.buf[i : i+c])
		i += c
	}
	if i < r {
		// Fewer than MaxSize bytes past i: all of p is in buf now.
		h.buf = h.buf[:copy(h.buf, h.buf[i:])]
		return nil, true
	}
	h.buf = h.buf[:0]
	return p[i-r:], false
}

// emit records one chunk.
func (h *Hasher) emit(c []byte) {
	h.chunk.Reset()
	_, _ = h.chunk.Write(c)
	h.chunk.Sum(h.sum[:0])
	// The file's digest chains every chunk's full digest and length: one
	// blake3 pass over the bytes identifies both the chunks and the file.
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(c)))
	_, _ = h.whole.Write(n[:])
	_, _ = h.whole.Write(h.sum[:])
	h.chunks = append(h.chunks, Chunk{
		Off:        h.off,
		Len:        int32(len(c)),
		Hash:       binary.LittleEndian.Uint64(h.sum[:8]) >> 1,
		LowEntropy: lowEntropy(c),
	})
	h.off += int64(len(c))
}

// Sum cuts the last chunks and returns the Print. Later calls return the
// same Print; Write fails after Sum.
func (h *Hasher) Sum() *Print {
	if h.print != nil {
		return h.print
	}
	for b := h.buf; len(b) > 0; {
		c := cutPoint(b)
		h.emit(b[:c])
		b = b[c:]
	}
	p := &Print{Size: h.off, Chunks: h.chunks}
	h.whole.Sum(p.Blake3[:0])
	h.print = p
	h.buf = nil
	return p
}

// Sum returns the Print of data; it is NewHasher, Write and Sum in one call.
func Sum(data []byte) *Print {
	h := NewHasher()
	_, _ = h.Write(data)
	return h.Sum()
}
