package fingerprint

import (
	"archive/zip"
	"bytes"
	"testing"
)

// best returns the strongest match of ref against an upload: the upload
// itself and, if it is an archive, each member.
func best(t testing.TB, ref *Print, upload []byte) Match {
	t.Helper()
	m := Compare(ref, Sum(upload), nil)
	ms, err := Members(bytes.NewReader(upload), int64(len(upload)))
	if err != nil {
		t.Fatalf("members: %v", err)
	}
	for _, mem := range ms {
		if c := Compare(ref, mem.Print, nil); c.Score > m.Score {
			m = c
		}
	}
	return m
}

func TestCompareClasses(t *testing.T) {
	const size = 2 << 20
	data := textBytes(11, size)
	ref := Sum(data)
	flipped := bytes.Clone(data)
	for i := range 100 {
		flipped[(i*7919*263)%size] ^= 0x55
	}
	other := randomBytes(12, 1<<20)
	cases := []struct {
		name    string
		upload  []byte
		minRef  float64 // minimum RefContained
		minFile float64 // minimum FileContained
	}{
		{"identical", data, 1, 1},
		{"append 1 KB", cat(data, randomBytes(13, 1000)), 0.99, 0.99},
		{"prepend 1 KB", cat(randomBytes(14, 1000), data), 0.99, 0.99},
		{"insert 1 KB", cat(data[:size/2], randomBytes(15, 1000), data[size/2:]), 0.99, 0.99},
		{"first half", data[:size/2], 0.45, 0.98},
		{"quarter excerpt", data[size/3 : size/3+size/4], 0.2, 0.95},
		{"100 flips in 2 MB", flipped, 0.55, 0.55},
		{"inside tar", tarOf(t, "a.bin", other, "ref.txt", data), 0.99, 0.6},
		{"inside zip, stored", zipOf(t, zip.Store, "a.bin", other, "ref.txt", data), 0.99, 0.6},
		{"inside zip, deflated", zipOf(t, zip.Deflate, "a.bin", other, "ref.txt", data), 1, 1},
	}
	for _, c := range cases {
		m := best(t, ref, c.upload)
		t.Logf("%-22s %v score %.3f ref %.3f file %.3f covered %.3f/%.3f shared %d ranges %d",
			c.name, m.Strength, m.Score, m.RefContained, m.FileContained, m.RefCovered, m.FileCovered, m.Shared, len(m.Ranges))
		if m.Strength != Strong || m.RefContained < c.minRef || m.FileContained < c.minFile {
			t.Errorf("%s: %v ref %.3f file %.3f shared %d matched %d, want strong, ref >= %.2f, file >= %.2f",
				c.name, m.Strength, m.RefContained, m.FileContained, m.Shared, m.MatchedBytes, c.minRef, c.minFile)
		}
	}
}

// TestDeflatedBytesDoNotMatch documents why member indexing decompresses:
// a deflated copy shares no chunk with the reference byte-wise.
func TestDeflatedBytesDoNotMatch(t *testing.T) {
	data := textBytes(16, 1<<20)
	z := zipOf(t, zip.Deflate, "ref.txt", data)
	if m := Compare(Sum(data), Sum(z), nil); m.Strength != None || m.Shared != 0 {
		t.Fatalf("deflated archive as bytes: %v with %d shared, want none", m.Strength, m.Shared)
	}
}

func TestCompareEvidence(t *testing.T) {
	data := randomBytes(17, 1<<20)
	ins := randomBytes(18, 5000)
	file := cat(data[:300000], ins, data[300000:])
	m := Compare(Sum(data), Sum(file), nil)
	if m.Strength != Strong || m.Exact {
		t.Fatalf("insert: %+v", m)
	}
	if len(m.Ranges) < 2 || len(m.Ranges) > 3 {
		t.Fatalf("insert gave %d ranges, want 2 or 3: %+v", len(m.Ranges), m.Ranges)
	}
	for _, r := range m.Ranges {
		if !bytes.Equal(data[r.RefOff:r.RefOff+r.Len], file[r.FileOff:r.FileOff+r.Len]) {
			t.Fatalf("range %+v: bytes differ", r)
		}
	}
	if m.RefCovered < 0.95 || m.FileCovered < 0.95 {
		t.Errorf("covered ref %.3f file %.3f, want >= 0.95", m.RefCovered, m.FileCovered)
	}
	if id := Compare(Sum(data), Sum(data), nil); !id.Exact || id.Score != 1 || id.RefCovered != 1 || len(id.Ranges) != 1 {
		t.Errorf("identical: %+v", id)
	}
}

func TestUnrelatedNone(t *testing.T) {
	for i := range uint64(5) {
		a, b := randomBytes(100+i, 1<<20), randomBytes(200+i, 3<<20)
		if m := Compare(Sum(a), Sum(b), nil); m.Strength != None || m.Shared != 0 {
			t.Errorf("unrelated random files: %v, %d shared", m.Strength, m.Shared)
		}
		ta, tb := textBytes(300+i, 1<<20), textBytes(400+i, 1<<20)
		if m := Compare(Sum(ta), Sum(tb), nil); m.Strength != None {
			t.Errorf("unrelated text files: %v, %d shared", m.Strength, m.Shared)
		}
	}
}

// TestZeroRunsNotScored: two unrelated files that share only long zero runs
// (and a repeated pattern) must not match, and those chunks are marked.
func TestZeroRunsNotScored(t *testing.T) {
	zeros := make([]byte, 1<<20)
	pattern := bytes.Repeat([]byte("\x00\x00\x80\x3f"), 256<<10/4)
	a := cat(randomBytes(21, 300000), zeros, pattern, randomBytes(22, 300000))
	b := cat(textBytes(23, 200000), pattern, zeros, textBytes(24, 200000))
	pa, pb := Sum(a), Sum(b)
	m := Compare(pa, pb, nil)
	if m.Strength != None || m.Shared != 0 {
		t.Fatalf("files sharing only zeros and a pattern: %v, %d shared, %d bytes", m.Strength, m.Shared, m.MatchedBytes)
	}
	low := 0
	for _, c := range pa.Chunks {
		if c.LowEntropy {
			low++
		}
	}
	if low < (1<<20+256<<10)/MaxSize-2 {
		t.Errorf("%d low-entropy chunks, want about %d", low, (1<<20+256<<10)/MaxSize)
	}
	if ok, why := Distinctive(Sum(cat(zeros, zeros)), nil); ok {
		t.Error("an all-zero reference is distinctive")
	} else {
		t.Log(why)
	}
}

func TestStopList(t *testing.T) {
	lib := randomBytes(31, 600000) // shared "library" code
	a := cat(lib, randomBytes(32, 400000))
	b := cat(randomBytes(33, 400000), lib)
	pa, pb := Sum(a), Sum(b)
	if m := Compare(pa, pb, nil); m.Score < 0.5 {
		t.Fatalf("without a stop list the shared part scores %.2f", m.Score)
	}
	common := map[uint64]bool{}
	for _, c := range Sum(lib).Chunks {
		common[c.Hash] = true
	}
	stop := func(h uint64) bool { return common[h] }
	if m := Compare(pa, pb, stop); m.Strength == Strong {
		t.Errorf("with the library stop-listed: %v score %.2f shared %d", m.Strength, m.Score, m.Shared)
	}
	if ok, why := Distinctive(Sum(lib), stop); ok {
		t.Error("a fully stop-listed reference is distinctive")
	} else {
		t.Log(why)
	}
}

func TestDistinctive(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"small", randomBytes(41, 50000), false},
		{"zeros", make([]byte, 1<<20), false},
		{"repeated 4 KiB block", bytes.Repeat(randomBytes(42, 4096), 256), false},
		{"random 1 MiB", randomBytes(43, 1<<20), true},
		{"text 200 KB", textBytes(44, 200000), true},
	}
	for _, c := range cases {
		ok, why := Distinctive(Sum(c.data), nil)
		if ok != c.ok {
			t.Errorf("%s: distinctive %v (%s), want %v", c.name, ok, why, c.ok)
		}
	}
}

func TestStopped(t *testing.T) {
	cases := []struct {
		files, owners, total int
		want                 bool
	}{
		{60, 30, 10_000, true},       // common across owners
		{60, 5, 10_000, false},       // one group's files
		{30, 30, 10_000, false},      // too few files in absolute terms
		{900, 100, 1_000_000, false}, // under 0.1% of a large index
		{1100, 100, 1_000_000, true},
	}
	for _, c := range cases {
		if got := Stopped(c.files, c.owners, c.total); got != c.want {
			t.Errorf("Stopped(%d, %d, %d) = %v", c.files, c.owners, c.total, got)
		}
	}
}
