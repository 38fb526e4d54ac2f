package sqlstore_test

// Store tests that run on both engines (SHOPFILE_TEST_DB=postgres for
// PostgreSQL, see markettest). "Two servers" are two stores opened on one
// database: two SQLite connections sets on one file, or two PostgreSQL
// pools, racing the way two shopfile processes would.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/store/sqlstore"
)

// twoServers opens the same database twice.
func twoServers(t *testing.T) (*sqlstore.DB, *sqlstore.DB) {
	t.Helper()
	dir := t.TempDir()
	a := markettest.TestStore(t, dir)
	b, _, err := markettest.OpenStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

func TestDriver(t *testing.T) {
	st := markettest.TestStore(t, t.TempDir())
	if got, want := st.Driver(), markettest.Driver(); got != want {
		t.Fatalf("store driver %q, tests asked for %q", got, want)
	}
	if st.Shared() != (want(t) == "postgres") {
		t.Fatalf("Shared() = %v on %s", st.Shared(), st.Driver())
	}
}

func want(t *testing.T) string { t.Helper(); return markettest.Driver() }

func TestMigrationsRaceFromManyServers(t *testing.T) {
	dir := t.TempDir()
	first := markettest.TestStore(t, dir) // creates (and will drop) the database
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _, err := markettest.OpenStore(ctx, dir)
			if err != nil {
				errs <- err
				return
			}
			st.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("open beside other servers: %v", err)
	}
	if _, err := first.SystemAccount(ctx, store.AccountFees, store.KindRevenue); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsMapToTheStores(t *testing.T) {
	st := markettest.TestStore(t, t.TempDir())
	ctx := context.Background()
	a, err := st.EnsureAccount(ctx, "SHA256:alice", "ssh-ed25519 AAAA alice")
	if err != nil {
		t.Fatal(err)
	}
	s := testShop("s1", a.ID, 1000)
	if err := st.CreateShop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateShop(ctx, &s); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("a second shop with the same id: %v, want ErrDuplicate", err)
	}
	if err := st.SetPrice(ctx, s.ID, "SHA256:mallory", 5, 1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reprice by a non-payee: %v, want ErrConflict", err)
	}
	if _, err := st.Shop(ctx, "nosuchshop"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing shop: %v, want ErrNotFound", err)
	}
	bad := testShop("s2", a.ID, 0) // CHECK (price_sats > 0)
	if err := st.CreateShop(ctx, &bad); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a check violation: %v, want ErrConflict", err)
	}
	if err := st.CreateShop(ctx, &bad); errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a refused write must not look like a storage failure: %v", err)
	}
}

func TestAccountsRaceAcrossServers(t *testing.T) {
	a, b := twoServers(t)
	ctx := context.Background()
	const n = 16
	wallets := make([]int64, n)
	fees := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			acct, err := st.EnsureAccount(ctx, "SHA256:racer", "ssh-ed25519 AAAA racer")
			if err != nil {
				t.Errorf("ensure account: %v", err)
				return
			}
			wallets[i] = acct.WalletID
			if fees[i], err = st.SystemAccount(ctx, "rev:race-test", store.KindRevenue); err != nil {
				t.Errorf("system account: %v", err)
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if wallets[i] != wallets[0] || fees[i] != fees[0] {
			t.Fatalf("racing servers made different accounts: wallets %v, system %v", wallets, fees)
		}
	}
}

func TestDepositAddressesRaceAcrossServers(t *testing.T) {
	a, b := twoServers(t)
	ctx := context.Background()
	const n = 12
	for i := range n {
		if _, err := a.EnsureAccount(ctx, fmt.Sprintf("SHA256:dep%d", i), "ssh-ed25519 AAAA"); err != nil {
			t.Fatal(err)
		}
	}
	derive := func(i uint32) (string, []byte, error) {
		return fmt.Sprintf("addr-%d", i), []byte(fmt.Sprintf("script-%d", i)), nil
	}
	addrs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if addrs[i], err = st.DepositAddress(ctx, fmt.Sprintf("SHA256:dep%d", i), derive, 0); err != nil {
				t.Errorf("deposit address: %v", err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ad := range addrs {
		if seen[ad] {
			t.Fatalf("two accounts got %s: %v", ad, addrs)
		}
		seen[ad] = true
	}
	scripts, last, err := b.WatchedScriptsAfter(ctx, -1)
	if err != nil || len(scripts) != n || last != n-1 {
		t.Fatalf("scripts after -1: %d, last %d, %v", len(scripts), last, err)
	}
}

// Two servers, each with its own ledger writer, sell to the same buyers
// at once, with purchases crossing (alice buys from bob while bob buys
// from alice): exactly what the wallets afford succeeds, and the ledger
// balances.
func TestBatchesAcrossServersNeverOverspend(t *testing.T) {
	onePostgresManyServers(t)
	a, b := twoServers(t)
	ctx := context.Background()
	fee, err := a.SystemAccount(ctx, store.AccountFees, store.KindRevenue)
	if err != nil {
		t.Fatal(err)
	}
	onchain, err := a.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		t.Fatal(err)
	}
	const price, shopsEach, afford = 700, 24, 9
	accts := map[string]*store.Account{}
	for _, name := range []string{"alice", "bob"} {
		acct, err := a.EnsureAccount(ctx, "SHA256:"+name, "ssh-ed25519 AAAA "+name)
		if err != nil {
			t.Fatal(err)
		}
		accts[name] = acct
		for i := range shopsEach {
			s := testShop(fmt.Sprintf("%s%d", name, i), acct.ID, price)
			if err := a.CreateShop(ctx, &s); err != nil {
				t.Fatal(err)
			}
		}
	}
	la, lb := ledger.New(a, ledger.Options{MaxBatch: 8}), ledger.New(b, ledger.Options{MaxBatch: 8})
	defer la.Close()
	defer lb.Close()
	for _, acct := range accts {
		res, err := la.Submit(ctx, store.TransferOp{Transfers: []store.Transfer{{ID: "fund:" + acct.ID, Debit: onchain,
			Credit: acct.WalletID, Amount: afford * price, Code: store.CodeDeposit}}})
		if err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range shopsEach {
		for _, pair := range [][2]string{{"alice", "bob"}, {"bob", "alice"}} {
			buyer, seller := accts[pair[0]], pair[1]
			for _, l := range []*ledger.Ledger{la, lb} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Both servers try the same purchase key: one charge.
					res, err := l.Submit(ctx, store.BuyOp{PurchaseID: fmt.Sprintf("p-%s-%d", buyer.ID, i), Buyer: buyer.ID,
						BuyerWallet: buyer.WalletID, Shop: fmt.Sprintf("%s%d", seller, i), FeeBps: 500, FeeAccount: fee, At: 1})
					switch {
					case err != nil:
						t.Errorf("buy: %v", err)
					case errors.Is(res.Err, store.ErrInsufficientFunds):
						refused.Add(1)
					case res.Err != nil:
						t.Errorf("buy: %v", res.Err)
					case !res.Existing:
						ok.Add(1)
					}
				}()
			}
		}
	}
	wg.Wait()
	// Each buyer affords `afford` purchases, plus what its sales paid in
	// meanwhile: the ledger's own sums are the judge.
	tot, err := a.LedgerTotals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tot.DebitsPosted != tot.CreditsPosted || tot.NegativeWallets != 0 || tot.DebitsPosted != tot.TransferSum {
		t.Fatalf("ledger broken: %+v", tot)
	}
	if n, err := a.BalanceMismatches(ctx); err != nil || n != 0 {
		t.Fatalf("%d balance rows disagree with their transfers (%v)", n, err)
	}
	if tot.Purchases != ok.Load() {
		t.Fatalf("%d purchases recorded, %d acknowledged as new", tot.Purchases, ok.Load())
	}
	if ok.Load() < 2*afford {
		t.Fatalf("only %d purchases went through; the wallets afford at least %d", ok.Load(), 2*afford)
	}
}

// The same linked transfer submitted on two servers at once is applied
// once; the other sees a repeat.
func TestTransferOpRepeatAcrossServers(t *testing.T) {
	onePostgresManyServers(t)
	a, b := twoServers(t)
	ctx := context.Background()
	onchain, err := a.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := a.EnsureAccount(ctx, "SHA256:carol", "ssh-ed25519 AAAA carol")
	if err != nil {
		t.Fatal(err)
	}
	la, lb := ledger.New(a, ledger.Options{}), ledger.New(b, ledger.Options{})
	defer la.Close()
	defer lb.Close()
	var applied, repeats atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		l := la
		if i%2 == 1 {
			l = lb
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := l.Submit(ctx, store.TransferOp{Transfers: []store.Transfer{
				{ID: fmt.Sprintf("dep:%d", i/2), Debit: onchain, Credit: acct.WalletID, Amount: 100, Code: store.CodeDeposit}}})
			switch {
			case err != nil || res.Err != nil:
				t.Errorf("transfer: %v %v", err, res.Err)
			case res.Existing:
				repeats.Add(1)
			default:
				applied.Add(1)
			}
		}()
	}
	wg.Wait()
	bal, err := b.Balance(ctx, acct.WalletID)
	if err != nil {
		t.Fatal(err)
	}
	if applied.Load() != 10 || repeats.Load() != 10 || bal.CreditsPosted != 1000 {
		t.Fatalf("applied %d, repeats %d, balance %+v; want 10, 10, 1000", applied.Load(), repeats.Load(), bal)
	}
}

// A reprice committed by one server is what the next purchase on the
// other server pays: shop terms are never served stale.
func TestRepriceOnOneServerChargesOnTheOther(t *testing.T) {
	a, b := twoServers(t)
	if want(t) != "postgres" {
		// One process keeps a SQLite ledger (the first to open it); the
		// other is an admin command changing the shop beside it.
		a, b = b, a
	}
	ctx := context.Background()
	fee, err := a.SystemAccount(ctx, store.AccountFees, store.KindRevenue)
	if err != nil {
		t.Fatal(err)
	}
	onchain, _ := a.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	seller, _ := a.EnsureAccount(ctx, "SHA256:seller", "ssh-ed25519 AAAA seller")
	lb := ledger.New(b, ledger.Options{})
	defer lb.Close()
	var buyers []*store.Account
	for i := range 3 {
		acct, err := a.EnsureAccount(ctx, fmt.Sprintf("SHA256:buyer%d", i), "ssh-ed25519 AAAA")
		if err != nil {
			t.Fatal(err)
		}
		if res, err := lb.Submit(ctx, store.TransferOp{Transfers: []store.Transfer{{ID: "f" + acct.ID, Debit: onchain,
			Credit: acct.WalletID, Amount: 10_000, Code: store.CodeDeposit}}}); err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
		buyers = append(buyers, acct)
	}
	s := testShop("hit", seller.ID, 100)
	if err := a.CreateShop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	for i, price := range []int64{100, 250, 4000} {
		if i > 0 {
			if err := a.SetPrice(ctx, s.ID, seller.ID, price, int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		res, err := lb.Submit(ctx, store.BuyOp{PurchaseID: fmt.Sprintf("rp%d", i), Buyer: buyers[i].ID, BuyerWallet: buyers[i].WalletID,
			Shop: s.ID, FeeAccount: fee, At: 1})
		if err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
		if res.Purchase.PriceSats != price {
			t.Fatalf("purchase %d charged %d, the price is %d", i, res.Purchase.PriceSats, price)
		}
	}
}

// onePostgresManyServers skips a test of several servers applying ledger
// ops to one database: on SQLite only one process keeps the ledger
// (TestSQLiteLedgerHasOneKeeper).
func onePostgresManyServers(t *testing.T) {
	t.Helper()
	if want(t) != "postgres" {
		t.Skip("several servers share a ledger only on PostgreSQL")
	}
}

// On SQLite the first store to open a database keeps its ledger (pending
// legs included); a second one, as an admin command beside a running
// server, may write everything else but applies no ledger op. Once the
// keeper closes, the next store to open takes the ledger over with every
// balance complete.
func TestSQLiteLedgerHasOneKeeper(t *testing.T) {
	if want(t) == "postgres" {
		t.Skip("SQLite only")
	}
	dir := t.TempDir()
	ctx := context.Background()
	keeper, _, err := markettest.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := markettest.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	fee, _ := keeper.SystemAccount(ctx, store.AccountFees, store.KindRevenue)
	onchain, _ := keeper.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	seller, err := other.EnsureAccount(ctx, "SHA256:seller", "ssh-ed25519 AAAA seller")
	if err != nil {
		t.Fatalf("a non-ledger write beside the keeper: %v", err)
	}
	buyer, _ := keeper.EnsureAccount(ctx, "SHA256:buyer", "ssh-ed25519 AAAA buyer")
	s := testShop("one", seller.ID, 300)
	if err := other.CreateShop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	fund := store.TransferOp{Transfers: []store.Transfer{{ID: "fund", Debit: onchain, Credit: buyer.WalletID, Amount: 1000, Code: store.CodeDeposit}}}
	if _, err := other.ApplyBatch(ctx, []store.Op{fund}); !errors.Is(err, sqlstore.ErrLedgerOwned) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("the second store applied a ledger op: %v", err)
	}
	buy := store.BuyOp{PurchaseID: "p1", Buyer: buyer.ID, BuyerWallet: buyer.WalletID, Shop: s.ID, FeeBps: 1000, FeeAccount: fee, At: 1}
	res, err := keeper.ApplyBatch(ctx, []store.Op{fund, buy})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatal(err, res)
	}
	if got := res[1].Balance.Available(); got != 700 {
		t.Fatalf("balance after the purchase: %d, want 700", got)
	}
	for _, c := range []struct {
		acct int64
		want int64
	}{{buyer.WalletID, 700}, {seller.WalletID, 270}} {
		for _, st := range []*sqlstore.DB{keeper, other} { // the other reads rows the keeper may not have written yet
			b, err := st.Balance(ctx, c.acct)
			if err != nil {
				t.Fatal(err)
			}
			if st == keeper && b.Available() != c.want {
				t.Fatalf("keeper: balance of %d is %d, want %d", c.acct, b.Available(), c.want)
			}
		}
	}
	if err := keeper.Close(); err != nil {
		t.Fatal(err)
	}
	next, _, err := markettest.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	for acct, want := range map[int64]int64{buyer.WalletID: 700, seller.WalletID: 270} {
		if b, err := next.Balance(ctx, acct); err != nil || b.Available() != want {
			t.Fatalf("after the keeper closed: balance of %d is %+v (%v), want %d", acct, b, err, want)
		}
	}
	if res, err := next.ApplyBatch(ctx, []store.Op{store.BuyOp{PurchaseID: "p2", Buyer: buyer.ID, BuyerWallet: buyer.WalletID,
		Shop: s.ID, FeeAccount: fee, At: 2}}); err != nil || !res[0].Existing {
		t.Fatalf("the next keeper: %v %+v", err, res)
	}
}

func testShop(id, owner string, price int64) store.Shop {
	return store.Shop{ID: id, Uploader: owner, Payee: owner, Name: id + ".bin", Title: id, Size: 10, PriceSats: price,
		ContentHash: "h" + id, ContentID: "c" + id, FileKey: []byte("k"), BlobSize: 100, CreatedAt: 1, UpdatedAt: 1}
}
