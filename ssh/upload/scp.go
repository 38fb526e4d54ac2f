package upload

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/charmbracelet/wish/scp"
	"github.com/shopfile/shopfile/market"
)

// SCP is the middleware for the legacy scp protocol (`scp -O`, and every
// OpenSSH before 9.0): `scp -t` uploads, `scp -f` downloads; any other
// command goes on down the chain. It sits after the identity and logging
// middleware; a refusal ends the session with the reason on stderr and
// exit status 1.
func (u *Uploader) SCP() wish.Middleware {
	h := scpHandler{u: u}
	legacy := scp.Middleware(h, h)
	return func(next ssh.Handler) ssh.Handler {
		serve := legacy(next)
		return func(s ssh.Session) {
			if info := scp.GetInfo(s.Command()); !info.Ok || info.Op != scp.OpCopyToClient {
				serve(s)
				return
			}
			es := &exitWatch{Session: s}
			serve(es)
			if !es.exited {
				awaitAcks(s)
			}
		}
	}
}

// sourceAcks is how many acknowledgements an scp sink sends for one file:
// ready, the C line, the data.
const sourceAcks = 3

// awaitAcks reads the sink's acknowledgements that wish's scp source never
// waits for. Without it the session can close before the client has
// acknowledged the last byte, and OpenSSH's scp, writing that ack into a
// closed channel, reports "lost connection" for a download that arrived.
func awaitAcks(s ssh.Session) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.ReadFull(s, make([]byte, sourceAcks))
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	case <-s.Context().Done():
	}
}

// exitWatch notes whether the scp middleware ended the session itself
// (a refusal), in which case there are no acks to wait for.
type exitWatch struct {
	ssh.Session
	exited bool
}

func (e *exitWatch) Exit(code int) error {
	e.exited = true
	return e.Session.Exit(code)
}

// lineError ends a refusal with a newline: wish prints handler errors bare
// on stderr, and the scp client appends its own words to the same line.
type lineError struct{ err error }

func (e lineError) Error() string { return e.err.Error() + "\n" }
func (e lineError) Unwrap() error { return e.err }

func refusal(err error) error {
	if err == nil {
		return nil
	}
	return lineError{err}
}

type scpHandler struct{ u *Uploader }

var errNoDirs = fmt.Errorf("the shop is one flat directory: copy single files, without -r: %w", market.ErrInvalid)

// Mkdir refuses `scp -r`.
func (scpHandler) Mkdir(ssh.Session, *scp.DirEntry) error { return refusal(errNoDirs) }

// Write takes one uploaded file. Its size is declared by the client in the
// protocol header: it is checked against the cap before a byte is read,
// and the data must then be exactly that long, or nothing is created.
func (h scpHandler) Write(sess ssh.Session, e *scp.FileEntry) (n int64, err error) {
	defer func() { err = refusal(err) }()
	defer h.u.recovered(&err)
	start := time.Now()
	u := h.u
	name, err := uploadName(scp.GetInfo(sess.Command()).Path, e.Name)
	if err != nil {
		u.log.Info("scp upload refused", "remote", hostOf(sess.RemoteAddr()), "err", err)
		return 0, err
	}
	if e.Size < 0 || e.Size > u.maxUpload() {
		err := u.tooLarge(name, e.Size)
		u.log.Info("scp upload refused", "remote", hostOf(sess.RemoteAddr()), "name", name, "err", err)
		return 0, err
	}
	actor, err := u.login(sess)
	if err != nil {
		return 0, err
	}
	r := &exactReader{r: e.Reader, left: e.Size}
	shop, err := u.m.Upload(sess.Context(), actor, market.UploadRequest{Name: name}, r)
	kv := []any{"account", actor.ID, "name", name, "size", e.Size, "took", time.Since(start).Round(time.Microsecond)}
	if err != nil {
		u.log.Warn("scp upload failed", append(kv, "err", err)...)
		return r.read, err
	}
	u.log.Info("scp upload", append(kv, "shop", shop.ID, "price", shop.PriceSats)...)
	announce(sess.Stderr(), shop)
	return r.read, nil
}

// exactReader reads exactly the declared size: a stream that ends sooner
// (an interrupted copy) is an error, so no partial file becomes a shop.
type exactReader struct {
	r    io.Reader
	left int64
	read int64
}

func (x *exactReader) Read(p []byte) (int, error) {
	if x.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > x.left {
		p = p[:x.left]
	}
	n, err := x.r.Read(p)
	x.left -= int64(n)
	x.read += int64(n)
	if errors.Is(err, io.EOF) {
		if x.left > 0 {
			return n, fmt.Errorf("upload ended %d bytes short of its declared size: %w", x.left, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

// Glob takes one name: the shop does not expand patterns.
func (scpHandler) Glob(_ ssh.Session, pattern string) ([]string, error) {
	t, err := parsePath(pattern)
	if err != nil {
		return nil, refusal(err)
	}
	if t.root {
		return nil, refusal(errNoDirs)
	}
	return []string{t.name}, nil
}

// WalkDir refuses `scp -r`.
func (scpHandler) WalkDir(ssh.Session, string, fs.WalkDirFunc) error { return refusal(errNoDirs) }

// NewDirEntry refuses directories.
func (scpHandler) NewDirEntry(ssh.Session, string) (*scp.DirEntry, error) {
	return nil, refusal(errNoDirs)
}

// NewFileEntry opens SHOP.shop (anyone) or SHOP (those who may read it)
// for `scp -f`. The file is named exactly as asked: OpenSSH checks that.
func (h scpHandler) NewFileEntry(sess ssh.Session, name string) (_ *scp.FileEntry, _ func() error, err error) {
	defer func() { err = refusal(err) }()
	defer h.u.recovered(&err)
	u := h.u
	actor, err := u.login(sess)
	if err != nil {
		return nil, nil, err
	}
	f, err := u.openDownload(sess.Context(), actor, name)
	if err != nil {
		u.log.Info("scp download refused", "account", actor.ID, "name", name, "err", err)
		return nil, nil, err
	}
	start := time.Now()
	mode := fs.FileMode(0o644)
	if f.Plaintext {
		mode = 0o600
	}
	cr := &countReader{r: io.NewSectionReader(f, 0, f.Size)}
	closeFn := func() error {
		u.log.Info("scp download", "account", actor.ID, "name", f.Name, "plaintext", f.Plaintext, "size", f.Size,
			"sent", cr.n, "took", time.Since(start).Round(time.Microsecond))
		return f.Close()
	}
	return &scp.FileEntry{Name: name, Filepath: name, Mode: mode, Size: f.Size, Reader: cr}, closeFn, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// announce tells the uploader which shop their file became.
func announce(w io.Writer, shop market.Shop) {
	fmt.Fprintf(w, "shop %s: %q, %s, %d sats\n", shop.ID, shop.Title, market.FormatBytes(shop.Size), shop.PriceSats)
}
