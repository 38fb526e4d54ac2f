package eval

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
)

// class is one kind of modification: make returns the shop file for an
// original.
type class struct {
	name string
	make func(g *gen, orig file) []byte
}

// gen makes modified copies from a seeded generator and the filler files.
type gen struct {
	rng     *rand.Rand
	fillers []file
}

// classes returns the modification classes of research §6 (B), as the
// issue lists them.
func classes() []class {
	return []class{
		{"append 1 KB", func(g *gen, o file) []byte { return cat(o.data, g.random(1000)) }},
		{"prepend 1 KB", func(g *gen, o file) []byte { return cat(g.random(1000), o.data) }},
		{"insert 1 KB in the middle", func(g *gen, o file) []byte {
			at := len(o.data)/4 + g.rng.IntN(len(o.data)/2)
			return cat(o.data[:at], g.random(1000), o.data[at:])
		}},
		{"keep the first half", func(g *gen, o file) []byte { return o.data[:len(o.data)/2] }},
		{"excerpt of a quarter", func(g *gen, o file) []byte {
			n := len(o.data) / 4
			at := g.rng.IntN(len(o.data) - n + 1)
			return o.data[at : at+n]
		}},
		{"flip 1 byte per 64 KiB", func(g *gen, o file) []byte { return g.flip(o.data, max(4, len(o.data)>>16)) }},
		{"inside a tar", func(g *gen, o file) []byte { return g.tar(o) }},
		{"inside a zip (stored)", func(g *gen, o file) []byte { return g.zip(o, zip.Store) }},
		{"inside a zip (deflated)", func(g *gen, o file) []byte { return g.zip(o, zip.Deflate) }},
		{"inside a tar.gz", func(g *gen, o file) []byte { return g.gzip(g.tar(o)) }},
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// random returns n random bytes.
func (g *gen) random(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

// flip changes n bytes at random places of a copy of data.
func (g *gen) flip(data []byte, n int) []byte {
	out := bytes.Clone(data)
	for range n {
		out[g.rng.IntN(len(out))] ^= byte(1 + g.rng.IntN(255))
	}
	return out
}

// members returns the archive members: a filler, the original, a filler.
func (g *gen) members(o file) []file {
	a := g.fillers[g.rng.IntN(len(g.fillers))]
	b := g.fillers[g.rng.IntN(len(g.fillers))]
	return []file{
		{"docs/" + filepath.Base(a.path), a.data},
		{"files/" + filepath.Base(o.path), o.data},
		{"notes/" + filepath.Base(b.path), b.data},
	}
}

func (g *gen) tar(o file) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range g.members(o) {
		must(tw.WriteHeader(&tar.Header{Name: m.path, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}))
		must(write(tw, m.data))
	}
	must(tw.Close())
	return buf.Bytes()
}

func (g *gen) zip(o file, method uint16) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Fast compression keeps the run short; the level does not matter,
	// deflated bytes never match byte-wise.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	for _, m := range g.members(o) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.path, Method: method})
		must(err)
		must(write(w, m.data))
	}
	must(zw.Close())
	return buf.Bytes()
}

func (g *gen) gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	must(err)
	must(write(zw, b))
	must(zw.Close())
	return buf.Bytes()
}

func write(w io.Writer, b []byte) error {
	_, err := w.Write(b)
	return err
}

// must panics on errors that writing to memory cannot produce.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("eval: in-memory archive: %v", err))
	}
}
