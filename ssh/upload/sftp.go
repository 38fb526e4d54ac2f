package upload

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/pkg/sftp"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
)

// SFTP serves the sftp subsystem for one session: `scp FILE host:` in
// OpenSSH's default mode, and `sftp host`. It is registered with
// wish.WithSubsystem, which calls it without any middleware, so it decides
// identity, limits and logging itself.
func (u *Uploader) SFTP(sess ssh.Session) {
	start := time.Now()
	remote := hostOf(sess.RemoteAddr())
	defer u.recovered(nil)
	actor, err := u.login(sess)
	if err != nil {
		u.log.Warn("sftp refused", "remote", remote, "err", err)
		fmt.Fprintln(sess.Stderr(), "error: "+err.Error())
		_ = sess.Exit(1)
		return
	}
	h := &sftpSession{u: u, ctx: sess.Context(), actor: actor, notice: sess.Stderr()}
	srv := sftp.NewRequestServer(sess, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h})
	stopped := make(chan struct{})
	defer close(stopped)
	if u.o.Stop != nil {
		go h.closeWhenIdle(u.o.Stop, stopped, srv)
	}
	// Serve returns when the client closes its side; the exit status must go
	// out before the channel closes (OpenSSH's scp fails on a missing one).
	err = srv.Serve()
	if err != nil && !errors.Is(err, io.EOF) {
		u.log.Debug("sftp session ended", "account", actor.ID, "err", err)
	}
	u.log.Info("session", "account", actor.ID, "remote", remote, "cmd", "sftp",
		"uploads", h.uploads.Load(), "downloads", h.downloads.Load(), "in", h.bytesIn.Load(), "out", h.bytesOut.Load(),
		"refused", h.refused.Load(), "took", time.Since(start).Round(time.Microsecond))
	_ = sess.Exit(0)
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// sftpSession is one session's view of the shop: a single flat directory
// with SHOP.shop for every shop and SHOP for those the actor may read.
type sftpSession struct {
	u     *Uploader
	ctx   context.Context
	actor *store.Account
	// notice reaches the user's terminal: OpenSSH's scp and sftp pass the
	// channel's stderr through.
	notice io.Writer

	handles   atomic.Int64 // open files
	inflight  atomic.Int64 // open uploads
	uploads   atomic.Int64
	downloads atomic.Int64
	bytesIn   atomic.Int64
	bytesOut  atomic.Int64
	refused   atomic.Int64
}

// closeWhenIdle ends the session at shutdown, once no file is open.
func (h *sftpSession) closeWhenIdle(stop <-chan struct{}, done <-chan struct{}, srv *sftp.RequestServer) {
	select {
	case <-done:
		return
	case <-stop:
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for h.handles.Load() > 0 {
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
	_ = srv.Close()
}

// statusError is an SFTP status with our message: pkg/sftp sends the code
// it unwraps to, and the message as the status text. It deliberately wraps
// nothing else, so no underlying io.EOF can turn a failure into an "end of
// file" status (a short download that looks complete).
type statusError struct {
	code error // one of sftp.ErrSSHFx*
	msg  string
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.code }

// status maps an error to the SFTP status a client sees.
func (h *sftpSession) status(err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var se *statusError
	if errors.As(err, &se) {
		return se
	}
	h.refused.Add(1)
	code := sftp.ErrSSHFxFailure
	switch {
	case errors.Is(err, market.ErrNotFound):
		code = sftp.ErrSSHFxNoSuchFile
	case errors.Is(err, market.ErrForbidden), errors.Is(err, market.ErrInvalid):
		code = sftp.ErrSSHFxPermissionDenied
	}
	return &statusError{code: code, msg: err.Error()}
}

func (h *sftpSession) refuse(code error, format string, args ...any) error {
	h.refused.Add(1)
	return &statusError{code: code, msg: fmt.Sprintf(format, args...)}
}

// pathOf parses a request path (pkg/sftp has made it absolute and clean).
func (h *sftpSession) pathOf(r *sftp.Request) (target, error) {
	t, err := parsePath(r.Filepath)
	if err != nil {
		return t, h.status(err)
	}
	return t, nil
}

// takeHandle reserves one of the session's open files.
func (h *sftpSession) takeHandle() error {
	if h.handles.Add(1) > int64(h.u.o.MaxHandles) {
		h.handles.Add(-1)
		return h.refuse(sftp.ErrSSHFxFailure, "too many open files in this session (at most %d)", h.u.o.MaxHandles)
	}
	return nil
}

// Fileread opens SHOP.shop or SHOP for reading.
func (h *sftpSession) Fileread(r *sftp.Request) (_ io.ReaderAt, err error) {
	defer h.u.recovered(&err)
	t, err := h.pathOf(r)
	if err != nil {
		return nil, err
	}
	if t.root {
		return nil, h.refuse(sftp.ErrSSHFxFailure, "/ is a directory")
	}
	if err := h.takeHandle(); err != nil {
		return nil, err
	}
	f, err := h.u.openDownload(h.ctx, h.actor, t.name)
	if err != nil {
		h.handles.Add(-1)
		h.u.log.Info("sftp download refused", "account", h.actor.ID, "name", t.name, "err", err)
		return nil, h.status(err)
	}
	h.downloads.Add(1)
	return &download{h: h, f: f, start: time.Now()}, nil
}

// download is an open file being read. Reads are at most 32 KiB (SFTP's
// packet size); the plaintext comes from the pooled container reader.
type download struct {
	h     *sftpSession
	f     *market.File
	start time.Time
	bytes atomic.Int64
	once  sync.Once
	err   atomic.Pointer[error]
}

func (d *download) ReadAt(p []byte, off int64) (n int, err error) {
	defer d.h.u.recovered(&err)
	n, err = d.f.ReadAt(p, off)
	d.bytes.Add(int64(n))
	if err == nil || err == io.EOF {
		return n, err
	}
	// A failure mid-file must reach the client as a failure status, never
	// as an end of file: drop the partial data and say why.
	d.err.CompareAndSwap(nil, &err)
	return 0, d.h.refuse(sftp.ErrSSHFxFailure, "reading %s failed: %v", d.f.Name, err)
}

func (d *download) Close() error {
	d.once.Do(func() {
		d.h.handles.Add(-1)
		d.h.bytesOut.Add(d.bytes.Load())
		_ = d.f.Close()
		kv := []any{"account", d.h.actor.ID, "name", d.f.Name, "plaintext", d.f.Plaintext, "size", d.f.Size,
			"read", d.bytes.Load(), "took", time.Since(d.start).Round(time.Microsecond)}
		if e := d.err.Load(); e != nil {
			d.h.u.log.Warn("sftp download failed", append(kv, "err", *e)...)
			return
		}
		d.h.u.log.Info("sftp download", kv...)
	})
	return nil
}

// Filewrite starts an upload: a new shop named after the file.
func (h *sftpSession) Filewrite(r *sftp.Request) (_ io.WriterAt, err error) {
	defer h.u.recovered(&err)
	t, err := h.pathOf(r)
	if err != nil {
		h.u.log.Info("sftp upload refused", "account", h.actor.ID, "path", r.Filepath, "err", err)
		return nil, err
	}
	if t.root {
		return nil, h.refuse(sftp.ErrSSHFxPermissionDenied, "/ is the shop's directory; upload a file into it")
	}
	if size, ok := declaredSize(r.Attrs); ok && (size > uint64(h.u.maxUpload())) {
		return nil, h.status(h.u.tooLarge(t.name, int64(min(size, 1<<62))))
	}
	if err := h.takeHandle(); err != nil {
		return nil, err
	}
	if h.inflight.Add(1) > int64(h.u.o.MaxUploads) {
		h.inflight.Add(-1)
		h.handles.Add(-1)
		return nil, h.refuse(sftp.ErrSSHFxFailure, "too many uploads at once in this session (at most %d)", h.u.o.MaxUploads)
	}
	s := newSink(h.ctx, h.u.m, h.actor, t.name, h.u.maxUpload(), h.u.o.ReorderMemory, h.u.o.SpoolDir)
	return &upload{h: h, s: s, start: time.Now()}, nil
}

// declaredSize is the size an open request declares, if it does (OpenSSH
// does not; other clients may). An open packet's attributes start with
// their own flags word (pkg/sftp's AttrFlags reads the open flags instead).
func declaredSize(attrs []byte) (uint64, bool) {
	const attrSize = 0x00000001
	if len(attrs) < 12 || binary.BigEndian.Uint32(attrs)&attrSize == 0 {
		return 0, false
	}
	return binary.BigEndian.Uint64(attrs[4:12]), true
}

// upload is an open file being written.
type upload struct {
	h     *sftpSession
	s     *sink
	start time.Time
	once  sync.Once
	err   error
}

func (w *upload) WriteAt(p []byte, off int64) (n int, err error) {
	defer w.h.u.recovered(&err)
	n, err = w.s.WriteAt(p, off)
	if err != nil {
		return n, w.h.status(err)
	}
	return n, nil
}

// TransferError: the session ended with the file open; nothing is sealed.
func (w *upload) TransferError(err error) { w.s.TransferError(err) }

// Close seals the shop, or reports why there is none. The status of the
// client's close request is the upload's verdict.
func (w *upload) Close() error {
	w.once.Do(func() {
		defer w.h.u.recovered(&w.err)
		err := w.s.Close()
		w.h.handles.Add(-1)
		w.h.inflight.Add(-1)
		w.h.bytesIn.Add(w.s.size())
		kv := []any{"account", w.h.actor.ID, "name", w.s.name, "bytes", w.s.size(), "took", time.Since(w.start).Round(time.Microsecond)}
		if err != nil {
			w.h.u.log.Warn("sftp upload failed", append(kv, "err", err)...)
			w.err = w.h.status(err)
			return
		}
		w.h.uploads.Add(1)
		shop := w.s.result()
		w.h.u.log.Info("sftp upload", append(kv, "shop", shop.ID, "price", shop.PriceSats)...)
		announce(w.h.notice, shop)
	})
	return w.err
}

// Filecmd: the shop's directory is the catalogue, so nothing is removed,
// renamed or created here except by uploading. Setstat (times, modes sent
// by `scp -p` and some clients) is accepted and ignored.
func (h *sftpSession) Filecmd(r *sftp.Request) (err error) {
	defer h.u.recovered(&err)
	switch r.Method {
	case "Setstat":
		return nil
	case "Remove", "Rmdir":
		return h.refuse(sftp.ErrSSHFxPermissionDenied, "shops cannot be removed over SFTP")
	case "Rename", "PosixRename":
		return h.refuse(sftp.ErrSSHFxPermissionDenied, "shops cannot be renamed over SFTP")
	case "Mkdir":
		return h.refuse(sftp.ErrSSHFxPermissionDenied, "the shop has no subdirectories")
	case "Link", "Symlink":
		return h.refuse(sftp.ErrSSHFxPermissionDenied, "links are not supported")
	}
	return h.refuse(sftp.ErrSSHFxOpUnsupported, "%s is not supported", r.Method)
}

// Filelist lists the directory (the shops the actor may open) and stats
// single files.
func (h *sftpSession) Filelist(r *sftp.Request) (_ sftp.ListerAt, err error) {
	defer h.u.recovered(&err)
	t, err := h.pathOf(r)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case "List":
		if !t.root {
			return nil, h.refuse(sftp.ErrSSHFxNoSuchFile, "%s is not a directory", r.Filepath)
		}
		entries, err := h.u.m.Entries(h.ctx, h.actor)
		if err != nil {
			return nil, h.status(err)
		}
		list := make(lister, 0, 2*len(entries))
		for _, e := range entries {
			list = append(list, plainInfo(e), containerInfo(e))
		}
		return list, nil
	case "Stat", "Lstat":
		if t.root {
			return lister{fileInfo{name: "/", mode: fs.ModeDir | 0o755, mod: time.Now()}}, nil
		}
		fi, err := h.stat(t.name)
		if err != nil {
			return nil, err
		}
		return lister{fi}, nil
	}
	return nil, h.refuse(sftp.ErrSSHFxOpUnsupported, "%s is not supported", r.Method)
}

// stat describes SHOP.shop or SHOP. Sizes are public; the plaintext's mode
// says whether the actor may read it.
func (h *sftpSession) stat(name string) (fileInfo, error) {
	id, isContainer := cutShop(name)
	e, err := h.u.m.Entry(h.ctx, h.actor, id)
	if err != nil {
		// Names that are not shops (a file about to be uploaded) do not exist.
		if errors.Is(err, market.ErrNotFound) {
			return fileInfo{}, &statusError{code: sftp.ErrSSHFxNoSuchFile, msg: name + ": no such file"}
		}
		return fileInfo{}, h.status(err)
	}
	if isContainer {
		return containerInfo(e), nil
	}
	return plainInfo(e), nil
}

func cutShop(name string) (string, bool) {
	if id, ok := strings.CutSuffix(name, ".shop"); ok {
		return id, true
	}
	return name, false
}

func containerInfo(e market.Entry) fileInfo {
	return fileInfo{name: market.ContainerName(e.Shop), size: e.ContainerSize, mode: 0o444, mod: e.ModTime}
}

func plainInfo(e market.Entry) fileInfo {
	mode := fs.FileMode(0)
	if e.Readable {
		mode = 0o400
	}
	return fileInfo{name: e.Shop, size: e.Size, mode: mode, mod: e.ModTime}
}

// fileInfo is an os.FileInfo for a name the shop serves.
type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
	mod  time.Time
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return f.mode }
func (f fileInfo) ModTime() time.Time { return f.mod }
func (f fileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fileInfo) Sys() any           { return nil }

// lister serves a fixed listing.
type lister []os.FileInfo

func (l lister) ListAt(dst []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}
