package container

import (
	"runtime"

	"github.com/zeebo/blake3"
)

const (
	pipeBufSize = 256 << 10
	pipeBufs    = 4
)

// hashPipe computes BLAKE3 of everything written to it. With more than one
// CPU it hashes on its own goroutine, so content_id costs little extra wall
// time next to ChaCha20-Poly1305 (research §8: one core caps the serial
// pipeline at ~45% of raw seal; two cores reach ~70%+). Writes copy into a
// small ring of buffers; the caller's slice is never retained.
//
// A hashPipe must end with sum or stop, or its goroutine leaks.
type hashPipe struct {
	h     *blake3.Hasher
	n     int64
	full  chan []byte // nil when hashing inline
	free  chan []byte
	done  chan struct{}
	cur   []byte
	alloc int
}

func newHashPipe() *hashPipe {
	p := &hashPipe{h: blake3.New()}
	if runtime.GOMAXPROCS(0) < 2 {
		return p
	}
	p.full = make(chan []byte, pipeBufs)
	p.free = make(chan []byte, pipeBufs)
	p.done = make(chan struct{})
	go p.run()
	return p
}

func (p *hashPipe) run() {
	defer close(p.done)
	for b := range p.full {
		p.h.Write(b)
		p.free <- b[:0]
	}
}

// buffer returns an empty buffer, allocating lazily so small files stay cheap.
func (p *hashPipe) buffer() []byte {
	if p.alloc < pipeBufs {
		select {
		case b := <-p.free:
			return b
		default:
			p.alloc++
			return make([]byte, 0, pipeBufSize)
		}
	}
	return <-p.free
}

func (p *hashPipe) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.full == nil {
		return p.h.Write(b)
	}
	total := len(b)
	for len(b) > 0 {
		if p.cur == nil {
			p.cur = p.buffer()
		}
		k := copy(p.cur[len(p.cur):cap(p.cur)], b)
		p.cur, b = p.cur[:len(p.cur)+k], b[k:]
		if len(p.cur) == cap(p.cur) {
			p.full <- p.cur
			p.cur = nil
		}
	}
	return total, nil
}

// stop ends the goroutine; safe to call more than once and after sum.
func (p *hashPipe) stop() {
	if p.full == nil {
		return
	}
	if len(p.cur) > 0 {
		p.full <- p.cur
		p.cur = nil
	}
	close(p.full)
	<-p.done
	p.full = nil
}

// sum returns the digest and the number of bytes hashed.
func (p *hashPipe) sum() ([32]byte, int64) {
	p.stop()
	var s [32]byte
	p.h.Sum(s[:0])
	return s, p.n
}

// take returns an empty buffer of capacity pipeBufSize for the caller to
// fill and pass to give. Between take and give the caller owns it.
func (p *hashPipe) take() []byte {
	if p.full == nil {
		if p.cur == nil {
			p.cur = make([]byte, 0, pipeBufSize)
		}
		return p.cur[:0]
	}
	return p.buffer()
}

// give hashes a buffer from take without copying it. The caller may keep
// reading it (concurrent reads are safe) until its next take.
func (p *hashPipe) give(b []byte) {
	p.n += int64(len(b))
	if p.full == nil {
		p.h.Write(b)
		return
	}
	if len(p.cur) > 0 { // keep bytes in order
		p.full <- p.cur
		p.cur = nil
	}
	p.full <- b
}
