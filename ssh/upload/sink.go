package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
)

// sink is one SFTP upload. SFTP writes are offset-addressed and pkg/sftp
// runs them on several workers, so they may arrive out of order. Writes at
// the cursor stream straight into market.Upload (which seals as it reads);
// writes ahead of it are parked, in memory up to a bound and then in a
// spool file, and stream as soon as the gap before them fills. Each byte
// may be written once: rewriting bytes already sealed, or overlapping a
// parked write, fails the upload. The shop exists only after Close with
// every byte from 0 to the end written; anything else (an error, a gap, a
// dropped connection) cancels the sealer, which leaves no shop and no file.
type sink struct {
	name     string
	limit    int64 // largest upload, bytes
	memLimit int64
	spoolDir string

	mu        sync.Mutex
	next      int64     // bytes streamed to the sealer
	parked    []segment // ahead of next, sorted, disjoint
	parkedMem int64
	spool     *os.File // parked data beyond memLimit, at its upload offsets
	failed    error    // sticky: the upload is lost
	closed    bool

	closeOnce sync.Once
	closeErr  error

	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{}
	shop   market.Shop
	err    error // the sealer's
}

type segment struct {
	off  int64
	n    int64
	data []byte // nil when in the spool file
}

// Sentinel errors (never changed).
var (
	errClosed = errors.New("upload already closed")
	errSealed = errors.New("upload already sealed")
)

// newSink starts sealing a new shop called name, fed by the sink's writes.
func newSink(ctx context.Context, m *market.Market, actor *store.Account, name string, limit, memLimit int64, spoolDir string) *sink {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(ctx)
	s := &sink{name: name, limit: limit, memLimit: memLimit, spoolDir: spoolDir, pw: pw, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.shop, s.err = m.Upload(ctx, actor, market.UploadRequest{Name: name}, pr)
		if s.err != nil {
			pr.CloseWithError(s.err) // later writes fail with the sealer's reason
		} else {
			pr.CloseWithError(errSealed)
		}
	}()
	return s
}

// fail records the first reason the upload is lost and returns it.
func (s *sink) fail(err error) error {
	if s.failed == nil {
		s.failed = err
	}
	return s.failed
}

// WriteAt takes one SFTP write.
func (s *sink) WriteAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return 0, s.failed
	}
	if s.closed {
		return 0, errClosed
	}
	end := off + int64(len(p))
	switch {
	case off < 0 || end < off:
		return 0, s.fail(fmt.Errorf("write at offset %d: %w", off, market.ErrInvalid))
	case end > s.limit:
		return 0, s.fail(fmt.Errorf("%s goes past %d bytes, this shop's upload limit (%s): %w", s.name, s.limit,
			market.FormatBytes(s.limit), market.ErrTooLarge))
	case len(p) == 0:
		return 0, nil
	case off < s.next:
		return 0, s.fail(fmt.Errorf("write at offset %d rewrites bytes already sealed (up to %d); write each byte once: %w",
			off, s.next, market.ErrInvalid))
	case off > s.next:
		if err := s.park(p, off); err != nil {
			return 0, s.fail(err)
		}
		return len(p), nil
	}
	if err := s.stream(p); err != nil {
		return 0, s.fail(err)
	}
	if err := s.drain(); err != nil {
		return 0, s.fail(err)
	}
	return len(p), nil
}

// stream hands bytes at the cursor to the sealer; it returns once they
// were consumed (p is pkg/sftp's buffer, reused after we return).
func (s *sink) stream(p []byte) error {
	n, err := s.pw.Write(p)
	s.next += int64(n)
	if err != nil {
		return fmt.Errorf("sealing %s: %w", s.name, err)
	}
	return nil
}

// park keeps a write that arrived ahead of the cursor.
func (s *sink) park(p []byte, off int64) error {
	n := int64(len(p))
	i := sort.Search(len(s.parked), func(i int) bool { return s.parked[i].off >= off })
	if i > 0 && s.parked[i-1].off+s.parked[i-1].n > off || i < len(s.parked) && off+n > s.parked[i].off {
		return fmt.Errorf("write at offset %d overlaps an earlier write; write each byte once: %w", off, market.ErrInvalid)
	}
	seg := segment{off: off, n: n}
	if s.parkedMem+n <= s.memLimit {
		seg.data = append([]byte(nil), p...)
		s.parkedMem += n
	} else {
		if s.spool == nil {
			f, err := os.CreateTemp(s.spoolDir, "shopfile-sftp-*")
			if err != nil {
				return fmt.Errorf("spooling %s: %w", s.name, err)
			}
			// Unlinked at once: the data lives only as long as the handle,
			// so neither an aborted upload nor a crash leaves a file.
			_ = os.Remove(f.Name())
			s.spool = f
		}
		if _, err := s.spool.WriteAt(p, off); err != nil {
			return fmt.Errorf("spooling %s: %w", s.name, err)
		}
	}
	s.parked = append(s.parked, segment{})
	copy(s.parked[i+1:], s.parked[i:])
	s.parked[i] = seg
	return nil
}

// drain streams parked writes that the cursor has reached.
func (s *sink) drain() error {
	var buf []byte
	for len(s.parked) > 0 && s.parked[0].off == s.next {
		seg := s.parked[0]
		data := seg.data
		if data == nil {
			if int64(cap(buf)) < seg.n {
				buf = make([]byte, seg.n)
			}
			data = buf[:seg.n]
			if _, err := s.spool.ReadAt(data, seg.off); err != nil {
				return fmt.Errorf("reading back spooled bytes of %s: %w", s.name, err)
			}
		} else {
			s.parkedMem -= seg.n
		}
		s.parked[0] = segment{}
		s.parked = s.parked[1:]
		if err := s.stream(data); err != nil {
			return err
		}
	}
	return nil
}

// TransferError is pkg/sftp telling us the session ended with this file
// still open (a dropped connection, a killed client): the upload is lost.
func (s *sink) TransferError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail(fmt.Errorf("upload of %s interrupted: %w", s.name, err))
}

// Close seals the shop if the upload is whole, or abandons it.
func (s *sink) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *sink) close() error {
	s.mu.Lock()
	s.closed = true
	if s.failed == nil && len(s.parked) > 0 {
		s.fail(fmt.Errorf("upload of %s has a gap: nothing was written at bytes %d to %d: %w",
			s.name, s.next, s.parked[0].off, market.ErrInvalid))
	}
	failed := s.failed
	if failed != nil {
		s.cancel()
		s.pw.CloseWithError(failed)
	} else {
		s.pw.Close()
	}
	s.parked, s.parkedMem = nil, 0
	s.mu.Unlock()
	<-s.done
	s.cancel()
	if s.spool != nil {
		s.spool.Close()
	}
	if failed != nil {
		return failed
	}
	return s.err
}

// result is the new shop after a clean Close.
func (s *sink) result() market.Shop { return s.shop }

// size is how many bytes were sealed.
func (s *sink) size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}
