package market

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// The right to a plaintext is asked again every so often during a
// download; once it is gone, every later read fails, and never as io.EOF.
func TestAuthorizedReaderAtRechecks(t *testing.T) {
	now := time.Unix(1000, 0)
	checks := 0
	var verdict error
	a := &authorizedReaderAt{r: strings.NewReader("plaintext"), ctx: context.Background(), now: func() time.Time { return now },
		every: 30 * time.Second, check: func(context.Context) error { checks++; return verdict }}
	a.last.Store(now.UnixNano())
	buf := make([]byte, 4)
	read := func() error { _, err := a.ReadAt(buf, 0); return err }
	if err := read(); err != nil || checks != 0 {
		t.Fatalf("fresh: %v, %d checks", err, checks)
	}
	now = now.Add(29 * time.Second)
	if err := read(); err != nil || checks != 0 {
		t.Fatalf("within the interval: %v, %d checks", err, checks)
	}
	now = now.Add(2 * time.Second)
	if err := read(); err != nil || checks != 1 {
		t.Fatalf("after the interval: %v, %d checks", err, checks)
	}
	if err := read(); err != nil || checks != 1 {
		t.Fatalf("checked just now: %v, %d checks", err, checks)
	}
	// A passing failure (the store is busy) fails that read only.
	now = now.Add(31 * time.Second)
	verdict = ErrUnavailable
	if err := read(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("store down: %v", err)
	}
	verdict = nil
	if err := read(); err != nil {
		t.Fatalf("store back: %v", err)
	}
	// Losing the right is final.
	now = now.Add(31 * time.Second)
	verdict = ErrForbidden
	for range 3 {
		err := read()
		if !errors.Is(err, ErrForbidden) || errors.Is(err, io.EOF) {
			t.Fatalf("revoked: %v", err)
		}
	}
	verdict = nil
	if err := read(); !errors.Is(err, ErrForbidden) {
		t.Fatalf("revocation must stick: %v", err)
	}
}
