package bench

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/market/keys"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/store/sqlstore"
	gossh "golang.org/x/crypto/ssh"
)

// TestCrashLosesNoAcknowledgedPurchase runs the real binary (`shopfile
// serve --chain none`), buys over SSH from many channels at once, kills the
// server with SIGKILL in the middle of the load, restarts it, and checks
// through the store that every acknowledged purchase is there, that no
// purchase is half-applied, that Σ debits = Σ credits and that no wallet is
// negative. It does this at several kill points on the same data.
func TestCrashLosesNoAcknowledgedPurchase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the shopfile binary")
	}
	bin := shopfileBinary(t)
	dir := t.TempDir()
	const (
		nKeys   = 12
		perKey  = 4 // concurrent channels per connection
		nShops  = 300
		funds   = 50_000 // runs out after ~200 buys: refusals are part of the load
		feeBps  = 500
		cycles  = 4
		maxLoad = 3 * time.Second
	)
	host, err := keys.HostKey(filepath.Join(dir, "ssh", "host_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	signers, shops, seeded := seedCrashShop(t, dir, nKeys, nShops, funds)

	acked := map[string]crashAck{}
	kills := []time.Duration{150 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1300 * time.Millisecond}
	for cycle := 0; cycle < cycles; cycle++ {
		srv := startServe(t, bin, dir, feeBps)
		clients := make([]*gossh.Client, len(signers))
		for i, s := range signers {
			if clients[i], err = dialSSH(srv.addr, s, host.PublicKey()); err != nil {
				srv.kill(t)
				t.Fatal(err)
			}
		}
		if cycle > 0 { // the restarted shop answers a replay with the acknowledged purchase
			checkReplay(t, clients, acked)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for i, c := range clients {
			for j := 0; j < perKey; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := j; ; k += perKey {
						select {
						case <-stop:
							return
						default:
						}
						shop := shops[(k*7+i*13+cycle*31)%len(shops)]
						key := ids.New("crash", time.Now())
						r, err := sshBuy(c, shop, key)
						if err != nil {
							if r.code == 0 {
								return // the connection died: the server was killed
							}
							continue // refused (insufficient funds, already owned): not acknowledged
						}
						if r.busy {
							continue
						}
						mu.Lock()
						acked[key] = crashAck{buyer: i, shop: shop, price: r.receipt.PriceSats, fee: r.receipt.FeeSats, existing: r.receipt.Existing,
							id: r.receipt.Purchase}
						mu.Unlock()
					}
				}()
			}
		}
		time.Sleep(min(kills[cycle%len(kills)], maxLoad))
		srv.kill(t) // SIGKILL mid-load
		close(stop)
		wg.Wait()
		for _, c := range clients {
			c.Close()
		}
		n := verifyCrashShop(t, dir, signers, acked, seeded)
		distinct := map[string]bool{}
		for _, a := range acked {
			distinct[a.id] = true
		}
		t.Logf("kill %d after %v: %d distinct purchases acknowledged so far, %d in the store (the rest committed but not yet answered); all present, none half-applied, ledger balanced",
			cycle+1, kills[cycle%len(kills)], len(distinct), n)
	}
	if len(acked) == 0 {
		t.Fatal("no purchase was acknowledged: the load never ran")
	}
}

type crashAck struct {
	buyer      int
	shop, id   string
	price, fee int64
	existing   bool
}

// shopfileBinary is $SHOPFILE_BIN, or the command built into a temp dir.
func shopfileBinary(t *testing.T) string {
	if bin := os.Getenv("SHOPFILE_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "shopfile")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/shopfile/shopfile/cmd/shopfile").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// seedCrashShop writes the buyers (real SSH keys, each with funds) and a
// catalogue paid to other accounts into the database before any server
// runs. It returns the buyers' keys, the shop ids and the deposits made.
func seedCrashShop(t *testing.T, dir string, nKeys, nShops int, funds int64) ([]gossh.Signer, []string, int64) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	signers := make([]gossh.Signer, nKeys)
	var seed []sqlstore.SeedAccount
	for i := range signers {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if signers[i], err = gossh.NewSignerFromKey(priv); err != nil {
			t.Fatal(err)
		}
		pub := signers[i].PublicKey()
		seed = append(seed, sqlstore.SeedAccount{ID: gossh.FingerprintSHA256(pub),
			PublicKey: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pub))), Funds: funds})
	}
	sellers := nShops / 10
	for i := 0; i < sellers; i++ {
		k := benchKey(i)
		seed = append(seed, sqlstore.SeedAccount{ID: gossh.FingerprintSHA256(k), PublicKey: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))})
	}
	if _, err := st.SeedAccounts(ctx, seed); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMicro()
	shops := make([]store.Shop, nShops)
	out := make([]string, nShops)
	for i := range shops {
		payee := seed[nKeys+i%sellers].ID
		out[i] = ids.Shop(ids.NewItem())
		shops[i] = store.Shop{ID: out[i], Uploader: payee, Payee: payee, Name: fmt.Sprintf("crash-%d.bin", i), Title: "crash",
			Size: 1, PriceSats: int64(100 + i%900), ContentHash: "00", ContentID: "00", FileKey: []byte{0}, BlobSize: 1,
			CreatedAt: now, UpdatedAt: now}
	}
	if err := st.SeedShops(ctx, shops); err != nil {
		t.Fatal(err)
	}
	return signers, out, int64(nKeys)
}

type serveProc struct {
	cmd  *exec.Cmd
	addr string
}

var listening = regexp.MustCompile(`ssh listening on (\S+)`)

// startServe runs `shopfile serve --chain none` and waits until it listens.
func startServe(t *testing.T, bin, dir string, feeBps int) *serveProc {
	cmd := exec.Command(bin, "serve", "--chain", "none", "--data", dir, "--ssh-addr", "127.0.0.1:0",
		"--fee-bps", fmt.Sprint(feeBps), "--log-level", "error")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case p.addr = <-addr:
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("shopfile serve did not start listening")
		return nil
	}
}

func (p *serveProc) kill(t *testing.T) {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("serve after SIGKILL: %v", err)
	}
}

// checkReplay buys a few acknowledged keys again on the restarted shop:
// each must come back as the acknowledged purchase, charging nothing.
func checkReplay(t *testing.T, clients []*gossh.Client, acked map[string]crashAck) {
	n := 0
	for key, a := range acked {
		if n == 5 {
			break
		}
		n++
		r, err := sshBuy(clients[a.buyer], a.shop, key)
		if err != nil || !r.receipt.Existing || r.receipt.Purchase != a.id {
			t.Errorf("replay of acknowledged %s after restart: %+v, %v", key, r, err)
		}
		// and under a new key: the buyer owns the shop, whether its
		// entitlement was pending at the kill or already swept
		r, err = sshBuy(clients[a.buyer], a.shop, key+"-again")
		if err != nil || !r.receipt.Existing || r.receipt.Purchase != a.id {
			t.Errorf("second purchase of acknowledged %s after restart: %+v, %v", key, r, err)
		}
	}
}

// verifyCrashShop opens the killed shop's database and checks it.
func verifyCrashShop(t *testing.T, dir string, signers []gossh.Signer, acked map[string]crashAck, seeded int64) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for key, a := range acked {
		p, err := st.Purchase(ctx, a.id)
		if err != nil {
			t.Fatalf("acknowledged purchase %s (key %s) is missing after the crash: %v", a.id, key, err)
		}
		buyer := gossh.FingerprintSHA256(signers[a.buyer].PublicKey())
		if p.Buyer != buyer || p.Shop != a.shop || p.PriceSats != a.price || p.FeeSats != a.fee {
			t.Fatalf("purchase %s is %+v, acknowledged as %+v", a.id, p, a)
		}
	}
	tot, err := st.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tot.DebitsPosted != tot.CreditsPosted || tot.DebitsPosted != tot.TransferSum {
		t.Fatalf("ledger: Σ debits %d, Σ credits %d, Σ transfers %d", tot.DebitsPosted, tot.CreditsPosted, tot.TransferSum)
	}
	if tot.NegativeWallets != 0 {
		t.Fatalf("%d wallets below zero", tot.NegativeWallets)
	}
	if tot.SalesMismatches != 0 {
		t.Fatalf("%d shops' sales counts disagree with their purchases", tot.SalesMismatches)
	}
	if n, err := st.BalanceMismatches(ctx); err != nil || n != 0 {
		t.Fatalf("%d balance rows disagree with their transfers (%v)", n, err)
	}
	// No half-applied purchase: each purchase row records both legs (or,
	// written before purchase rows did, has exactly its transfer rows),
	// each legacy leg its purchase.
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "shop.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var half, orphans, legs int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM purchases p WHERE
		(p.buyer_wallet IS NOT NULL AND (p.credit_account IS NULL OR p.fee_account IS NULL))
		OR (p.buyer_wallet IS NULL AND (
			NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id = 'purchase:' || p.id AND t.amount = p.price_sats - p.fee_sats)
			OR (p.fee_sats > 0) <> EXISTS (SELECT 1 FROM transfers t WHERE t.id = 'fee:' || p.id AND t.amount = p.fee_sats)))`).Scan(&half); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM transfers t WHERE t.code IN (?, ?) AND NOT EXISTS
		(SELECT 1 FROM purchases p WHERE t.id IN ('purchase:' || p.id, 'fee:' || p.id))`, int(store.CodePurchase), int(store.CodeFee)).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM transfers WHERE code IN (?, ?))
		+ (SELECT COUNT(*) FROM purchases WHERE buyer_wallet IS NOT NULL AND price_sats > fee_sats)
		+ (SELECT COUNT(*) FROM purchases WHERE buyer_wallet IS NOT NULL AND fee_sats > 0)`,
		int(store.CodePurchase), int(store.CodeFee)).Scan(&legs); err != nil {
		t.Fatal(err)
	}
	if half != 0 || orphans != 0 {
		t.Fatalf("%d purchases without their legs, %d legs without their purchase", half, orphans)
	}
	if tot.Transfers != seeded+legs {
		t.Fatalf("%d transfers: %d deposits + %d purchase legs expected", tot.Transfers, seeded, legs)
	}
	return tot.Purchases
}
