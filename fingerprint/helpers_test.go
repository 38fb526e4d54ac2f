package fingerprint

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"math/rand/v2"
	"testing"
)

// randomBytes returns n bytes from a generator seeded with seed.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// textBytes returns n bytes of word salad: compressible like prose, but
// every chunk distinct.
func textBytes(seed uint64, n int) []byte {
	words := []string{"the", "shop", "file", "creator", "reference", "of", "and", "a",
		"content", "match", "rights", "holder", "upload", "chunk", "byte", "to", "in",
		"archive", "evidence", "range", "strong", "review", "is", "not", "with"}
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// tarOf packs files (name, data pairs) into a tar.
func tarOf(t testing.TB, files ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		name, data := files[i].(string), files[i+1].([]byte)
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipOf packs files (name, data pairs) into a zip with method (zip.Store or
// zip.Deflate).
func zipOf(t testing.TB, method uint16, files ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		name, data := files[i].(string), files[i+1].([]byte)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
