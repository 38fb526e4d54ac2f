package fingerprint

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Member is one regular file inside an archive, fingerprinted on its own.
type Member struct {
	Name string
	// Offset is where the member's data starts in the archive: the raw
	// bytes for tar and stored zip members, the compressed bytes for
	// deflated zip members, and -1 inside a gzip stream.
	Offset int64
	// Stored is set when the member's bytes appear as is in the archive at
	// Offset, so Print ranges map to archive ranges by adding Offset.
	Stored bool
	// Truncated is set when only a prefix of the member was fingerprinted
	// (Limits.MaxMemberBytes, the archive's byte budget, or a read error).
	Truncated bool
	Print     *Print
}

// Limits bound the work Members does on one archive, whatever it claims.
type Limits struct {
	MaxMembers     int   // entries looked at, regular files or not
	MaxMemberBytes int64 // bytes fingerprinted per member
	MaxTotalBytes  int64 // bytes read or decompressed for the whole archive
	// MaxExpansion caps the bytes read or decompressed at MaxExpansion
	// times the archive's size (zip bombs, sparse tar entries).
	MaxExpansion int64
}

// DefaultLimits returns the limits Members uses.
func DefaultLimits() Limits {
	return Limits{
		MaxMembers:     10_000,
		MaxMemberBytes: 1 << 30,
		MaxTotalBytes:  4 << 30,
		MaxExpansion:   100,
	}
}

// ErrLimit is wrapped by the error Members returns when it stopped at a
// limit; the members returned are still valid.
var ErrLimit = errors.New("fingerprint: archive limit reached")

// Members fingerprints the regular, non-empty files inside a tar, zip or
// gzip (including .tar.gz) archive with DefaultLimits. It returns nil, nil
// when r is none of these. After an error the members returned so far are
// valid; errors.Is(err, ErrLimit) tells a limit from a damaged archive.
// Archives inside archives are not opened.
//
// Deflated zip members (and gzip streams) are decompressed, within the
// byte budget, and fingerprinted as their plain bytes: compressed bytes
// never match the reference byte-wise, but the member does.
func Members(r io.ReaderAt, size int64) ([]Member, error) {
	return MembersLimits(r, size, DefaultLimits())
}

// MembersLimits is Members with explicit limits.
func MembersLimits(r io.ReaderAt, size int64, lim Limits) ([]Member, error) {
	if size <= 0 {
		return nil, nil
	}
	budget := min(lim.MaxTotalBytes, satMul(lim.MaxExpansion, size))
	w := &walker{lim: lim, budget: budget}
	if ms, ok, err := w.tarFile(r, size); ok {
		return ms, err
	}
	if zr, err := zip.NewReader(r, size); err == nil || errors.Is(err, zip.ErrInsecurePath) {
		return w.zip(zr)
	}
	if isGzip(r, size) {
		return w.gzip(io.NewSectionReader(r, 0, size))
	}
	return nil, nil
}

// satMul multiplies non-negative a and b, saturating instead of overflowing.
func satMul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > (1<<63-1)/b {
		return 1<<63 - 1
	}
	return a * b
}

// walker holds the state of one Members call.
type walker struct {
	lim     Limits
	budget  int64 // bytes that may still be read or decompressed
	entries int
	out     []Member
	buf     []byte // copy buffer, allocated for the first member
}

// errBudget is returned by budgetReader when the archive's budget is spent.
var errBudget = fmt.Errorf("%w: byte budget", ErrLimit)

// budgetReader charges every byte read to the walker's budget.
type budgetReader struct {
	r io.Reader
	w *walker
}

func (b budgetReader) Read(p []byte) (int, error) {
	if b.w.budget <= 0 {
		return 0, errBudget
	}
	if int64(len(p)) > b.w.budget {
		p = p[:b.w.budget]
	}
	n, err := b.r.Read(p)
	b.w.budget -= int64(n)
	return n, err
}

// next counts one entry and reports whether the entry limit allows it.
func (w *walker) next() error {
	if w.entries >= w.lim.MaxMembers {
		return fmt.Errorf("%w: %d entries", ErrLimit, w.lim.MaxMembers)
	}
	w.entries++
	return nil
}

// add fingerprints one member from r, which yields at most size bytes (-1
// if unknown). It returns a non-nil error only when the walk must stop.
func (w *walker) add(name string, off int64, stored bool, r io.Reader, size int64) error {
	if size == 0 {
		return nil
	}
	if w.buf == nil {
		w.buf = make([]byte, 256<<10) // large reads keep blake3 on its fast path
	}
	h := NewHasher()
	n, err := io.CopyBuffer(h, io.LimitReader(budgetReader{r, w}, w.lim.MaxMemberBytes), w.buf)
	m := Member{Name: name, Offset: off, Stored: stored, Print: h.Sum()}
	m.Truncated = err != nil || (size < 0 && n == w.lim.MaxMemberBytes) || (size >= 0 && n < size)
	if n > 0 {
		w.out = append(w.out, m)
	}
	if errors.Is(err, ErrLimit) {
		return err
	}
	return nil
}

// tarFile handles r as a tar archive if its first header parses.
func (w *walker) tarFile(r io.ReaderAt, size int64) (ms []Member, ok bool, err error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	hdr, err := tr.Next()
	if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
		return nil, false, nil
	}
	pos := func() int64 {
		p, _ := sr.Seek(0, io.SeekCurrent)
		return p
	}
	err = w.tarEntries(tr, hdr, pos)
	return w.out, true, err
}

// tarEntries walks a tar stream whose first header is hdr. pos returns the
// stream position of the current entry's data, or -1 when unknown.
func (w *walker) tarEntries(tr *tar.Reader, hdr *tar.Header, pos func() int64) error {
	for {
		if err := w.next(); err != nil {
			return err
		}
		if hdr.FileInfo().Mode().IsRegular() {
			off := pos()
			// Sparse entries read holes as zeros, so only plain entries
			// are the archive's own bytes.
			stored := off >= 0 && hdr.Typeflag == tar.TypeReg && !sparse(hdr)
			if err := w.add(hdr.Name, off, stored, tr, hdr.Size); err != nil {
				return err
			}
		}
		var err error
		hdr, err = tr.Next()
		switch {
		case err == io.EOF:
			return nil
		case err != nil && !errors.Is(err, tar.ErrInsecurePath):
			return err
		}
	}
}

// sparse reports PAX sparse-file records (GNU sparse formats 0.x and 1.0).
func sparse(hdr *tar.Header) bool {
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// zip walks the central directory.
func (w *walker) zip(zr *zip.Reader) ([]Member, error) {
	for _, f := range zr.File {
		if err := w.next(); err != nil {
			return w.out, err
		}
		if !f.Mode().IsRegular() {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			continue
		}
		err = w.add(f.Name, off, f.Method == zip.Store, rc, int64(min(f.UncompressedSize64, 1<<62)))
		_ = rc.Close()
		if err != nil {
			return w.out, err
		}
	}
	return w.out, nil
}

// isGzip checks the gzip magic.
func isGzip(r io.ReaderAt, size int64) bool {
	var magic [2]byte
	if size < 2 {
		return false
	}
	_, err := r.ReadAt(magic[:], 0)
	return err == nil && magic == [2]byte{0x1f, 0x8b}
}

// gzip handles a gzip stream: a tar inside is walked member by member,
// anything else is one member. All decompressed bytes count against the
// budget, including tar entries that are skipped.
func (w *walker) gzip(r io.Reader) ([]Member, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil
	}
	br := bufio.NewReaderSize(budgetReader{zr, w}, 4096)
	head, _ := br.Peek(512)
	if tr := tar.NewReader(bytes.NewReader(head)); len(head) == 512 && isTarHeader(tr) {
		tr = tar.NewReader(br)
		hdr, err := tr.Next()
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return w.out, err
		}
		err = w.tarEntries(tr, hdr, func() int64 { return -1 })
		return w.out, err
	}
	name := zr.Name
	if name == "" {
		name = "gzip"
	}
	err = w.add(name, -1, false, br, -1)
	return w.out, err
}

// isTarHeader reports whether tr's first block is a valid tar header.
func isTarHeader(tr *tar.Reader) bool {
	_, err := tr.Next()
	return err == nil || errors.Is(err, tar.ErrInsecurePath) || errors.Is(err, io.ErrUnexpectedEOF)
}
