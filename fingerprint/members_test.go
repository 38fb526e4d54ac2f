package fingerprint

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
)

func members(t testing.TB, b []byte) []Member {
	t.Helper()
	ms, err := Members(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// checkMembers verifies names, prints and, for stored members, that the
// archive holds the member's bytes at Offset.
func checkMembers(t *testing.T, archive []byte, ms []Member, want map[string][]byte, stored bool) {
	t.Helper()
	if len(ms) != len(want) {
		t.Fatalf("%d members, want %d", len(ms), len(want))
	}
	for _, m := range ms {
		data, ok := want[m.Name]
		if !ok {
			t.Fatalf("unexpected member %q", m.Name)
		}
		if m.Print.Blake3 != Sum(data).Blake3 || m.Truncated {
			t.Fatalf("member %q: wrong print (truncated %v)", m.Name, m.Truncated)
		}
		if m.Stored != stored {
			t.Fatalf("member %q: stored %v, want %v", m.Name, m.Stored, stored)
		}
		if stored && !bytes.Equal(archive[m.Offset:m.Offset+int64(len(data))], data) {
			t.Fatalf("member %q: archive bytes at offset %d differ", m.Name, m.Offset)
		}
	}
}

func TestMembersTar(t *testing.T) {
	files := map[string][]byte{"a.txt": textBytes(61, 100000), "dir/b.bin": randomBytes(62, 70000)}
	archive := tarOf(t, "a.txt", files["a.txt"], "dir/b.bin", files["dir/b.bin"], "empty", []byte{})
	checkMembers(t, archive, members(t, archive), files, true)
}

func TestMembersTarPAX(t *testing.T) {
	data := randomBytes(63, 50000)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	name := string(bytes.Repeat([]byte("long/"), 40)) + "name.bin" // forces a PAX header
	if err := tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(data)), Mode: 0o644, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	checkMembers(t, buf.Bytes(), members(t, buf.Bytes()), map[string][]byte{name: data}, true)
}

func TestMembersZip(t *testing.T) {
	files := map[string][]byte{"a.txt": textBytes(64, 100000), "b.bin": randomBytes(65, 70000)}
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		archive := zipOf(t, method, "a.txt", files["a.txt"], "b.bin", files["b.bin"])
		checkMembers(t, archive, members(t, archive), files, method == zip.Store)
		// A zip behind other bytes (a self-extractor) is still found, with
		// offsets into the whole file.
		prefixed := cat(randomBytes(66, 3000), archive)
		checkMembers(t, prefixed, members(t, prefixed), files, method == zip.Store)
	}
}

func TestMembersGzip(t *testing.T) {
	data := textBytes(67, 200000)
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Name = "doc.txt"
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	checkMembers(t, nil, members(t, gz(data)), map[string][]byte{"doc.txt": data}, false)
	tgz := gz(tarOf(t, "x/doc.txt", data))
	checkMembers(t, nil, members(t, tgz), map[string][]byte{"x/doc.txt": data}, false)
}

func TestMembersNotArchive(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello"), randomBytes(68, 100000), make([]byte, 4096)} {
		if ms := members(t, b); ms != nil {
			t.Fatalf("%d bytes of non-archive gave %d members", len(b), len(ms))
		}
	}
}

// TestMembersZipBomb: a highly compressible member stops at the expansion
// budget instead of inflating without bound.
func TestMembersZipBomb(t *testing.T) {
	archive := zipOf(t, zip.Deflate, "zeros", make([]byte, 16<<20))
	lim := DefaultLimits()
	ms, err := MembersLimits(bytes.NewReader(archive), int64(len(archive)), lim)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("err %v, want ErrLimit", err)
	}
	if len(ms) != 1 || !ms[0].Truncated || ms[0].Print.Size > lim.MaxExpansion*int64(len(archive)) {
		t.Fatalf("bomb: %d members, truncated %v", len(ms), len(ms) > 0 && ms[0].Truncated)
	}
}

func TestMembersLimits(t *testing.T) {
	var files []any
	for i := range 20 {
		files = append(files, string(rune('a'+i)), randomBytes(uint64(70+i), 3000))
	}
	archive := tarOf(t, files...)
	lim := DefaultLimits()
	lim.MaxMembers = 5
	ms, err := MembersLimits(bytes.NewReader(archive), int64(len(archive)), lim)
	if !errors.Is(err, ErrLimit) || len(ms) != 5 {
		t.Fatalf("member cap: %d members, err %v", len(ms), err)
	}
	lim = DefaultLimits()
	lim.MaxMemberBytes = 1000
	ms, err = MembersLimits(bytes.NewReader(archive), int64(len(archive)), lim)
	if err != nil || len(ms) != 20 || !ms[0].Truncated || ms[0].Print.Size != 1000 {
		t.Fatalf("byte cap: %d members, err %v", len(ms), err)
	}
}
