package container

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"filippo.io/age"
)

// chunkBuf holds one decrypted chunk.
type chunkBuf struct {
	idx int64
	n   int
	b   [chunkSize]byte
}

// plainReaderAt serves random plaintext reads. age's DecryptReaderAt
// allocates a fresh 64 KiB buffer and decrypts on every ReadAt; SFTP reads
// 32 KiB at a time, so every chunk was decrypted twice. We ask age for whole,
// aligned chunks only (straight into the caller's slice when it covers one),
// keep the last partly-read chunk, and recycle buffers through a pool.
type plainReaderAt struct {
	inner io.ReaderAt
	rec   *ioRecorder
	size  int64
	pool  sync.Pool

	mu    sync.Mutex // guards cache; copies out of it happen under mu
	cache *chunkBuf
}

// NewReaderAt checks the key and returns a concurrency-safe random-access
// reader of the plaintext and its size. age authenticates the final chunk up
// front (so the size is trustworthy) and every chunk as it is read. It does
// not check content_id: for a file from an untrusted source, run
// VerifyContent first, or a key holder could substitute chunks.
func NewReaderAt(r io.ReaderAt, h *Header, fileKey []byte) (io.ReaderAt, int64, error) {
	if err := CheckKey(r, h, fileKey); err != nil {
		return nil, 0, err
	}
	rec := &ioRecorder{r: r}
	sec := io.NewSectionReader(rec, h.EnvLen, h.BodyLen)
	inner, size, err := age.DecryptReaderAt(sec, h.BodyLen, age.NewInjectedFileKeyIdentity(fileKey))
	if err != nil {
		last := max(0, (h.PlaintextSize-1)/chunkSize)
		return nil, 0, payloadErr(err, rec, last)
	}
	if size != h.PlaintextSize {
		return nil, 0, fmt.Errorf("%w: payload holds %d bytes, header declares %d", ErrContentMismatch, size, h.PlaintextSize)
	}
	p := &plainReaderAt{inner: inner, rec: rec, size: size}
	p.pool.New = func() any { return new(chunkBuf) }
	return p, size, nil
}

// readChunk decrypts chunk idx into dst, which must be exactly its length.
func (p *plainReaderAt) readChunk(dst []byte, idx int64) error {
	n, err := p.inner.ReadAt(dst, idx*chunkSize)
	if n == len(dst) && (err == nil || errors.Is(err, io.EOF)) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return payloadErr(err, p.rec, idx)
}

// wholeChunks is how many bytes of whole chunks from off (chunk-aligned) fit
// in n bytes of buffer; the short final chunk counts as whole.
func (p *plainReaderAt) wholeChunks(n int, off int64) int {
	rest := p.size - off
	if int64(n) >= rest {
		return int(rest)
	}
	return n / chunkSize * chunkSize
}

// readSpan decrypts consecutive whole chunks with one call: age allocates a
// buffer per ReadAt call, not per chunk, so big reads should be one call.
// On failure it retries chunk by chunk to name the bad chunk.
func (p *plainReaderAt) readSpan(dst []byte, first int64) error {
	n, err := p.inner.ReadAt(dst, first*chunkSize)
	if n == len(dst) && (err == nil || errors.Is(err, io.EOF)) {
		return nil
	}
	for i := int64(0); i*chunkSize < int64(len(dst)); i++ {
		c := dst[i*chunkSize : min(int64(len(dst)), (i+1)*chunkSize)]
		if err := p.readChunk(c, first+i); err != nil {
			return err
		}
	}
	return nil // the failure was transient; every chunk has now been read
}

// fromCache copies from the cached chunk if it is chunk idx.
func (p *plainReaderAt) fromCache(dst []byte, idx int64, within int) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.cache; c != nil && c.idx == idx {
		return copy(dst, c.b[within:c.n]), true
	}
	return 0, false
}

// viaBuffer decrypts chunk idx into a pooled buffer, copies out, and makes
// it the cached chunk, returning the previous one to the pool.
func (p *plainReaderAt) viaBuffer(dst []byte, idx int64, clen, within int) (int, error) {
	cb := p.pool.Get().(*chunkBuf)
	if err := p.readChunk(cb.b[:clen], idx); err != nil {
		p.pool.Put(cb)
		return 0, err
	}
	cb.idx, cb.n = idx, clen
	k := copy(dst, cb.b[within:clen])
	p.mu.Lock()
	old := p.cache
	p.cache = cb
	p.mu.Unlock()
	if old != nil {
		p.pool.Put(old)
	}
	return k, nil
}

func (p *plainReaderAt) ReadAt(dst []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("container: negative read offset %d", off)
	}
	n := 0
	for len(dst) > 0 && off < p.size {
		idx := off / chunkSize
		clen := int(min(chunkSize, p.size-idx*chunkSize))
		within := int(off - idx*chunkSize)
		var k int
		var err error
		if span := p.wholeChunks(len(dst), off); within == 0 && span > 0 {
			k, err = span, p.readSpan(dst[:span], idx) // whole chunks: no copy, no cache
		} else if c, ok := p.fromCache(dst, idx, within); ok {
			k = c
		} else {
			k, err = p.viaBuffer(dst, idx, clen, within)
		}
		if err != nil {
			return n, err
		}
		dst, off, n = dst[k:], off+int64(k), n+k
	}
	if len(dst) > 0 {
		return n, io.EOF
	}
	return n, nil
}
