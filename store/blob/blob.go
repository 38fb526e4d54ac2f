// Package blob keeps .shop containers as files under the data directory.
// A blob appears under its final name only after it was written whole and
// synced, so a crash or an aborted upload never leaves a half file behind a
// shop.
package blob

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Store is where containers live.
type Store interface {
	// Create starts a new blob as a temp file.
	Create() (*Temp, error)
	// Commit makes t the blob id, durably.
	Commit(t *Temp, id string) error
	// Open opens a committed blob for reading.
	Open(id string) (File, error)
	Remove(id string) error
}

// File is an open blob.
type File interface {
	io.ReaderAt
	io.ReadSeeker
	io.Closer
	Size() int64
}

// Temp is a blob being written.
type Temp struct {
	*os.File
	done bool
}

// Abort removes the temp file unless it was committed; safe to defer.
func (t *Temp) Abort() {
	if t.done {
		return
	}
	t.done = true
	t.File.Close()
	os.Remove(t.Name())
}

// Dir stores blobs in a directory: a local one, or one on storage several
// servers share (NFS, CephFS, …; it needs atomic rename within the
// directory and fsync that reaches the server). Blobs are immutable once
// committed and every server commits through a temp file in root/tmp and
// a rename, so servers never see each other's half-written files.
type Dir struct{ root string }

// StaleTemp is how long an upload's temp file may go unwritten before
// NewDir takes it for a crash's leftover. A live upload writes to its file
// all the time, so on a shared directory another server's upload in
// flight is never removed.
const StaleTemp = time.Hour

// NewDir prepares root and clears temp files an earlier crash left behind
// (those untouched for StaleTemp).
func NewDir(root string) (*Dir, error) {
	for _, d := range []string{root, filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blob dir %s: %w", d, err)
		}
	}
	stale, _ := filepath.Glob(filepath.Join(root, "tmp", "upload-*"))
	for _, f := range stale {
		if fi, err := os.Stat(f); err == nil && time.Since(fi.ModTime()) > StaleTemp {
			os.Remove(f)
		}
	}
	return &Dir{root: root}, nil
}

func (d *Dir) path(id string) (string, error) {
	if !validID(id) {
		return "", fmt.Errorf("blob id %q is not valid", id)
	}
	return filepath.Join(d.root, id[:2], id+".shop"), nil
}

// Create starts a temp file.
func (d *Dir) Create() (*Temp, error) {
	f, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "upload-*")
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	return &Temp{File: f}, nil
}

// Commit syncs t and renames it into place.
func (d *Dir) Commit(t *Temp, id string) error {
	dst, err := d.path(id)
	if err != nil {
		t.Abort()
		return err
	}
	if err := t.Sync(); err != nil {
		t.Abort()
		return fmt.Errorf("sync blob %s: %w", id, err)
	}
	if err := t.File.Close(); err != nil {
		t.Abort()
		return fmt.Errorf("close blob %s: %w", id, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Abort()
		return fmt.Errorf("blob dir: %w", err)
	}
	if err := os.Rename(t.Name(), dst); err != nil {
		t.Abort()
		return fmt.Errorf("commit blob %s: %w", id, err)
	}
	t.done = true
	return syncDir(filepath.Dir(dst))
}

// Open opens a committed blob.
func (d *Dir) Open(id string) (File, error) {
	p, err := d.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", id, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat blob %s: %w", id, err)
	}
	return &file{File: f, size: st.Size()}, nil
}

// Remove deletes a blob; a missing one is not an error.
func (d *Dir) Remove(id string) error {
	p, err := d.path(id)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove blob %s: %w", id, err)
	}
	return nil
}

type file struct {
	*os.File
	size int64
}

func (f *file) Size() int64 { return f.size }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// validID keeps ids to one path element of letters and digits.
func validID(id string) bool {
	if len(id) < 2 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
