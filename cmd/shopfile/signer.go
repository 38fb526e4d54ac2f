package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
)

// The signer holds the account xprv away from the server. It connects to
// the shop over SSH as an account with the signer role, fetches the
// unsigned payout batch, checks it (every output is a listed payout or
// change back to its own key, the fee is bounded), signs it and submits it.

type signerConfig struct {
	shop     string // HOST:PORT
	identity gossh.Signer
	// hostKey pins the shop's host key; nil accepts any (and says so).
	hostKey  gossh.PublicKey
	xprvFile string
	chain    string // "" takes the batch's network
	policy   chain.SignerPolicy
	out      io.Writer
	log      *log.Logger
}

func signerCmd() *cobra.Command {
	var (
		shop, identity, xprv, hostKey, network string
		once                                   bool
		interval                               time.Duration
		maxFeeRate, maxFee                     int64
	)
	cmd := &cobra.Command{
		Use:   "signer --shop HOST:PORT --identity KEY --xprv-file FILE [--once]",
		Short: "check, sign and submit the shop's payout batches with the account private key",
		Long: `The signer holds the account extended private key (m/84'/coin'/0') that the shop's
deposit addresses derive from; the shop itself holds only the public key. It logs in
over SSH as an account with the signer role (shopfile admin grant signer KEY), fetches
the unsigned payout batch, refuses it unless every output is a listed payout or change
back to its own key and the fee is within bounds, signs it and submits it. With --once
it handles at most one batch and exits; otherwise it polls every --interval.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd); err != nil {
				return exitError{2, err}
			}
			if shop == "" || identity == "" || xprv == "" {
				return exitError{2, errors.New("--shop, --identity and --xprv-file are required")}
			}
			if _, _, err := net.SplitHostPort(shop); err != nil {
				shop = net.JoinHostPort(shop, "22")
			}
			id, err := loadSignerIdentity(identity)
			if err != nil {
				return exitError{2, err}
			}
			cfg := signerConfig{shop: shop, identity: id, xprvFile: xprv, chain: network,
				policy: chain.SignerPolicy{MaxFeeRate: maxFeeRate, MaxFee: maxFee}, out: cmd.OutOrStdout(),
				log: log.NewWithOptions(cmd.ErrOrStderr(), log.Options{ReportTimestamp: true, TimeFormat: time.RFC3339, Prefix: "signer"})}
			if hostKey != "" {
				if cfg.hostKey, err = parseHostKey(hostKey); err != nil {
					return exitError{2, err}
				}
			}
			if once {
				_, err := signOnce(cmd.Context(), cfg)
				return err
			}
			return runSigner(cmd.Context(), cfg, interval, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&shop, "shop", "", "the shop's SSH address, HOST:PORT")
	f.StringVarP(&identity, "identity", "i", "", "SSH private key of an account with the signer role")
	f.StringVar(&xprv, "xprv-file", "", "file holding the account extended private key (on regtest: DATA/regtest.xprv)")
	f.StringVar(&hostKey, "host-key", "", "the shop's host public key (a .pub file or its SHA256: fingerprint); unset: any key is accepted and printed")
	f.StringVar(&network, "chain", "", "refuse batches for any other chain (default: the chain the shop names)")
	f.BoolVar(&once, "once", false, "handle at most one batch, then exit")
	f.DurationVar(&interval, "interval", 10*time.Second, "how often to look for a batch")
	f.Int64Var(&maxFeeRate, "max-fee-rate", 100, "refuse batches paying more than this many sat/vB")
	f.Int64Var(&maxFee, "max-fee", 500_000, "refuse batches paying more than this many sats in fees")
	return cmd
}

// loadSignerIdentity reads an unencrypted SSH private key.
func loadSignerIdentity(path string) (gossh.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--identity: %w", err)
	}
	s, err := gossh.ParsePrivateKey(data)
	var pm *gossh.PassphraseMissingError
	if errors.As(err, &pm) {
		return nil, fmt.Errorf("--identity %s is passphrase-protected; the signer runs unattended and needs a key without one", path)
	}
	if err != nil {
		return nil, fmt.Errorf("--identity %s: %w", path, err)
	}
	return s, nil
}

// parseHostKey takes a public key file, an authorized_keys line or a
// SHA256: fingerprint.
func parseHostKey(s string) (gossh.PublicKey, error) {
	if strings.HasPrefix(s, "SHA256:") {
		return fingerprintKey(s), nil
	}
	data := []byte(s)
	if b, err := os.ReadFile(s); err == nil {
		data = b
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey(data)
	if err != nil {
		return nil, fmt.Errorf("--host-key %q: neither a public key nor a SHA256: fingerprint: %w", s, err)
	}
	return k, nil
}

// fingerprintKey stands for a host key known only by its fingerprint.
type fingerprintKey string

func (f fingerprintKey) Type() string                          { return "fingerprint" }
func (f fingerprintKey) Marshal() []byte                       { return []byte(f) }
func (f fingerprintKey) Verify([]byte, *gossh.Signature) error { return errors.New("not a key") }

func hostKeyMatches(want, got gossh.PublicKey) bool {
	if fp, ok := want.(fingerprintKey); ok {
		return gossh.FingerprintSHA256(got) == string(fp)
	}
	return bytes.Equal(want.Marshal(), got.Marshal())
}

func (c signerConfig) dial() (*gossh.Client, error) {
	cfg := &gossh.ClientConfig{
		User:    "signer",
		Auth:    []gossh.AuthMethod{gossh.PublicKeys(c.identity)},
		Timeout: 15 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			if c.hostKey == nil {
				c.log.Warn("host key not pinned (pass --host-key)", "shop", c.shop, "host_key", gossh.FingerprintSHA256(key))
				return nil
			}
			if !hostKeyMatches(c.hostKey, key) {
				return fmt.Errorf("the shop at %s presented host key %s, not the pinned one: not signing", c.shop, gossh.FingerprintSHA256(key))
			}
			return nil
		},
	}
	cl, err := gossh.Dial("tcp", c.shop, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the shop at %s: %w", c.shop, err)
	}
	return cl, nil
}

// remote runs one shop command and returns its stdout; a non-zero exit is
// an error carrying the shop's message.
func remote(cl *gossh.Client, stdin io.Reader, command string) ([]byte, error) {
	sess, err := cl.NewSession()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, &out, &errb
	if err := sess.Run(command); err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(errb.String()), "error: "))
		var exit *gossh.ExitError
		if errors.As(err, &exit) && msg != "" {
			return nil, fmt.Errorf("the shop refused %s: %s", strings.Fields(command)[0], msg)
		}
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	return out.Bytes(), nil
}

// signOnce handles at most one batch; signed says whether it submitted one.
func signOnce(ctx context.Context, c signerConfig) (signed bool, err error) {
	cl, err := c.dial()
	if err != nil {
		return false, err
	}
	defer cl.Close()
	out, err := remote(cl, nil, "payout-batch --json")
	if err != nil {
		return false, err
	}
	var req market.BatchRequest
	if err := json.Unmarshal(out, &req); err != nil {
		return false, fmt.Errorf("payout-batch: the shop's answer is not JSON: %w", err)
	}
	if req.Batch == "" {
		fmt.Fprintln(c.out, "no payouts wait for a signature")
		return false, nil
	}
	if c.chain != "" && c.chain != req.Network {
		return false, fmt.Errorf("batch %s is for %s, this signer signs for %s only", req.Batch, req.Network, c.chain)
	}
	params, err := chain.Params(req.Network)
	if err != nil {
		return false, fmt.Errorf("batch %s: %w", req.Batch, err)
	}
	xprv, err := chain.LoadAccountXprv(c.xprvFile, params)
	if err != nil {
		return false, err
	}
	acct, err := chain.NewAccountSigner(xprv, params)
	if err != nil {
		return false, err
	}
	pkt, err := chain.DecodePSBT([]byte(req.PSBT))
	if err != nil {
		return false, fmt.Errorf("batch %s: %w", req.Batch, err)
	}
	sum, err := acct.Check(pkt, req.Payouts, c.policy)
	if err != nil {
		return false, fmt.Errorf("batch %s: %w", req.Batch, err)
	}
	if err := acct.Sign(pkt); err != nil {
		return false, fmt.Errorf("batch %s: %w", req.Batch, err)
	}
	b64, err := chain.EncodePSBT(pkt)
	if err != nil {
		return false, err
	}
	out, err = remote(cl, strings.NewReader(b64), "payout-submit "+req.Batch+" --json")
	if err != nil {
		return false, err
	}
	var res market.SubmitResult
	if err := json.Unmarshal(out, &res); err != nil {
		return false, fmt.Errorf("payout-submit: the shop's answer is not JSON: %w", err)
	}
	fmt.Fprintf(c.out, "signed batch %s: %d payouts, %d sats paid, fee %d sats (%.1f sat/vB), change %d sats; txid %s, %s\n",
		req.Batch, len(req.Payouts), sum.Paid, sum.Fee, sum.FeeRate, sum.Change, res.TxID, res.Status)
	return true, nil
}

// runSigner signs batches until ctx ends; failures are logged and retried.
// waiting, when set, is asked first (the in-process regtest signer skips
// logging in while nothing waits).
func runSigner(ctx context.Context, c signerConfig, interval time.Duration, waiting func(context.Context) (bool, error)) error {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	for {
		if waiting != nil {
			if ok, err := waiting(ctx); err == nil && !ok {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
				continue
			}
		}
		if _, err := signOnce(ctx, c); err != nil && ctx.Err() == nil {
			if errors.Is(err, chain.ErrBatchRefused) {
				c.log.Error("batch refused", "err", err)
			} else {
				c.log.Warn("signer", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// devSignerKey returns the in-process regtest signer's SSH key, made once
// in DATA/keys.
func devSignerKey(data string) (gossh.Signer, error) {
	path := filepath.Join(data, "keys", "regtest-signer_ed25519")
	if b, err := os.ReadFile(path); err == nil {
		return gossh.ParsePrivateKey(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "shopfile regtest signer")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("keep the regtest signer key: %w", err)
	}
	return gossh.NewSignerFromKey(priv)
}

// startDevPayouts is `make run`'s regtest convenience: a signer holding
// DATA/regtest.xprv runs in-process (it logs in over SSH like any signer,
// with the signer role granted to its own key), and a block is mined
// whenever transactions wait, so a withdrawal completes by itself.
func startDevPayouts(ctx context.Context, c *serveConfig, m *market.Market, sshAddr net.Addr, hostKey gossh.PublicKey,
	client *chain.Client, payouts *market.Payouts, logger *log.Logger) error {
	key, err := devSignerKey(c.data)
	if err != nil {
		return fmt.Errorf("regtest signer: %w", err)
	}
	if err := m.Grant(ctx, gossh.FingerprintSHA256(key.PublicKey()), "signer"); err != nil {
		return fmt.Errorf("regtest signer: %w", err)
	}
	addr := sshAddr.String()
	if tcp, ok := sshAddr.(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	cfg := signerConfig{shop: addr, identity: key, hostKey: hostKey, xprvFile: filepath.Join(c.data, chain.RegtestXprvFile),
		chain: "regtest", out: io.Discard, log: logger}
	go func() { _ = runSigner(ctx, cfg, 2*time.Second, payouts.Waiting) }()
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n, err := client.MempoolCount(ctx); err == nil && n > 0 {
				if _, err := client.Generate(ctx, 1); err != nil {
					logger.Warn("regtest miner", "err", err)
				} else {
					payouts.Kick()
				}
			}
		}
	}()
	logger.Info("regtest signer and miner running", "signer", gossh.FingerprintSHA256(key.PublicKey()))
	return nil
}

// activateSegwit mines a fresh regtest node past segwit activation, so
// deposits (P2WPKH) can be spent by payouts.
func activateSegwit(ctx context.Context, client *chain.Client, logger *log.Logger) error {
	const segwitHeight = 432 // btcd regtest: BIP9 windows of 144 blocks
	h, err := client.BlockCount(ctx)
	if err != nil {
		return err
	}
	if h >= segwitHeight {
		return nil
	}
	logger.Info("mining past segwit activation", "from", h, "to", segwitHeight)
	if _, err := client.Generate(ctx, uint32(segwitHeight-h)); err != nil {
		return fmt.Errorf("mine past segwit activation: %w", err)
	}
	return nil
}
