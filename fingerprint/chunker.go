package fingerprint

// Content-defined chunking in the style of FastCDC (Xia et al., USENIX ATC
// 2016): a gear rolling hash, no cut before MinSize, a strict cut condition
// below AvgSize and a loose one above it (normalized chunking, level 1), and
// a forced cut at MaxSize.

// Chunk size bounds, in bytes.
const (
	MinSize = 2 << 10
	AvgSize = 8 << 10
	MaxSize = 64 << 10
)

const (
	// A position is a cut point when the gear hash has all mask bits zero.
	// log2(AvgSize) = 13; normalization level 1 uses 13+1 bits below
	// AvgSize and 13-1 bits above it. Level 2 (15/11) gives more even
	// sizes, but its dense loose cut points make two chunk sequences that
	// start at different offsets (an excerpt, a prepend) take longer to
	// fall onto the same boundaries: on Go binaries, objects and sources,
	// the mean resynchronization distance was 13.3 KB at level 1, 19.9 KB
	// at level 2 and 11.9 KB without normalization.
	//
	// The bits sit at 46..59: high bits depend on many bytes (bit k on the
	// last k+1), and the top four bits stay free so scan can test the hash
	// pre-shifted by up to 3.
	maskStrict = uint64(1<<14-1) << 46
	maskLoose  = uint64(1<<12-1) << 48

	// window is the number of bytes a gear hash value depends on.
	window = 64
)

// gear[k][b] is a random 64-bit value for byte b, shifted left by k. The
// table is filled once by init from a fixed seed and never written again;
// chunk boundaries depend on it, so changing the seed changes every
// fingerprint.
var gear = makeGear(0x5d1f_0b3a_c4e2_9786)

// makeGear derives the gear values with splitmix64, so the table is a
// deterministic function of the seed.
func makeGear(seed uint64) (t [4][256]uint64) {
	x := seed
	for b := range t[0] {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		for k := range t {
			t[k][b] = z << k
		}
	}
	return t
}

// The hot loops are exempt from race instrumentation (go:norace): they only
// read the caller's slice on the caller's goroutine, and instrumenting two
// loads per byte makes -race runs of the tests and the evaluation about 20
// times slower.

// cutPoint returns the length of the chunk that starts at data[0]. data must
// hold at least MaxSize bytes unless it is the end of the input.
//
// Hashing starts window bytes before MinSize, so every cut decision is a
// function of the 64 bytes before it and not of where the chunk began: an
// edit moves at most the boundaries next to it.
//
//go:norace
func cutPoint(data []byte) int {
	n := len(data)
	if n <= MinSize {
		return n
	}
	if n > MaxSize {
		n = MaxSize
	}
	normal := min(n, AvgSize)
	var fp uint64
	for _, b := range data[MinSize-window : MinSize] {
		fp = fp<<1 + gear[0][b]
	}
	if i, ok := scan(&fp, data[MinSize:normal], maskStrict); ok {
		return MinSize + i
	}
	if i, ok := scan(&fp, data[normal:n], maskLoose); ok {
		return normal + i
	}
	return n
}

// scan rolls the gear hash h = h<<1 + gear(b) over p and returns the length
// up to and including the first byte where h&mask == 0.
//
// It runs the hash pre-shifted: after h<<4, adding gear[3][b0], gear[2][b1],
// gear[1][b2] and gear[0][b3] in turn gives the hash after each byte shifted
// left by 3, 2, 1 and 0, so testing it against mask shifted the same way is
// the exact per-byte test (mask leaves the top bits free). That costs one
// shift per four bytes instead of one per byte; the loop is unrolled to
// eight bytes because it is the chunker's whole cost.
//
//go:norace
func scan(fp *uint64, p []byte, mask uint64) (int, bool) {
	h, g, n := *fp, &gear, len(p)
	m1, m2, m3 := mask<<1, mask<<2, mask<<3
	for ; len(p) >= 8; p = p[8:] {
		x := h<<4 + g[3][p[0]]
		if x&m3 == 0 {
			return n - len(p) + 1, true
		}
		if x += g[2][p[1]]; x&m2 == 0 {
			return n - len(p) + 2, true
		}
		if x += g[1][p[2]]; x&m1 == 0 {
			return n - len(p) + 3, true
		}
		if x += g[0][p[3]]; x&mask == 0 {
			return n - len(p) + 4, true
		}
		if x = x<<4 + g[3][p[4]]; x&m3 == 0 {
			return n - len(p) + 5, true
		}
		if x += g[2][p[5]]; x&m2 == 0 {
			return n - len(p) + 6, true
		}
		if x += g[1][p[6]]; x&m1 == 0 {
			return n - len(p) + 7, true
		}
		if x += g[0][p[7]]; x&mask == 0 {
			return n - len(p) + 8, true
		}
		h = x
	}
	for i, b := range p {
		if h = h<<1 + g[0][b]; h&mask == 0 {
			return n - len(p) + i + 1, true
		}
	}
	*fp = h
	return 0, false
}

// Split calls f with the length of each chunk of data, in order. It is the
// chunker alone, without hashing; the lengths sum to len(data).
func Split(data []byte, f func(n int)) {
	for len(data) > 0 {
		n := cutPoint(data)
		f(n)
		data = data[n:]
	}
}
