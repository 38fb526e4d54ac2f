package container

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/zeebo/blake3"
	"golang.org/x/crypto/chacha20poly1305"
)

// Benchmarks report throughput and, as "x_raw", the ratio to a raw primitive
// measured in the same run on the same data (DEVELOPERS.md asks for ratios,
// not absolute numbers: machines differ, ratios travel).
const benchSize = 16 << 20

// rawChaCha seals or opens size bytes in 64 KiB chunks with counter nonces:
// the ceiling any age-based container can reach.
type rawChaCha struct {
	aead  cipher.AEAD
	plain []byte
	enc   []byte
	out   []byte
}

func newRawChaCha(b *testing.B, plain []byte) *rawChaCha {
	key := make([]byte, chacha20poly1305.KeySize)
	rand.Read(key)
	a, err := chacha20poly1305.New(key)
	if err != nil {
		b.Fatal(err)
	}
	r := &rawChaCha{aead: a, plain: plain, out: make([]byte, chunkSize+tagOverhead)}
	r.enc = r.sealAll(make([]byte, 0, len(plain)+len(plain)/chunkSize*tagOverhead+tagOverhead))
	return r
}

func (r *rawChaCha) sealAll(dst []byte) []byte {
	var nonce [chacha20poly1305.NonceSize]byte
	for i := 0; i < len(r.plain); i += chunkSize {
		binary.BigEndian.PutUint64(nonce[3:], uint64(i/chunkSize))
		dst = r.aead.Seal(dst, nonce[:], r.plain[i:min(len(r.plain), i+chunkSize)], nil)
	}
	return dst
}

func (r *rawChaCha) openAll(b *testing.B) {
	var nonce [chacha20poly1305.NonceSize]byte
	enc := r.enc
	for i := uint64(0); len(enc) > 0; i++ {
		binary.BigEndian.PutUint64(nonce[3:], i)
		c := enc[:min(len(enc), chunkSize+tagOverhead)]
		if _, err := r.aead.Open(r.out[:0], nonce[:], c, nil); err != nil {
			b.Fatal(err)
		}
		enc = enc[len(c):]
	}
}

// ratioBench times ours and the raw baseline alternately in every iteration,
// so both see the same CPU state; only ours counts toward ns/op.
func ratioBench(b *testing.B, n int64, raw, ours func()) {
	b.SetBytes(n)
	b.ReportAllocs()
	var rawDur, ourDur time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		t0 := time.Now()
		raw()
		rawDur += time.Since(t0)
		b.StartTimer()
		t1 := time.Now()
		ours()
		ourDur += time.Since(t1)
	}
	b.ReportMetric(float64(rawDur)/float64(ourDur), "x_raw")
}

// BenchmarkSeal is the whole upload pipeline: age encryption, BLAKE3
// content_id and the write, against raw ChaCha20-Poly1305 Seal.
func BenchmarkSeal(b *testing.B) {
	plain := pattern(benchSize)
	raw := newRawChaCha(b, plain)
	dst := make([]byte, 0, benchSize+benchSize/chunkSize*tagOverhead+4096)
	host, escrow := hostSigner(b, 7), escrowIdentity(b).Recipient()
	rawDst := make([]byte, 0, cap(dst))
	ratioBench(b, benchSize, func() { raw.sealAll(rawDst) }, func() {
		f := memFile{b: dst[:0]}
		if _, _, err := Seal(&f, bytes.NewReader(plain), testMeta(), host, escrow, 0); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkDecrypt is streaming open (key check, age STREAM, content_id).
func BenchmarkDecrypt(b *testing.B) {
	s := sealPlain(b, pattern(benchSize))
	raw := newRawChaCha(b, s.plain)
	ratioBench(b, benchSize, func() { raw.openAll(b) }, func() {
		if _, err := Decrypt(io.Discard, bytes.NewReader(s.file), s.h, s.key); err != nil {
			b.Fatal(err)
		}
	})
}

func benchReaderAt(b *testing.B, readSize int) {
	s := sealPlain(b, pattern(benchSize))
	raw := newRawChaCha(b, s.plain)
	ra, size, err := NewReaderAt(bytes.NewReader(s.file), s.h, s.key)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, readSize)
	ratioBench(b, benchSize, func() { raw.openAll(b) }, func() {
		for off := int64(0); off < size; off += int64(readSize) {
			if _, err := ra.ReadAt(buf, off); err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReaderAt32K reads sequentially in SFTP-sized (32 KiB) requests.
func BenchmarkReaderAt32K(b *testing.B) { benchReaderAt(b, 32<<10) }

// BenchmarkReaderAt1M reads in large requests (HTTP ranges, copies).
func BenchmarkReaderAt1M(b *testing.B) { benchReaderAt(b, 1<<20) }

// BenchmarkVerifyContent is the pre-purchase check against raw BLAKE3.
func BenchmarkVerifyContent(b *testing.B) {
	s := sealPlain(b, pattern(benchSize))
	body := s.file[s.h.EnvLen:]
	ratioBench(b, s.h.BodyLen, func() { blake3.Sum256(body) }, func() {
		if err := VerifyContent(bytes.NewReader(s.file), s.h); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkParseEnvelope(b *testing.B) {
	env := sealPlain(b, pattern(10)).h.Raw
	b.ReportAllocs()
	for range b.N {
		if _, err := ParseEnvelope(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSlip issues and unwraps one ed25519 key slip.
func BenchmarkSlip(b *testing.B) {
	key := make([]byte, 16)
	buyer := ed25519Buyer(b, 3)
	b.ReportAllocs()
	for range b.N {
		slip, err := NewSlip(key, buyer.pub)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := UnwrapSlip(slip, buyer.id); err != nil {
			b.Fatal(err)
		}
	}
}
