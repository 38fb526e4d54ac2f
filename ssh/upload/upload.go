// Package upload is the shop's file-transfer face: `scp FILE host:` in
// OpenSSH's default SFTP mode (an sftp subsystem on github.com/pkg/sftp)
// and in the legacy protocol (`scp -O`, wish's scp middleware), both behind
// one Uploader.
//
// An upload becomes a shop exactly like the `upload` command: the file name
// is its name and title, the price the default. A download of SHOP.shop is
// the encrypted container (anyone); of SHOP, the plaintext (the uploader,
// the payee and buyers). Every decision is the market's.
//
// The sftp subsystem bypasses wish's middleware, so it runs its own
// identity (market.Login with the session's key), limits and logging.
package upload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/log"
	"github.com/charmbracelet/ssh"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
)

// Options tune the transfer face. Zero values are sensible defaults.
type Options struct {
	// SpoolDir holds SFTP writes that arrive ahead of their turn once they
	// outgrow ReorderMemory. Spool files are unlinked as soon as they are
	// created, so nothing is left behind by a crash. Default: os.TempDir().
	SpoolDir string
	// ReorderMemory bounds out-of-order SFTP write data kept in memory per
	// upload before it spills to a spool file. Default 8 MiB.
	ReorderMemory int64
	// MaxHandles bounds open files per SFTP session. Default 16.
	MaxHandles int
	// MaxUploads bounds concurrent uploads per SFTP session. Default 4.
	MaxUploads int
	// Stop, when closed, ends SFTP sessions once they have no open file.
	Stop <-chan struct{}
}

func (o *Options) defaults() {
	if o.SpoolDir == "" {
		o.SpoolDir = os.TempDir()
	}
	if o.ReorderMemory <= 0 {
		o.ReorderMemory = 8 << 20
	}
	if o.MaxHandles <= 0 {
		o.MaxHandles = 16
	}
	if o.MaxUploads <= 0 {
		o.MaxUploads = 4
	}
}

// Uploader serves scp and sftp for one market.
type Uploader struct {
	m   *market.Market
	log *log.Logger
	o   Options
}

// New builds the transfer face.
func New(m *market.Market, logger *log.Logger, o Options) *Uploader {
	o.defaults()
	if logger == nil {
		logger = log.New(discard{})
	}
	return &Uploader{m: m, log: logger, o: o}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// login decides who a session is from the key it authenticated with.
func (u *Uploader) login(sess ssh.Session) (*store.Account, error) {
	key := sess.PublicKey()
	if key == nil {
		return nil, fmt.Errorf("shopfile accepts SSH public-key authentication only: %w", market.ErrForbidden)
	}
	a, err := u.m.Login(sess.Context(), key)
	if err != nil {
		return nil, fmt.Errorf("the shop could not load your account; try again: %w", err)
	}
	return a, nil
}

// maxUpload is the largest plaintext the market accepts.
func (u *Uploader) maxUpload() int64 { return u.m.Config().MaxUpload }

// Where a client points, relative to the shop's one flat directory.
type target struct {
	root bool   // the directory itself
	name string // otherwise one plain name
}

// parsePath reads a path a client sent. The shop is one flat directory: a
// path is the directory itself ("", ".", "/", "~", "./") or one plain
// name, optionally after a leading "/" or "./". Anything with a "/" inside,
// a ".." element, NUL or control characters, invalid UTF-8 or more than
// 255 bytes is refused: nothing a client sends ever reaches a file system
// path.
func parsePath(p string) (target, error) {
	if !utf8.ValidString(p) || strings.IndexFunc(p, unicode.IsControl) >= 0 {
		return target{}, fmt.Errorf("path has control characters, NUL or invalid UTF-8: %w", market.ErrInvalid)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return target{}, fmt.Errorf("path %q leaves the shop's directory: %w", p, market.ErrInvalid)
		}
	}
	rest := p
	for {
		switch {
		case strings.HasPrefix(rest, "/"):
			rest = rest[1:]
			continue
		case strings.HasPrefix(rest, "./"):
			rest = rest[2:]
			continue
		}
		break
	}
	switch rest {
	case "", ".", "~":
		return target{root: true}, nil
	}
	if strings.HasSuffix(rest, "/") {
		rest = strings.TrimSuffix(rest, "/")
		if strings.Contains(rest, "/") {
			return target{}, fmt.Errorf("path %q: the shop has no subdirectories: %w", p, market.ErrInvalid)
		}
		return target{}, fmt.Errorf("%q is not a directory: the shop has only its top level: %w", p, market.ErrInvalid)
	}
	if strings.Contains(rest, "/") {
		return target{}, fmt.Errorf("path %q: the shop has no subdirectories: %w", p, market.ErrInvalid)
	}
	if err := market.ValidName(rest); err != nil {
		return target{}, err
	}
	return target{name: rest}, nil
}

// uploadName picks the new shop's name: the target when the client named
// one, else the file's own name (scp sends it separately).
func uploadName(path, fileName string) (string, error) {
	t, err := parsePath(path)
	if err != nil {
		return "", err
	}
	if !t.root {
		return t.name, nil
	}
	if err := market.ValidName(fileName); err != nil {
		return "", err
	}
	return fileName, nil
}

// openDownload opens what a name means for this actor: SHOP.shop is the
// container (anyone), SHOP the plaintext (those who may read it).
func (u *Uploader) openDownload(ctx context.Context, actor *store.Account, name string) (*market.File, error) {
	if id, ok := strings.CutSuffix(name, ".shop"); ok {
		return u.m.ContainerFile(ctx, id)
	}
	return u.m.PlaintextFile(ctx, actor, name)
}

// tooLarge is the refusal of an upload over the market's cap.
func (u *Uploader) tooLarge(name string, size int64) error {
	return fmt.Errorf("%s is %s, larger than this shop's %s upload limit: %w", name,
		market.FormatBytes(size), market.FormatBytes(u.maxUpload()), market.ErrTooLarge)
}

// recovered turns a panic in a handler into an error (and a log line):
// pkg/sftp calls handlers on its own goroutines, where a panic would end
// the whole server.
func (u *Uploader) recovered(errp *error) {
	if r := recover(); r != nil {
		u.log.Error("panic in file transfer", "panic", r, "stack", string(debug.Stack()))
		if errp != nil {
			*errp = errors.New("internal error")
		}
	}
}
