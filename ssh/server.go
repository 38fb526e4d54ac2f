// Package ssh serves the shop over SSH with wish: a TUI for sessions with a
// terminal, the scriptable commands for the rest. Identity is the session's
// public key, decided only after the handshake.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/log"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	rm "github.com/charmbracelet/wish/recover"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/upload"
	gossh "golang.org/x/crypto/ssh"
)

// Config tunes the server.
type Config struct {
	Addr        string        // listen address
	IdleTimeout time.Duration // a connection with no traffic this long is closed
	MaxTimeout  time.Duration // no connection lives longer
	// PerAddress bounds concurrent connections from one remote address.
	// Connections beyond it wait for a slot (up to AdmitWait) rather than
	// being refused, so one user may run tens of commands at once.
	PerAddress int
	AdmitWait  time.Duration
	// TUIIdle quits a TUI session after this long without a key press
	// (output alone keeps a connection alive, so the idle timeout cannot).
	TUIIdle time.Duration
}

func (c *Config) defaults() {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 12 * time.Hour
	}
	if c.PerAddress <= 0 {
		c.PerAddress = 32
	}
	if c.AdmitWait <= 0 {
		c.AdmitWait = time.Minute
	}
	if c.TUIIdle <= 0 {
		c.TUIIdle = 30 * time.Minute
	}
}

// Server is the shop's SSH face.
type Server struct {
	cfg    Config
	srv    *ssh.Server
	market *market.Market
	log    *log.Logger
	limit  *admission
	tui    TUIFactory

	// stop is closed on Shutdown so open TUI sessions say goodbye and quit.
	stop     chan struct{}
	stopOnce sync.Once
	active   atomic.Int64 // sessions being handled
}

// New builds the server. host signs nothing here; it is the SSH host key.
func New(cfg Config, m *market.Market, host gossh.Signer, logger *log.Logger, tui TUIFactory) (*Server, error) {
	cfg.defaults()
	s := &Server{cfg: cfg, market: m, log: logger, limit: newAdmission(cfg.PerAddress, cfg.AdmitWait), tui: tui, stop: make(chan struct{})}
	// scp and sftp: the sftp subsystem bypasses middleware, so it runs its
	// own identity, limits and logging; only the session count is shared.
	files := upload.New(m, logger, upload.Options{Stop: s.stop})
	srv, err := wish.NewServer(
		wish.WithAddress(cfg.Addr),
		withHostSigner(host),
		// Accept any key at auth time and decide who it is afterwards:
		// rejecting unknown keys makes clients with many agent keys hit
		// MaxAuthTries, and deciding identity here is how soft-serve's
		// auth bypass happened. No password or keyboard-interactive.
		wish.WithPublicKeyAuth(func(ssh.Context, ssh.PublicKey) bool { return true }),
		wish.WithIdleTimeout(cfg.IdleTimeout),
		wish.WithMaxTimeout(cfg.MaxTimeout),
		wish.WithSubsystem("sftp", ssh.SubsystemHandler(s.countMiddleware()(files.SFTP))),
		wish.WithMiddleware(
			rm.MiddlewareWithLogger(logger,
				s.sessionMiddleware(),
				files.SCP(), // `scp -t` / `scp -f` (legacy protocol); other commands go on
				s.loggingMiddleware(),
				s.identityMiddleware(),
				commandMiddleware(),
			),
			s.countMiddleware(),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	srv.ConnCallback = s.limit.admit
	srv.ConnectionFailedCallback = func(conn net.Conn, err error) {
		logger.Debug("connection failed", "remote", conn.RemoteAddr().String(), "err", err)
	}
	s.srv = srv
	return s, nil
}

func withHostSigner(signer gossh.Signer) ssh.Option {
	return func(srv *ssh.Server) error {
		srv.AddHostKey(signer)
		return nil
	}
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, asks open TUI sessions to quit and lets
// running commands finish. Once no session is being handled (or ctx ends)
// it closes the connections left, which may be idle for hours otherwise.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan error, 1)
	go func() { done <- s.srv.Shutdown(ctx) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			_ = s.srv.Close()
			<-done
			return ctx.Err()
		case <-tick.C:
			if s.active.Load() == 0 {
				_ = s.srv.Close()
				<-done
				return nil
			}
		}
	}
}

// countMiddleware counts sessions in flight, for Shutdown.
func (s *Server) countMiddleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) {
			s.active.Add(1)
			defer s.active.Add(-1)
			next(sess)
		}
	}
}

// ActiveSessions counts sessions being handled right now.
func (s *Server) ActiveSessions() int64 { return s.active.Load() }
