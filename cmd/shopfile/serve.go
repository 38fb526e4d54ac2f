package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/keys"
	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/market/web"
	shopssh "github.com/shopfile/shopfile/ssh"
	"github.com/shopfile/shopfile/store/blob"
	"github.com/shopfile/shopfile/tui"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
)

type serveConfig struct {
	data          string
	sshAddr       string
	httpAddr      string
	httpURL       string
	host          string
	chain         string
	btcdRPC       string
	btcdUser      string
	btcdPass      string
	btcdNoTLS     bool
	btcdExec      string
	xpub          string
	confirmations int
	feeBps        int64
	payoutFeeRate int64
	minPayout     int64
	admins        []string
	maxUpload     string
	dbDriver      string
	dbDSN         string
	logLevel      string
	shutdown      time.Duration
}

func serveCmd() *cobra.Command {
	var c serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "serve the shop over SSH",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return exitError{2, err}
			}
			return serve(cmd.Context(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.data, "data", "./data", "everything persistent: database, blobs, host key, regtest keys")
	f.StringVar(&c.sshAddr, "ssh-addr", ":2222", "SSH listen address")
	f.StringVar(&c.httpAddr, "http-addr", "", "HTTP listen address for shop pages and downloads (off when empty)")
	f.StringVar(&c.httpURL, "http-url", "", "public base URL of the HTTP face (default: http://HOST:PORT from --host's host and the --http-addr port)")
	f.StringVar(&c.host, "host", "", "public address written into .shop files (default: from --ssh-addr)")
	f.StringVar(&c.chain, "chain", "regtest", "regtest, signet, testnet, mainnet, or none (no deposits)")
	f.StringVar(&c.btcdRPC, "btcd-rpc", "127.0.0.1:18334", "btcd RPC address")
	f.StringVar(&c.btcdUser, "btcd-user", "", "btcd RPC user")
	f.StringVar(&c.btcdPass, "btcd-pass", "", "btcd RPC password")
	f.BoolVar(&c.btcdNoTLS, "btcd-notls", false, "plain HTTP RPC (loopback only)")
	f.StringVar(&c.btcdExec, "btcd-exec", "", "start this btcd binary as a regtest node (data in DATA/btcd) and stop it on exit")
	f.StringVar(&c.xpub, "xpub", "", "account extended public key for deposit addresses (generated on regtest)")
	f.IntVar(&c.confirmations, "confirmations", 1, "confirmations before a deposit is credited")
	f.Int64Var(&c.feeBps, "fee-bps", 0, "platform fee in basis points")
	f.Int64Var(&c.payoutFeeRate, "payout-fee-rate", 2, "fee rate of payout transactions, sat/vB (btcd has no fee estimator on regtest)")
	f.Int64Var(&c.minPayout, "min-payout", 1000, "smallest withdrawal in sats (always above the dust limit and the fee)")
	f.StringArrayVar(&c.admins, "admin", nil, "public key file with the admin role (repeatable)")
	f.StringVar(&c.maxUpload, "max-upload", "2GiB", "largest upload accepted")
	f.StringVar(&c.dbDriver, "db-driver", "sqlite", "sqlite or postgres")
	f.StringVar(&c.dbDSN, "db-dsn", "", "PostgreSQL connection string")
	f.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	f.DurationVar(&c.shutdown, "shutdown-timeout", 10*time.Second, "how long shutdown waits for sessions")
	return cmd
}

func serve(parent context.Context, c serveConfig) error {
	logger := log.NewWithOptions(os.Stderr, log.Options{ReportTimestamp: true, TimeFormat: time.RFC3339})
	lvl, err := log.ParseLevel(c.logLevel)
	if err != nil {
		return exitError{2, fmt.Errorf("--log-level: %w", err)}
	}
	logger.SetLevel(lvl)
	maxUpload, err := parseSize(c.maxUpload)
	if err != nil {
		return exitError{2, fmt.Errorf("--max-upload: %w", err)}
	}
	if c.host == "" {
		c.host = defaultHost(c.sshAddr)
	}
	if c.httpURL != "" && c.httpAddr == "" {
		return exitError{2, errors.New("--http-url needs --http-addr")}
	}
	// Child processes (btcd) run elsewhere: give them absolute paths.
	if c.data, err = filepath.Abs(c.data); err != nil {
		return err
	}
	if c.btcdExec != "" {
		if c.btcdExec, err = filepath.Abs(c.btcdExec); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	st, err := openStore(ctx, c.dbDriver, c.dbDSN, c.data)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.Shared() {
		logger.Info("database", "driver", st.Driver(), "note", "servers sharing it must share --data too")
	}
	hostKey, err := keys.HostKey(filepath.Join(c.data, "ssh", "host_ed25519"))
	if err != nil {
		return err
	}
	escrow, err := keys.Escrow(filepath.Join(c.data, "keys", "escrow.age"))
	if err != nil {
		return err
	}
	sealer, err := keys.SealKey(filepath.Join(c.data, "keys", "seal.key"))
	if err != nil {
		return err
	}
	blobs, err := blob.NewDir(filepath.Join(c.data, "blobs"))
	if err != nil {
		return err
	}
	led := ledger.New(st, ledger.Options{})
	defer led.Close()

	// The HTTP face listens before the market exists: its public URL (from
	// the bound port) goes into torrents and `show --json`.
	var httpLn net.Listener
	var httpURL string
	if c.httpAddr != "" {
		if httpLn, err = net.Listen("tcp", c.httpAddr); err != nil {
			return fmt.Errorf("listen %s: %w", c.httpAddr, err)
		}
		defer httpLn.Close()
		if httpURL, err = publicHTTPURL(c.httpURL, c.host, httpLn.Addr()); err != nil {
			return exitError{2, err}
		}
	}

	hub := market.NewHub()
	if st.Shared() {
		// Other servers' events (a claim approved there) reach the
		// sessions here, and ours reach theirs.
		hub.Connect(ctx, st)
	}
	side, stopChain, err := setupChain(ctx, &c, st, hub, logger.WithPrefix("chain"))
	if err != nil {
		return exitError{2, err}
	}
	defer stopChain()
	var chainFace market.Chain
	if side != nil {
		chainFace = market.WithPayouts(side.deposits, side.payouts)
	}
	m, err := market.New(ctx, market.Config{Host: c.host, FeeBps: c.feeBps, MaxUpload: maxUpload, Chain: c.chain, HTTPURL: httpURL},
		market.Deps{Store: st, Blobs: blobs, Ledger: led, Host: hostKey, Escrow: escrow.Recipient(), Sealer: sealer,
			Chain: chainFace, Logger: logger.WithPrefix("market"), Events: hub})
	if err != nil {
		return err
	}
	if err := grantAdmins(ctx, m, c.admins); err != nil {
		return exitError{2, err}
	}
	srv, err := shopssh.New(shopssh.Config{Addr: c.sshAddr}, m, hostKey, logger.WithPrefix("ssh"), func(s tui.Session) tea.Model { return tui.New(m, s) })
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.sshAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.sshAddr, err)
	}
	logger.Info("host key", "fingerprint", gossh.FingerprintSHA256(hostKey.PublicKey()), "chain", c.chain, "host", c.host)
	fmt.Fprintf(os.Stderr, "ssh listening on %s\n", ln.Addr())

	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ln) }()
	var hs *http.Server
	if httpLn != nil {
		hs = web.NewHTTPServer(web.New(m, web.Options{Logger: logger.WithPrefix("http")}))
		go func() {
			if err := hs.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
		}()
		fmt.Fprintf(os.Stderr, "http listening on %s (%s)\n", httpLn.Addr(), httpURL)
	}
	if side != nil {
		// On PostgreSQL one server at a time follows the chain and runs
		// the payout loop (an advisory lock); on SQLite this one always.
		go func() { _ = side.deposits.Run(ctx, side.payouts.Run) }()
		if side.devNode {
			if err := startDevPayouts(ctx, &c, m, ln.Addr(), hostKey.PublicKey(), side.client, side.payouts, logger.WithPrefix("regtest")); err != nil {
				logger.Warn("regtest signer", "err", err)
			}
		}
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("ssh: %w", err)
		}
	}
	logger.Info("shutting down", "timeout", c.shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdown)
	defer cancel()
	if hs != nil {
		if err := hs.Shutdown(sctx); err != nil {
			logger.Warn("http shutdown", "err", err)
		}
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("ssh shutdown", "err", err)
	}
	return nil
}

// publicHTTPURL is the HTTP face's public base URL: --http-url when given,
// else http:// with --host's host name and the port the face listens on.
func publicHTTPURL(explicit, host string, addr net.Addr) (string, error) {
	if explicit != "" {
		u, err := url.Parse(explicit)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return "", fmt.Errorf("--http-url %q: want a base URL such as https://shop.example or http://shop.example:8080", explicit)
		}
		return strings.TrimRight(u.String(), "/"), nil
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "", fmt.Errorf("http listener address %s: %w", addr, err)
	}
	if port == "80" {
		if strings.Contains(h, ":") {
			return "http://[" + h + "]", nil
		}
		return "http://" + h, nil
	}
	return "http://" + net.JoinHostPort(h, port), nil
}

// defaultHost derives the public address from the listen address.
func defaultHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	if port == "22" {
		return host
	}
	return net.JoinHostPort(host, port)
}

func grantAdmins(ctx context.Context, m *market.Market, files []string) error {
	for _, f := range files {
		id, err := accountID(f)
		if err != nil {
			return fmt.Errorf("--admin: %w", err)
		}
		if err := m.Grant(ctx, id, "admin"); err != nil {
			return fmt.Errorf("--admin %s: %w", f, err)
		}
	}
	return nil
}

// accountID reads a public key file (or takes a SHA256: fingerprint) and
// returns the account id.
func accountID(keyOrFile string) (string, error) {
	if strings.HasPrefix(keyOrFile, "SHA256:") {
		return keyOrFile, nil
	}
	data, err := os.ReadFile(keyOrFile)
	if err != nil {
		return "", fmt.Errorf("read public key: %w", err)
	}
	pub, _, _, _, err := gossh.ParseAuthorizedKey(data)
	if err != nil {
		return "", fmt.Errorf("%s is not an SSH public key: %w", keyOrFile, err)
	}
	return gossh.FingerprintSHA256(pub), nil
}
