package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/chain/chaintest"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store/sqlstore"
	gossh "golang.org/x/crypto/ssh"
)

// buildShopfile builds this command into a temp dir (once per test).
func buildShopfile(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shopfile")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func loopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is a running `shopfile serve` process.
type server struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	mu   sync.Mutex
	log  bytes.Buffer
}

func startServe(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	s := &server{done: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"serve"}, args...)...)
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.log.WriteString(line + "\n")
			s.mu.Unlock()
			if a, ok := strings.CutPrefix(line, "ssh listening on "); ok {
				listening <- a
			}
		}
		_ = s.cmd.Wait()
	}()
	t.Cleanup(func() {
		s.kill(syscall.SIGKILL)
		if t.Failed() {
			s.mu.Lock()
			t.Logf("serve log:\n%s", s.log.String())
			s.mu.Unlock()
		}
	})
	select {
	case s.addr = <-listening:
	case <-s.done:
		t.Fatalf("serve exited:\n%s", s.log.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve never printed 'ssh listening on'")
	}
	return s
}

func (s *server) kill(sig syscall.Signal) {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// run runs one SSH command as key and returns stdout and the exit status.
func (s *server) run(t *testing.T, key *sshtest.Key, stdin io.Reader, command string) ([]byte, int) {
	t.Helper()
	c, err := gossh.Dial("tcp", s.addr, &gossh.ClientConfig{User: "test", Auth: []gossh.AuthMethod{gossh.PublicKeys(key.Signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, &out, &errb
	err = sess.Run(command)
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return out.Bytes(), 0
	case errors.As(err, &exit):
		return out.Bytes(), exit.ExitStatus()
	}
	t.Fatalf("%s: %v", command, err)
	return nil, 0
}

func (s *server) json(t *testing.T, key *sshtest.Key, command string, v any) {
	t.Helper()
	out, code := s.run(t, key, nil, command+" --json")
	if code != 0 {
		t.Fatalf("%s: exit %d", command, code)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s: %v: %s", command, err, out)
	}
}

type walletLine struct {
	Balance int64  `json:"balance_sats"`
	Address string `json:"deposit_address"`
}

type payoutLine struct {
	Payout string `json:"payout"`
	Amount int64  `json:"amount_sats"`
	Fee    int64  `json:"fee_sats"`
	Status string `json:"status"`
	TxID   string `json:"txid"`
}

func (s *server) wallet(t *testing.T, key *sshtest.Key) walletLine {
	t.Helper()
	var w walletLine
	s.json(t, key, "wallet", &w)
	return w
}

func (s *server) payoutStatus(t *testing.T, key *sshtest.Key, id string) payoutLine {
	t.Helper()
	var ps []payoutLine
	s.json(t, key, "payouts", &ps)
	for _, p := range ps {
		if p.Payout == id {
			return p
		}
	}
	t.Fatalf("no payout %s in %+v", id, ps)
	return payoutLine{}
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func receivedBy(t *testing.T, h *chaintest.Harness, address string, from int64) int64 {
	t.Helper()
	_, script, err := chain.DecodeAddress(address, h.Params)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var sum int64
	for height := from; height <= h.Height(); height++ {
		hash, err := h.Client.BlockHash(ctx, height)
		if err != nil {
			t.Fatal(err)
		}
		blk, err := h.Client.Block(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range blk.Transactions {
			for _, o := range tx.TxOut {
				if bytes.Equal(o.PkScript, script) {
					sum += o.Value
				}
			}
		}
	}
	return sum
}

func testPayee(t *testing.T, seed string) string {
	t.Helper()
	k, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte(seed)))
	a, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(k.PubKey().SerializeCompressed()), &chaincfg.RegressionNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// The whole payout path through the real binary: withdraw over SSH, the
// `shopfile signer` command signs, the server is killed (SIGKILL) between
// broadcast and confirmation, a block is mined while it is down, and the
// restarted server confirms the payout: paid once, exactly the amount,
// the wallet charged amount + fee, the ledger balanced.
func TestSignerAndKilledServerAgainstBtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btcd and the shopfile binary")
	}
	h := chaintest.Start(t)
	h.ActivateSegwit()
	bin := buildShopfile(t)
	data := t.TempDir()
	args := []string{"--data", data, "--ssh-addr", loopbackAddr(t), "--chain", "regtest", "--btcd-rpc", h.RPC.Host,
		"--btcd-user", h.RPC.User, "--btcd-pass", h.RPC.Pass, "--btcd-notls", "--confirmations", "1", "--log-level", "debug"}
	srv := startServe(t, bin, args...)
	alice, signer := sshtest.NewKey(t, "alice"), sshtest.NewKey(t, "signer")
	if out, err := exec.Command(bin, "admin", "grant", "signer", signer.PubPath, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("admin grant: %v\n%s", err, out)
	}

	from := h.Height()
	h.Pay(srv.wallet(t, alice).Address, 100_000)
	waitFor(t, "the deposit", 30*time.Second, func() bool { return srv.wallet(t, alice).Balance == 100_000 })
	dest := testPayee(t, "signer e2e "+time.Now().String())

	if _, code := srv.run(t, alice, nil, "withdraw "+dest+" 500000 --json"); code != 1 {
		t.Fatalf("withdraw above the balance: exit %d, want 1", code)
	}
	if b := srv.wallet(t, alice).Balance; b != 100_000 {
		t.Fatalf("a refused withdrawal held %d sats", 100_000-b)
	}
	for cmd, want := range map[string]int{
		"withdraw " + dest:                                          2, // usage
		"withdraw " + dest + " -5":                                  1,
		"withdraw " + dest + " 100":                                 1, // below the minimum
		"withdraw not-an-address 10000":                             1,
		"withdraw bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 10000": 1, // mainnet
	} {
		if _, code := srv.run(t, alice, nil, cmd+" --json"); code != want {
			t.Errorf("%s: exit %d, want %d", cmd, code, want)
		}
	}
	var w payoutLine
	srv.json(t, alice, "withdraw "+dest+" 60000", &w)
	if w.Status != "pending" || w.Fee <= 0 || srv.wallet(t, alice).Balance != 100_000-60_000-w.Fee {
		t.Fatalf("withdraw: %+v, balance %d", w, srv.wallet(t, alice).Balance)
	}

	signerArgs := func(key *sshtest.Key) []string {
		return []string{"signer", "--shop", srv.addr, "--identity", key.Path, "--xprv-file", filepath.Join(data, chain.RegtestXprvFile), "--once"}
	}
	if out, err := exec.Command(bin, signerArgs(alice)...).CombinedOutput(); err == nil {
		t.Fatalf("a stranger signed:\n%s", out)
	} else if !strings.Contains(string(out), "signer role") {
		t.Fatalf("stranger refused for another reason:\n%s", out)
	}
	// Over SSH too, the shop takes back only its own transaction: a batch
	// with an output redirected, signed by a signer that checks nothing,
	// is refused and changes nothing.
	var req market.BatchRequest
	srv.json(t, signer, "payout-batch", &req)
	if req.Batch == "" || len(req.Payouts) != 1 || req.Payouts[0].Amount != 60_000 {
		t.Fatalf("payout-batch: %+v", req)
	}
	if _, code := srv.run(t, alice, nil, "payout-batch --json"); code != 1 {
		t.Fatalf("payout-batch as a stranger: exit %d, want 1", code)
	}
	srv.json(t, signer, "payout-batch", &req) // the same batch again, not a new one
	tampered := signTampered(t, req, filepath.Join(data, chain.RegtestXprvFile), testPayee(t, "thief"))
	if _, code := srv.run(t, signer, strings.NewReader(tampered), "payout-submit "+req.Batch+" --json"); code != 1 {
		t.Fatalf("a redirected output was submitted: exit %d, want 1", code)
	}
	if p := srv.payoutStatus(t, alice, w.Payout); p.Status != "pending" || p.TxID != "" {
		t.Fatalf("after the refused submission: %+v", p)
	}
	// A pinned host key that is not the shop's: the signer does not talk.
	if out, err := exec.Command(bin, append(signerArgs(signer), "--host-key", "SHA256:not-the-shop")...).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "not the pinned one") {
		t.Fatalf("signed for an unpinned host: %v\n%s", err, out)
	}
	hostKey, err := os.ReadFile(filepath.Join(data, "ssh", "host_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := gossh.ParsePrivateKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	pinned := append(signerArgs(signer), "--host-key", gossh.FingerprintSHA256(hostSigner.PublicKey()))
	if out, err := exec.Command(bin, pinned...).CombinedOutput(); err != nil {
		t.Fatalf("signer: %v\n%s", err, out)
	}
	waitFor(t, "the broadcast", 20*time.Second, func() bool { return srv.payoutStatus(t, alice, w.Payout).Status == "broadcast" })
	txid := srv.payoutStatus(t, alice, w.Payout).TxID

	// Killed between broadcast and confirmation; the block comes meanwhile.
	srv.kill(syscall.SIGKILL)
	h.Mine(1)
	srv = startServe(t, bin, args...)
	waitFor(t, "the confirmation", 30*time.Second, func() bool { return srv.payoutStatus(t, alice, w.Payout).Status == "confirmed" })
	if got := srv.payoutStatus(t, alice, w.Payout); got.TxID != txid {
		t.Fatalf("txid changed across the restart: %s, was %s", got.TxID, txid)
	}
	if r := receivedBy(t, h, dest, from); r != 60_000 {
		t.Fatalf("the address received %d sats, want exactly 60000", r)
	}
	if b := srv.wallet(t, alice).Balance; b != 100_000-60_000-w.Fee {
		t.Fatalf("balance %d, want %d", b, 100_000-60_000-w.Fee)
	}
	out, err := exec.Command(bin, signerArgs(signer)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no payouts wait") {
		t.Fatalf("a second batch after the restart: %v\n%s", err, out)
	}
	h.Mine(1)
	time.Sleep(500 * time.Millisecond)
	if r := receivedBy(t, h, dest, from); r != 60_000 {
		t.Fatalf("paid again: %d sats", r)
	}

	srv.kill(syscall.SIGTERM)
	checkServeLedger(t, data)
}

// signTampered redirects the batch's payout output to thief and signs it
// anyway, as a signer that checks nothing would.
func signTampered(t *testing.T, req market.BatchRequest, xprvFile, thief string) string {
	t.Helper()
	params := &chaincfg.RegressionNetParams
	pkt, err := chain.DecodePSBT([]byte(req.PSBT))
	if err != nil {
		t.Fatal(err)
	}
	_, script, _ := chain.DecodeAddress(thief, params)
	for _, o := range pkt.UnsignedTx.TxOut {
		if o.Value == req.Payouts[0].Amount {
			o.PkScript = script
		}
	}
	xprv, err := chain.LoadAccountXprv(xprvFile, params)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := chain.NewAccountSigner(xprv, params)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sg.Check(pkt, req.Payouts, chain.SignerPolicy{}); !errors.Is(err, chain.ErrBatchRefused) {
		t.Fatalf("the real signer would sign it: %v", err)
	}
	if err := sg.Sign(pkt); err != nil {
		t.Fatal(err)
	}
	b64, err := chain.EncodePSBT(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return b64
}

func checkServeLedger(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(data, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tot, err := st.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tot.DebitsPosted != tot.CreditsPosted || tot.DebitsPending != tot.CreditsPending || tot.NegativeWallets != 0 {
		t.Errorf("ledger totals %+v", tot)
	}
	for name, f := range map[string]func(context.Context) (int, error){"balance": st.BalanceMismatches} {
		if n, err := f(ctx); err != nil || n != 0 {
			t.Errorf("%s mismatches: %d %v", name, n, err)
		}
	}
}

// `make run`: serve starts its own regtest node (--btcd-exec), mines it past
// segwit activation and runs a signer and a miner in-process, so a
// newcomer's withdrawal completes with nobody else doing anything.
func TestNewcomerWithdrawalCompletesByItself(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btcd and the shopfile binary")
	}
	btcd := chaintest.Btcd(t)
	bin := buildShopfile(t)
	data := t.TempDir()
	srv := startServe(t, bin, "--data", data, "--ssh-addr", loopbackAddr(t), "--chain", "regtest", "--btcd-exec", btcd,
		"--btcd-rpc", loopbackAddr(t))
	alice := sshtest.NewKey(t, "newcomer")
	addr := srv.wallet(t, alice).Address
	if out, err := exec.Command(bin, "regtest", "pay", addr, "50000", "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("regtest pay: %v\n%s", err, out)
	}
	waitFor(t, "the deposit", 30*time.Second, func() bool { return srv.wallet(t, alice).Balance == 50_000 })
	var w payoutLine
	srv.json(t, alice, "withdraw "+testPayee(t, "newcomer "+data)+" 20000", &w)
	waitFor(t, "the payout to confirm by itself", 60*time.Second, func() bool {
		return srv.payoutStatus(t, alice, w.Payout).Status == "confirmed"
	})
	if b := srv.wallet(t, alice).Balance; b != 50_000-20_000-w.Fee {
		t.Fatalf("balance %d", b)
	}
	srv.kill(syscall.SIGTERM)
	checkServeLedger(t, data)
	if _, err := os.Stat(filepath.Join(data, chain.RegtestXprvFile)); err != nil {
		t.Fatalf("no regtest xprv kept for the signer: %v", err)
	}
}
