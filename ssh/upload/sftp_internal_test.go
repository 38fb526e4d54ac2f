package upload

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
)

// pipeShop serves one actor's sftp session over an in-memory pipe, with
// the given limits, and returns a client for it.
type pipeShop struct {
	client *sftp.Client
	conn   net.Conn // the client's end; closing it drops the "connection"
	srv    *sftp.RequestServer
	h      *sftpSession
	done   chan struct{}
}

func newPipeShop(t *testing.T, e *markettest.Env, actor *store.Account, o Options) *pipeShop {
	t.Helper()
	u := New(e.Market, nil, o)
	h := &sftpSession{u: u, ctx: context.Background(), actor: actor, notice: io.Discard}
	server, client := net.Pipe()
	srv := sftp.NewRequestServer(server, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
	p := &pipeShop{conn: client, srv: srv, h: h, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_ = srv.Serve()
	}()
	c, err := sftp.NewClientPipe(client, client)
	if err != nil {
		t.Fatal(err)
	}
	p.client = c
	t.Cleanup(func() {
		c.Close()
		client.Close()
		<-p.done
	})
	return p
}

func statusCode(err error) uint32 {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		return uint32(se.FxCode())
	}
	return 0
}

func TestSessionLimits(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	s := e.Upload(t, a, "x", randomBytes(t, 1000), 10)
	p := newPipeShop(t, e, a, Options{MaxHandles: 2, MaxUploads: 1})

	f1, err := p.client.Open("/" + s.ID + ".shop")
	if err != nil {
		t.Fatal(err)
	}
	w1, err := p.client.Create("/new.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.client.Open("/" + s.ID); err == nil || statusCode(err) != uint32(sftp.ErrSSHFxFailure) {
		t.Fatalf("a third open file: %v, want refused", err)
	}
	f1.Close()
	if _, err := p.client.Create("/second.bin"); err == nil {
		t.Fatal("a second upload at once was accepted")
	}
	f2, err := p.client.Open("/" + s.ID)
	if err != nil {
		t.Fatalf("after closing one: %v", err)
	}
	f2.Close()
	if _, err := w1.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	if p.h.handles.Load() != 0 || p.h.inflight.Load() != 0 {
		t.Fatalf("handles %d, uploads %d after closing everything", p.h.handles.Load(), p.h.inflight.Load())
	}
	if got := shopsOf(t, e, a); len(got) != 2 {
		t.Fatalf("%d shops, want 2", len(got))
	}
}

// A chunk failing authentication halfway through a plaintext download
// reaches the client as a failure status, not as a short, "complete" file.
func TestMidStreamFailureIsAnError(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	data := randomBytes(t, 8*65536)
	s := e.Upload(t, a, "x", data, 10)
	blob := filepath.Join(e.DataDir, "blobs", s.ID[:2], s.ID+".shop")
	raw, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	if err := os.WriteFile(blob, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPipeShop(t, e, a, Options{})
	f, err := p.client.Open("/" + s.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err == nil {
		t.Fatalf("download of a damaged file succeeded with %d of %d bytes", len(got), len(data))
	}
	if statusCode(err) != uint32(sftp.ErrSSHFxFailure) {
		t.Fatalf("error %v, want an SSH_FX_FAILURE status", err)
	}
	// Sequential reads straight through the handler say the same.
	f2, err := p.client.Open("/" + s.ID)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := f2.Read(buf)
		n += int64(k)
		if err == io.EOF {
			t.Fatalf("EOF after %d of %d bytes", n, len(data))
		}
		if err != nil {
			break
		}
	}
	if n >= int64(len(data)) {
		t.Fatal("read the whole damaged file")
	}
}

// A connection dropped mid-upload leaves no shop and no file.
func TestDroppedUploadLeavesNothing(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	spool := t.TempDir()
	p := newPipeShop(t, e, a, Options{SpoolDir: spool, ReorderMemory: 1})
	w, err := p.client.Create("/half.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomBytes(t, 300_000)); err != nil {
		t.Fatal(err)
	}
	p.conn.Close() // no close request: the client vanished
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not notice the dropped connection")
	}
	if got := shopsOf(t, e, a); len(got) != 0 {
		t.Fatalf("a dropped upload became a shop: %+v", got)
	}
	assertEmptyDir(t, spool)
	assertEmptyDir(t, filepath.Join(e.DataDir, "blobs", "tmp"))
}

// At shutdown a session ends once its open files are closed, not before.
func TestStopWaitsForOpenFiles(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	data := randomBytes(t, 100_000)
	s := e.Upload(t, a, "x", data, 10)
	p := newPipeShop(t, e, a, Options{})
	f, err := p.client.Open("/" + s.ID)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	idle := make(chan struct{})
	go func() {
		p.h.closeWhenIdle(stop, p.done, p.srv)
		close(idle)
	}()
	close(stop)
	time.Sleep(150 * time.Millisecond)
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("a download in flight at shutdown was cut: %d bytes, %v", len(got), err)
	}
	f.Close()
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle session was not closed at shutdown")
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server kept serving after shutdown")
	}
}

// Nothing but uploads changes the directory.
func TestDirectoryIsReadOnly(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	s := e.Upload(t, a, "x", randomBytes(t, 10), 10)
	p := newPipeShop(t, e, a, Options{})
	c := p.client
	checks := map[string]error{
		"remove":  c.Remove("/" + s.ID + ".shop"),
		"rename":  c.Rename("/"+s.ID+".shop", "/y.shop"),
		"mkdir":   c.Mkdir("/dir"),
		"rmdir":   c.RemoveDirectory("/dir"),
		"symlink": c.Symlink("/"+s.ID, "/link"),
		"link":    c.Link("/"+s.ID, "/link"),
	}
	for name, err := range checks {
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s: %v, want permission denied", name, err)
		}
	}
	if err := c.Chmod("/"+s.ID+".shop", 0o777); err != nil {
		t.Errorf("setstat is accepted and ignored: %v", err)
	}
	if got := shopsOf(t, e, a); len(got) != 1 {
		t.Fatalf("shops %+v", got)
	}
	if _, err := c.ReadDir("/sub"); err == nil {
		t.Error("listed a subdirectory")
	}
	if _, err := c.Open("/"); err == nil {
		t.Error("opened the directory as a file")
	}
	if _, err := c.Create("/"); err == nil {
		t.Error("created the directory as a file")
	}
}

// A size declared at open (OpenSSH sends none; other clients may) is
// checked before any data.
func TestDeclaredSizeRefusedAtOpen(t *testing.T) {
	e := markettest.New(t, markettest.Options{Config: market.Config{MaxUpload: 1000}})
	a := newAccount(t, e)
	h := &sftpSession{u: New(e.Market, nil, Options{}), ctx: context.Background(), actor: a, notice: io.Discard}
	attrs := func(size uint64) []byte {
		b := binary.BigEndian.AppendUint32(nil, 0x1) // SSH_FILEXFER_ATTR_SIZE
		return binary.BigEndian.AppendUint64(b, size)
	}
	for _, size := range []uint64{1001, 1 << 40, 1<<64 - 1} {
		r := &sftp.Request{Method: "Put", Filepath: "/big.bin", Attrs: attrs(size)}
		_, err := h.Filewrite(r)
		var se *statusError
		if !errors.As(err, &se) || se.code != sftp.ErrSSHFxFailure || !strings.Contains(se.msg, "upload limit") {
			t.Fatalf("declared %d bytes: %v, want an SSH_FX_FAILURE naming the limit", size, err)
		}
	}
	w, err := h.Filewrite(&sftp.Request{Method: "Put", Filepath: "/ok.bin", Attrs: attrs(1000)})
	if err != nil {
		t.Fatalf("declared exactly the cap: %v", err)
	}
	w.(io.Closer).Close()
	if got, ok := declaredSize([]byte{0, 0, 0, 0}); ok || got != 0 {
		t.Fatal("no size flag, yet a size")
	}
	if _, ok := declaredSize([]byte{0, 0, 0, 1, 0}); ok {
		t.Fatal("a truncated size was read")
	}
}
