// Package sshtest runs a whole shop in-process for tests: real SQLite in a
// temp dir, the real ledger writer, the real SSH server on 127.0.0.1:0, and
// clients that speak golang.org/x/crypto/ssh.
package sshtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/market/markettest"
	shopssh "github.com/shopfile/shopfile/ssh"
	"github.com/shopfile/shopfile/store/sqlstore"
	"github.com/shopfile/shopfile/tui"
	gossh "golang.org/x/crypto/ssh"
)

// Options tune a test shop.
type Options struct {
	Market market.Config // Host is filled in
	Chain  market.Chain
	SSH    shopssh.Config
	// DataDir reuses a data directory (a restart); empty: a fresh temp dir.
	DataDir string
	// NoTUI serves commands only.
	NoTUI bool
}

// Shop is a running test shop.
type Shop struct {
	*markettest.Env
	Addr    string
	Port    string
	DataDir string
	Market  *market.Market
	Store   *sqlstore.DB
	Ledger  *ledger.Ledger
	HostKey gossh.PublicKey
	Server  *shopssh.Server
	stopped bool
	done    chan error
	t       testing.TB
}

// Start runs a shop until the test ends.
func Start(t testing.TB, o Options) *Shop {
	t.Helper()
	dir := o.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	cfg := o.Market
	cfg.Host = ln.Addr().String()
	env := markettest.New(t, markettest.Options{Config: cfg, Chain: o.Chain, DataDir: dir})
	m := env.Market
	logger := log.New(io.Discard)
	if testing.Verbose() {
		logger = log.New(os.Stderr)
	}
	var factory shopssh.TUIFactory
	if !o.NoTUI {
		factory = func(s tui.Session) tea.Model { return tui.New(m, s) }
	}
	srv, err := shopssh.New(o.SSH, m, env.Host, logger, factory)
	if err != nil {
		t.Fatal(err)
	}
	s := &Shop{Env: env, Addr: ln.Addr().String(), Port: port, DataDir: dir, Market: m, Store: env.Store, Ledger: env.Ledger,
		HostKey: env.Host.PublicKey(), Server: srv, done: make(chan error, 1), t: t}
	go func() { s.done <- srv.Serve(ln) }()
	t.Cleanup(func() { s.Stop() })
	return s
}

// Stop shuts the shop down (idempotent), closing the ledger and store.
func (s *Shop) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Server.Shutdown(ctx)
	<-s.done
	s.Env.Close()
}

// Key is a user's SSH key pair, also written to disk for OpenSSH.
type Key struct {
	Signer  gossh.Signer
	Path    string // private key file (OpenSSH format, 0600)
	PubPath string
	ID      string // SHA256: fingerprint, the account id
}

// NewKey makes an ed25519 key in a temp dir.
func NewKey(t testing.TB, name string) *Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := &Key{Signer: signer, Path: filepath.Join(dir, name), PubPath: filepath.Join(dir, name+".pub"),
		ID: gossh.FingerprintSHA256(signer.PublicKey())}
	if err := os.WriteFile(k.Path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.PubPath, gossh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	return k
}

// Dial opens an authenticated connection as key, pinning the host key.
func (s *Shop) Dial(key *Key) (*gossh.Client, error) {
	return gossh.Dial("tcp", s.Addr, &gossh.ClientConfig{
		User:            "shopper",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(key.Signer)},
		HostKeyCallback: gossh.FixedHostKey(s.HostKey),
		Timeout:         10 * time.Second,
	})
}

// Result is a finished command.
type Result struct {
	Stdout []byte
	Stderr string
	Code   int
}

// Run runs one command line as key on a fresh connection.
func (s *Shop) Run(key *Key, stdin io.Reader, command string) (Result, error) {
	c, err := s.Dial(key)
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	return RunOn(c, stdin, command)
}

// RunOn runs one command line on an existing connection (a new channel).
func RunOn(c *gossh.Client, stdin io.Reader, command string) (Result, error) {
	sess, err := c.NewSession()
	if err != nil {
		return Result{}, err
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errb, stdin
	err = sess.Run(command)
	res := Result{Stdout: out.Bytes(), Stderr: errb.String()}
	var exit *gossh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.Code = exit.ExitStatus()
	default:
		return res, err
	}
	return res, nil
}

// MustRun runs a command and fails the test unless it exits 0.
func (s *Shop) MustRun(t testing.TB, key *Key, stdin io.Reader, command string) []byte {
	t.Helper()
	res, err := s.Run(key, stdin, command)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	if res.Code != 0 {
		t.Fatalf("%s: exit %d: %s", command, res.Code, res.Stderr)
	}
	return res.Stdout
}
