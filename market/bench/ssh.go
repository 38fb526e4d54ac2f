package bench

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	shopssh "github.com/shopfile/shopfile/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// SSHOptions configure `shopfile bench ssh`.
type SSHOptions struct {
	Connections int           // SSH connections, one account (key) each
	PerConn     int           // concurrent channels (buys) per connection
	Accounts    int           // funded accounts in the database (the connections' among them)
	Shops       int           // catalogue size; 0: Accounts/100, at least 100
	Duration    time.Duration // the measured run
	DataDir     string        // a fresh directory for the database
	FeeBps      int64         // platform fee; 0: 500
	CPUProfile  string
	Log         io.Writer
}

// SSHResult is what `bench ssh` prints. A purchase counts once its
// session exited 0 with the JSON receipt, i.e. after its batch's COMMIT.
type SSHResult struct {
	PurchasesPerSec float64 `json:"purchases_per_sec"`
	P50ms           float64 `json:"p50_ms"`
	P99ms           float64 `json:"p99_ms"`
	Maxms           float64 `json:"max_ms"`
	MeanBatch       float64 `json:"mean_batch"`
	Connections     int     `json:"connections"`
	PerConn         int     `json:"channels_per_connection"`
	Accounts        int     `json:"accounts"`
	Durable         bool    `json:"durable"`
	Purchases       int64   `json:"purchases"`
	Seconds         float64 `json:"seconds"`
	BusyRetries     int64   `json:"busy_retries"`
	CPUPerPurchase  float64 `json:"cpu_us_per_purchase"` // server and clients together, µs
	ReplaysVerified int     `json:"replays_verified"`
}

// SSH runs the purchases through real SSH sessions: the shop's own SSH
// server (wish, the command router, market.Buy) on 127.0.0.1, and Go SSH
// clients that keep their connections open and run each `buy` on a new
// channel. Clients and server share this machine's CPUs.
func SSH(ctx context.Context, o SSHOptions) (SSHResult, error) {
	if o.Connections < 1 || o.PerConn < 1 || o.Duration <= 0 {
		return SSHResult{}, fmt.Errorf("need at least one connection, one channel each and a positive duration")
	}
	o.Accounts = max(o.Accounts, o.Connections+2, 2000)
	if o.Shops <= 0 { // each connection buys as one account: it needs many shops
		o.Shops = max(o.Accounts/100, 2000)
	}
	o.Shops = min(o.Shops, o.Accounts)
	if o.FeeBps <= 0 {
		o.FeeBps = 500
	}
	signers := make([]gossh.Signer, o.Connections)
	pubs := make([]gossh.PublicKey, o.Connections)
	for i := range signers {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return SSHResult{}, fmt.Errorf("client key: %w", err)
		}
		if signers[i], err = gossh.NewSignerFromKey(priv); err != nil {
			return SSHResult{}, fmt.Errorf("client key: %w", err)
		}
		pubs[i] = signers[i].PublicKey()
	}
	w, err := openWorld(ctx, worldOptions{dir: o.DataDir, accounts: o.Accounts, shops: o.Shops, extra: pubs, feeBps: o.FeeBps, log: o.Log})
	if err != nil {
		return SSHResult{}, err
	}
	defer w.close()
	addr, stop, err := w.serveSSH(o.Connections)
	if err != nil {
		return SSHResult{}, err
	}
	defer stop()

	clients := make([]*gossh.Client, o.Connections)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	var workers []func(*picker) int
	conns := map[int]*gossh.Client{}
	for i, s := range signers {
		if clients[i], err = dialSSH(addr, s, w.host.PublicKey()); err != nil {
			return SSHResult{}, err
		}
		acct := w.accountIndex(gossh.FingerprintSHA256(pubs[i]))
		if acct < 0 {
			return SSHResult{}, fmt.Errorf("client key %d was not seeded", i)
		}
		conns[acct] = clients[i]
		for j := 0; j < o.PerConn; j++ {
			workers = append(workers, func(*picker) int { return acct })
		}
	}
	buy := func(ctx context.Context, buyer, shop int, key string) (ack, bool, error) {
		r, err := sshBuy(conns[buyer], w.shops[shop].id, key)
		if err != nil || r.busy {
			return ack{}, r.busy, err
		}
		if r.receipt.Existing || r.receipt.Purchase != key {
			return ack{}, false, fmt.Errorf("purchase %s of %s came back as existing purchase %s", key, r.receipt.Shop, r.receipt.Purchase)
		}
		return ack{buyer: buyer, shop: shop, id: key, fee: r.receipt.FeeSats, legs: legs(r.receipt.PriceSats, r.receipt.FeeSats)}, false, nil
	}
	own := newOwned(len(w.shops))
	var acks ackLog
	progress(o.Log, "run: %d SSH connections × %d channels, %d accounts, %d shops, %v", o.Connections, o.PerConn, len(w.accounts), len(w.shops), o.Duration)
	stopProfile, err := startProfile(o.CPUProfile)
	if err != nil {
		return SSHResult{}, err
	}
	run, err := w.load(ctx, workers, o.Duration, own, &acks, 7, buy)
	stopProfile()
	if err != nil {
		return SSHResult{}, fmt.Errorf("run: %w", err)
	}
	res := SSHResult{PurchasesPerSec: run.rate(), P50ms: ms(run.hist.quantile(0.5)), P99ms: ms(run.hist.quantile(0.99)),
		Maxms: ms(run.hist.max), MeanBatch: run.meanBatch, Connections: o.Connections, PerConn: o.PerConn, Accounts: len(w.accounts),
		Durable: true, Purchases: run.hist.n, Seconds: run.elapsed.Seconds(), BusyRetries: run.busy,
		CPUPerPurchase: float64(run.cpu.Microseconds()) / float64(max(run.hist.n, 1))}
	progress(o.Log, "run: %.0f purchases/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms, mean batch %.1f",
		res.PurchasesPerSec, res.P50ms, res.P99ms, res.Maxms, res.MeanBatch)
	progress(o.Log, "checking the ledger")
	if res.ReplaysVerified, err = w.check(ctx, &acks); err != nil {
		return res, err
	}
	return res, nil
}

// accountIndex finds a seeded account by id (accounts are sorted by id).
func (w *world) accountIndex(id string) int {
	lo, hi := 0, len(w.accounts)
	for lo < hi {
		mid := (lo + hi) / 2
		if w.accounts[mid].ID < id {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(w.accounts) && w.accounts[lo].ID == id {
		return lo
	}
	return -1
}

// serveSSH starts the shop's SSH server on a loopback port.
func (w *world) serveSSH(conns int) (string, func(), error) {
	srv, err := shopssh.New(shopssh.Config{PerAddress: conns + 8}, w.m, w.host, log.New(io.Discard), nil)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
	return ln.Addr().String(), stop, nil
}

// dialSSH opens an authenticated connection, pinning the host key.
func dialSSH(addr string, signer gossh.Signer, host gossh.PublicKey) (*gossh.Client, error) {
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            "bench",
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.FixedHostKey(host),
		Timeout:         10 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", addr, err)
	}
	return c, nil
}

// buyReceipt is the JSON `buy --json` prints.
type buyReceipt struct {
	Purchase    string `json:"purchase"`
	Shop        string `json:"shop"`
	PriceSats   int64  `json:"price_sats"`
	FeeSats     int64  `json:"fee_sats"`
	BalanceSats int64  `json:"balance_sats"`
	Existing    bool   `json:"existing"`
}

type buyReply struct {
	receipt buyReceipt
	code    int    // exit status
	stderr  string // the error line of a refused buy
	busy    bool   // refused with "busy, retry": nothing was done
}

// errRefused is a buy that exited non-zero; its reply says why.
var errRefused = errors.New("buy refused")

// sshBuy runs `buy SHOP --key KEY --json` on a new channel of c.
func sshBuy(c *gossh.Client, shop, key string) (buyReply, error) {
	sess, err := c.NewSession()
	if err != nil {
		return buyReply{}, fmt.Errorf("open channel: %w", err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	err = sess.Run("buy " + shop + " --key " + key + " --json")
	r := buyReply{stderr: strings.TrimSpace(errb.String())}
	var exit *gossh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitStatus()
		r.busy = strings.Contains(r.stderr, "busy, retry")
		if r.busy {
			return r, nil
		}
		return r, fmt.Errorf("%w: buy %s: exit %d: %s", errRefused, shop, r.code, r.stderr)
	default:
		return r, fmt.Errorf("buy %s: %w", shop, err)
	}
	if err := json.Unmarshal(out.Bytes(), &r.receipt); err != nil {
		return r, fmt.Errorf("buy %s: receipt %q (stderr %q): %w", shop, out.String(), r.stderr, err)
	}
	return r, nil
}
