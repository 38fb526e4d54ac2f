package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market/chain/chaintest"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store/sqlstore"
)

// Two real `shopfile serve` processes on one PostgreSQL database and one
// shared data directory are one shop: an upload on one is for sale on the
// other, a deposit to an address one issued is credited by whichever runs
// the chain watcher (exactly one does, and another takes over when it
// dies), a purchase on one pays on the other, and buys racing across both
// never spend more than the wallet holds.
func TestTwoServersOnePostgresShop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs btcd, PostgreSQL and two shopfile servers")
	}
	if markettest.Driver() != "postgres" {
		t.Skip("needs SHOPFILE_TEST_DB=postgres and SHOPFILE_TEST_PG_DSN")
	}
	ctx := context.Background()
	dsn, drop, err := sqlstore.TempDatabase(ctx, os.Getenv(markettest.EnvPGDSN), "shopfile_cluster")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Error(err)
		}
	})
	h := chaintest.Start(t)
	h.Mine(101)
	bin := buildShopfile(t)
	data := t.TempDir()
	start := func() *server {
		addr := loopbackAddr(t)
		return startServe(t, bin, "--data", data, "--ssh-addr", addr, "--host", addr, "--chain", "regtest",
			"--btcd-rpc", h.RPC.Host, "--btcd-user", h.RPC.User, "--btcd-pass", h.RPC.Pass, "--btcd-notls",
			"--confirmations", "1", "--db-driver", "postgres", "--db-dsn", dsn, "--log-level", "info")
	}
	a, b := start(), start()
	alice, bob := sshtest.NewKey(t, "alice"), sshtest.NewKey(t, "bob")

	upload := func(s *server, name string, price int64, body []byte) string {
		t.Helper()
		out, code := s.run(t, alice, bytes.NewReader(body), fmt.Sprintf("upload %s --price %d --json", name, price))
		var up struct{ Shop string }
		if code != 0 || json.Unmarshal(out, &up) != nil || up.Shop == "" {
			t.Fatalf("upload %s: exit %d: %s", name, code, out)
		}
		return up.Shop
	}
	body := make([]byte, 300_000)
	rand.Read(body)
	shop := upload(a, "f.bin", 1000, body)
	var shown struct {
		Price int64 `json:"price_sats"`
	}
	b.json(t, bob, "show "+shop, &shown)
	if shown.Price != 1000 {
		t.Fatalf("server B shows price %d", shown.Price)
	}

	// A deposit to an address server B issued, whoever watches the chain.
	h.Pay(b.wallet(t, bob).Address, 10_000)
	waitFor(t, "the deposit on both servers", 60*time.Second, func() bool {
		return a.wallet(t, bob).Balance == 10_000 && b.wallet(t, bob).Balance == 10_000
	})
	leaders := func() (n int, who *server) {
		for _, s := range []*server{a, b} {
			s.mu.Lock()
			leads := strings.Count(s.log.String(), "chain watcher: this server leads")
			s.mu.Unlock()
			if leads > 0 {
				n, who = n+1, s
			}
		}
		return n, who
	}
	if n, _ := leaders(); n != 1 {
		t.Fatalf("%d servers run the chain watcher, want 1", n)
	}

	// Bought on B, paid on A, downloaded from A (the blob is shared).
	if out, code := b.run(t, bob, nil, "buy "+shop+" --json"); code != 0 {
		t.Fatalf("buy on B: exit %d: %s", code, out)
	}
	if got := a.wallet(t, alice).Balance; got != 1000 {
		t.Fatalf("the seller's balance on A is %d, want 1000", got)
	}
	if out, code := a.run(t, bob, nil, "get "+shop); code != 0 || !bytes.Equal(out, body) {
		t.Fatalf("get on A after the buy on B: exit %d, %d bytes", code, len(out))
	}

	// Bob has 9000: of twelve 1500-sat shops bought at once across both
	// servers exactly six go through.
	var shops []string
	for i := range 12 {
		shops = append(shops, upload(a, fmt.Sprintf("p%d.bin", i), 1500, []byte(fmt.Sprintf("file %d", i))))
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i, s := range shops {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, code := srv.run(t, bob, nil, "buy "+s+" --json"); code == 0 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 6 || a.wallet(t, bob).Balance != 0 || b.wallet(t, bob).Balance != 0 {
		t.Fatalf("%d buys went through (want 6), bob's balance %d", ok.Load(), a.wallet(t, bob).Balance)
	}

	// The watcher's server dies: the other takes over and credits deposits.
	_, leader := leaders()
	other := a
	if leader == a {
		other = b
	}
	leader.kill(syscall.SIGKILL)
	waitFor(t, "the other server to take the chain watcher over", 30*time.Second, func() bool {
		other.mu.Lock()
		defer other.mu.Unlock()
		return strings.Contains(other.log.String(), "chain watcher: this server leads")
	})
	h.Pay(other.wallet(t, bob).Address, 5000)
	waitFor(t, "a deposit after the failover", 60*time.Second, func() bool { return other.wallet(t, bob).Balance == 5000 })

	// The shared ledger balances.
	st, err := sqlstore.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tot, err := st.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tot.DebitsPosted != tot.CreditsPosted || tot.NegativeWallets != 0 || tot.Purchases != 7 {
		t.Fatalf("ledger %+v", tot)
	}
	if n, err := st.BalanceMismatches(ctx); err != nil || n != 0 {
		t.Fatalf("%d balance mismatches (%v)", n, err)
	}
}
