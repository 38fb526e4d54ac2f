package blob

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func files(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestCommitAndOpen(t *testing.T) {
	root := t.TempDir()
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := d.Create()
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Abort()
	if _, err := tmp.WriteString("container bytes"); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(tmp, "abc123"); err != nil {
		t.Fatal(err)
	}
	tmp.Abort() // after a commit: a no-op
	f, err := d.Open("abc123")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if string(b) != "container bytes" || f.Size() != int64(len(b)) {
		t.Fatalf("read %q size %d", b, f.Size())
	}
	if got := files(t, root); len(got) != 1 {
		t.Fatalf("files on disk: %v", got)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	root := t.TempDir()
	d, _ := NewDir(root)
	tmp, err := d.Create()
	if err != nil {
		t.Fatal(err)
	}
	tmp.WriteString("half an upload")
	tmp.Abort()
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("an aborted blob left %v", got)
	}
}

func TestStaleTempFilesAreCleared(t *testing.T) {
	root := t.TempDir()
	d, _ := NewDir(root)
	tmp, _ := d.Create()
	tmp.WriteString("a crash mid-upload")
	tmp.File.Close() // the process died: no Abort
	old := time.Now().Add(-StaleTemp - time.Minute)
	if err := os.Chtimes(tmp.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDir(root); err != nil {
		t.Fatal(err)
	}
	if got := files(t, root); len(got) != 0 {
		t.Fatalf("a restart kept %v", got)
	}
}

// Several servers share one blob directory: one starting up must not
// remove the upload another is writing.
func TestStartupKeepsAnotherServersUpload(t *testing.T) {
	root := t.TempDir()
	a, _ := NewDir(root)
	tmp, _ := a.Create()
	defer tmp.Abort()
	tmp.WriteString("an upload in flight on server A")
	b, err := NewDir(root) // server B starts
	if err != nil {
		t.Fatal(err)
	}
	tmp.WriteString(", still going")
	if err := a.Commit(tmp, "abc123"); err != nil {
		t.Fatalf("server B's start broke server A's upload: %v", err)
	}
	f, err := b.Open("abc123")
	if err != nil {
		t.Fatalf("server B does not see server A's blob: %v", err)
	}
	f.Close()
}

func TestIDsCannotEscape(t *testing.T) {
	d, _ := NewDir(t.TempDir())
	for _, id := range []string{"", "a", "../../etc/passwd", "a/b", "AB", "x\x00y", "..", "a.shop"} {
		if _, err := d.Open(id); err == nil {
			t.Errorf("id %q opened", id)
		}
		if err := d.Remove(id); err == nil {
			t.Errorf("id %q removed", id)
		}
	}
}
