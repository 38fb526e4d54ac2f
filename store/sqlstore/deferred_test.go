package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopfile/shopfile/store"
)

// The write-behind ledger against a model: random purchases, deposits and
// transfers out of wallets whose credits are still pending, a clock that
// drives the sweeper through many cycles, transactions outside the ledger
// that read balance rows, and crashes (the process stops without applying
// its pending legs) followed by recovery. After every step each balance,
// pending legs included, and each sales count must equal the model's, and
// the ledger checks must hold.
func TestWriteBehindLedgerMatchesAModel(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shop.db")
	clock := time.Unix(1_700_000_000, 0)
	open := func() *DB {
		t.Helper()
		db, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if db.pending == nil {
			t.Fatal("no write-behind ledger on SQLite")
		}
		db.now = func() time.Time { return clock }
		db.pending.cycleStart = clock
		return db
	}
	db := open()
	fee, _ := db.SystemAccount(ctx, store.AccountFees, store.KindRevenue)
	onchain, _ := db.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)

	type shop struct {
		id    string
		payee int // index into accts
		price int64
	}
	var accts []*store.Account
	for i := range 40 {
		// Idle accounts in between spread the accounts over ten sweep
		// buckets, so the sweeper works through them over a cycle.
		if i%4 == 0 {
			filler := make([]SeedAccount, 1<<bucketBits)
			for j := range filler {
				filler[j] = SeedAccount{ID: fmt.Sprintf("SHA256:idle%02d-%04d", i, j), PublicKey: "ssh-ed25519 AAAA"}
			}
			if _, err := db.SeedAccounts(ctx, filler); err != nil {
				t.Fatal(err)
			}
		}
		a, err := db.EnsureAccount(ctx, fmt.Sprintf("SHA256:acct%02d", i), "ssh-ed25519 AAAA")
		if err != nil {
			t.Fatal(err)
		}
		accts = append(accts, a)
	}
	var shops []shop
	for i := range 12 {
		s := shop{id: fmt.Sprintf("shop%02d", i), payee: i % 6, price: int64(100 + 37*i)}
		row := store.Shop{ID: s.id, Uploader: accts[s.payee].ID, Payee: accts[s.payee].ID, Name: s.id, Title: s.id, Size: 1,
			PriceSats: s.price, ContentHash: "h" + s.id, ContentID: "c" + s.id, FileKey: []byte("k"), BlobSize: 1, CreatedAt: 1, UpdatedAt: 1}
		if err := db.CreateShop(ctx, &row); err != nil {
			t.Fatal(err)
		}
		shops = append(shops, s)
	}

	// The model: available sats per ledger account, sales per shop, and
	// which purchases exist.
	avail := map[int64]int64{}
	sales := map[string]int64{}
	owned := map[string]bool{}
	rng := rand.New(rand.NewPCG(7, 11))
	seq := 0
	deposit := func(i int, amount int64) store.Op {
		seq++
		return store.TransferOp{Transfers: []store.Transfer{{ID: fmt.Sprintf("dep%d", seq), Debit: onchain,
			Credit: accts[i].WalletID, Amount: amount, Code: store.CodeDeposit}}}
	}

	check := func(db *DB, when string) {
		t.Helper()
		for _, a := range accts {
			b, err := db.Balance(ctx, a.WalletID)
			if err != nil {
				t.Fatal(err)
			}
			if b.Available() != avail[a.WalletID] {
				t.Fatalf("%s: %s has %d, the model %d", when, a.ID, b.Available(), avail[a.WalletID])
			}
		}
		if b, _ := db.Balance(ctx, fee); b.CreditsPosted != avail[fee] {
			t.Fatalf("%s: fees %d, the model %d", when, b.CreditsPosted, avail[fee])
		}
		soldBy := map[int]int{}
		var fees int
		for _, s := range shops {
			got, err := db.Shop(ctx, s.id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Sales != sales[s.id] {
				t.Fatalf("%s: %s sold %d, the model %d", when, s.id, got.Sales, sales[s.id])
			}
			soldBy[s.payee] += int(sales[s.id])
			fees += int(sales[s.id])
		}
		// Each sale shows once in its payee's history, applied or pending.
		legs := func(acct int64, code store.TransferCode) int {
			h, err := db.History(ctx, acct, 100_000)
			if err != nil {
				t.Fatal(err)
			}
			n, seen := 0, map[string]bool{}
			for _, x := range h {
				if x.Code == code && x.Credit == acct {
					if seen[x.ID] {
						t.Fatalf("%s: %s twice in the history of %d", when, x.ID, acct)
					}
					seen[x.ID] = true
					n++
				}
			}
			return n
		}
		for payee, n := range soldBy {
			if got := legs(accts[payee].WalletID, store.CodePurchase); got != n {
				t.Fatalf("%s: %s's history shows %d sales, the model %d", when, accts[payee].ID, got, n)
			}
		}
		if got := legs(fee, store.CodeFee); got != fees {
			t.Fatalf("%s: the fee account's history shows %d fees, the model %d", when, got, fees)
		}
		// Who owns what, through every reader: the library, the buyer's
		// history and PurchaseFor, entitlements pending or applied.
		for bi := 6; bi < len(accts); bi++ {
			lib, err := db.Library(ctx, accts[bi].ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			inLib := map[string]bool{}
			for _, it := range lib {
				if inLib[it.Shop] {
					t.Fatalf("%s: %s twice in the library of %s", when, it.Shop, accts[bi].ID)
				}
				inLib[it.Shop] = true
			}
			h, err := db.History(ctx, accts[bi].WalletID, 100_000)
			if err != nil {
				t.Fatal(err)
			}
			paid := map[string]int{}
			for _, x := range h {
				if x.Code == store.CodePurchase && x.Debit == accts[bi].WalletID {
					paid[x.Ref]++
				}
			}
			for _, s := range shops {
				own := owned[accts[bi].ID+"/"+s.id]
				if inLib[s.id] != own || (paid[s.id] == 1) != own || paid[s.id] > 1 {
					t.Fatalf("%s: %s owns %s: %v in the model, %v in its library, paid %d times in its history",
						when, accts[bi].ID, s.id, own, inLib[s.id], paid[s.id])
				}
			}
		}
		for range 20 {
			bi, s := 6+rng.IntN(34), shops[rng.IntN(len(shops))]
			p, err := db.PurchaseFor(ctx, accts[bi].ID, s.id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if own := owned[accts[bi].ID+"/"+s.id]; (err == nil) != own || err == nil && (p.Buyer != accts[bi].ID || p.Shop != s.id) {
				t.Fatalf("%s: PurchaseFor(%s, %s) = %+v, %v; the model says owned %v", when, accts[bi].ID, s.id, p, err, own)
			}
		}
	}
	invariants := func(db *DB, when string) {
		t.Helper()
		tot, err := db.LedgerTotals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tot.DebitsPosted != tot.CreditsPosted || tot.DebitsPosted != tot.TransferSum || tot.NegativeWallets != 0 || tot.SalesMismatches != 0 {
			t.Fatalf("%s: ledger totals %+v", when, tot)
		}
		if n, err := db.BalanceMismatches(ctx); err != nil || n != 0 {
			t.Fatalf("%s: %d balance rows disagree with their legs (%v)", when, n, err)
		}
	}

	for i := 6; i < len(accts); i++ { // sellers (0-5) start with nothing: what they have is credits, often pending
		if _, err := db.ApplyBatch(ctx, []store.Op{deposit(i, 1_500)}); err != nil {
			t.Fatal(err)
		}
		avail[accts[i].WalletID] += 1_500
	}
	for round := range 250 {
		var ops []store.Op
		type expect struct {
			kind  string
			ok    bool
			key   string
			shop  string
			buyer int
		}
		var want []expect
		// The model applies ops in order, as the batch does.
		for range 1 + rng.IntN(25) {
			switch r := rng.IntN(10); {
			case r < 7:
				bi, s := 6+rng.IntN(34), shops[rng.IntN(len(shops))]
				key := fmt.Sprintf("%s/%s", accts[bi].ID, s.id)
				ops = append(ops, store.BuyOp{PurchaseID: fmt.Sprintf("p%d", seq), Buyer: accts[bi].ID, BuyerWallet: accts[bi].WalletID,
					Shop: s.id, FeeBps: 500, FeeAccount: fee, At: int64(seq)})
				seq++
				e := expect{kind: "buy", key: key, shop: s.id, buyer: bi}
				if !owned[key] && avail[accts[bi].WalletID] >= s.price {
					e.ok = true
					owned[key] = true
					f := s.price * 500 / 10000
					avail[accts[bi].WalletID] -= s.price
					avail[accts[s.payee].WalletID] += s.price - f
					avail[fee] += f
					sales[s.id]++
				}
				want = append(want, e)
			case r < 8:
				i := rng.IntN(len(accts))
				amount := int64(1 + rng.IntN(900))
				ops = append(ops, deposit(i, amount))
				avail[accts[i].WalletID] += amount
				want = append(want, expect{kind: "deposit", ok: true})
			default: // money leaves a wallet whose credits or debits may still be pending: about as much as it has
				from, to := rng.IntN(len(accts)), rng.IntN(len(accts))
				if from == to {
					to = (to + 1) % len(accts)
				}
				amount := max(1, avail[accts[from].WalletID]-100+int64(rng.IntN(200)))
				seq++
				ops = append(ops, store.TransferOp{Transfers: []store.Transfer{{ID: fmt.Sprintf("back%d", seq),
					Debit: accts[from].WalletID, Credit: accts[to].WalletID, Amount: amount, Code: store.CodeDeposit}}})
				e := expect{kind: "transfer"}
				if avail[accts[from].WalletID] >= amount {
					e.ok = true
					avail[accts[from].WalletID] -= amount
					avail[accts[to].WalletID] += amount
				}
				want = append(want, e)
			}
		}
		res, err := db.ApplyBatch(ctx, ops)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		for i, r := range res {
			w := want[i]
			got := r.Err == nil && !r.Existing
			if got != w.ok {
				t.Fatalf("round %d op %d (%s): applied %v (%+v), the model says %v", round, i, w.kind, got, r, w.ok)
			}
			if w.kind == "buy" && got && r.Balance.Available() < 0 {
				t.Fatalf("round %d: buyer's balance %+v", round, r.Balance)
			}
		}
		clock = clock.Add(time.Duration(rng.IntN(700)) * time.Millisecond)
		check(db, fmt.Sprintf("round %d", round))

		switch {
		case round%23 == 11: // a payout-like transaction reads complete rows
			err := db.writeLedger(ctx, func(tx *sql.Tx) error {
				for _, a := range accts {
					var b store.Balance
					if err := tx.QueryRowContext(ctx, `SELECT debits_posted, credits_posted, debits_pending FROM balances WHERE account_id = ?`,
						a.WalletID).Scan(&b.DebitsPosted, &b.CreditsPosted, &b.DebitsPending); err != nil {
						return err
					}
					if b.Available() != avail[a.WalletID] {
						return fmt.Errorf("%s's row says %d inside the transaction, the model %d", a.ID, b.Available(), avail[a.WalletID])
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		case round%17 == 16: // the process dies with legs pending
			crash(db)
			db = open()
			// No invariants here: they apply every pending leg, and the
			// next batches must work from what recovery rebuilt.
			check(db, fmt.Sprintf("recovered after round %d", round))
		case round%17 == 5:
			invariants(db, fmt.Sprintf("round %d", round))
		}
	}
	invariants(db, "the end")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A clean close leaves every balance row complete on disk.
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, a := range accts {
		var avl int64
		if err := raw.QueryRowContext(ctx, `SELECT credits_posted - debits_posted - debits_pending FROM balances WHERE account_id = ?`,
			a.WalletID).Scan(&avl); err != nil {
			t.Fatal(err)
		}
		if avl != avail[a.WalletID] {
			t.Fatalf("after Close the row of %s says %d, the model %d", a.ID, avl, avail[a.WalletID])
		}
	}
	// ... and every entitlement in its table, once.
	var n int
	if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM entitlements e JOIN purchases p ON p.seq = e.purchase
		JOIN accounts a ON a.wallet_id = e.wallet AND a.id = p.buyer AND p.shop_id = e.shop_id`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(owned) {
		t.Fatalf("after Close entitlements hold %d purchases, the model %d", n, len(owned))
	}
}

// crash stops a store the way a killed process does: whatever it committed
// stays, whatever it kept in memory is gone, and its lock is released.
func crash(db *DB) {
	close(db.pending.stop)
	<-db.pending.done
	_ = db.ckpt.close()
	for _, s := range db.hot {
		_ = s.Close()
	}
	_ = db.r.Close()
	_ = db.w.Close()
	_ = db.pending.release()
}

// Readers beside the writer see each pending leg exactly once: the ledger
// totals balance at every instant, and a wallet read during the load
// never shows more than it had or less than it can have.
func TestWriteBehindReadersSeeOneLedger(t *testing.T) {
	ctx := context.Background()
	db, l := openSmallShop(t, filepath.Join(t.TempDir(), "shop.db"))
	fee, onchain, seller, buyer := l.fee, l.onchain, l.seller, l.buyer
	const shops, price = 300, 50
	for i := range shops {
		s := store.Shop{ID: fmt.Sprintf("s%03d", i), Uploader: seller.ID, Payee: seller.ID, Name: "f", Title: "f", Size: 1,
			PriceSats: price, ContentHash: fmt.Sprint(i), ContentID: fmt.Sprint(i), FileKey: []byte("k"), BlobSize: 1, CreatedAt: 1, UpdatedAt: 1}
		if err := db.CreateShop(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ApplyBatch(ctx, []store.Op{store.TransferOp{Transfers: []store.Transfer{{ID: "fund", Debit: onchain,
		Credit: buyer.WalletID, Amount: shops * price, Code: store.CodeDeposit}}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := db.Balance(ctx, buyer.WalletID)
			if err == nil && (b.Available() < 0 || b.Available() > shops*price || b.Available()%price != 0) {
				err = fmt.Errorf("the buyer's balance read %+v", b)
			}
			if err == nil {
				var tot store.LedgerTotals
				if tot, err = db.LedgerTotals(ctx); err == nil && (tot.DebitsPosted != tot.CreditsPosted || tot.SalesMismatches != 0) {
					err = fmt.Errorf("totals read mid-load: %+v", tot)
				}
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	for i := range shops {
		res, err := db.ApplyBatch(ctx, []store.Op{store.BuyOp{PurchaseID: fmt.Sprintf("p%d", i), Buyer: buyer.ID, BuyerWallet: buyer.WalletID,
			Shop: fmt.Sprintf("s%03d", i), FeeBps: 1000, FeeAccount: fee, At: 1}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if b, _ := db.Balance(ctx, buyer.WalletID); b.Available() != 0 {
		t.Fatalf("the buyer has %d left", b.Available())
	}
}

// Once purchases stop, the pending legs reach the balance rows within a
// couple of sweep cycles, without a batch or a Close to carry them: other
// readers of the file (an admin command) see complete rows.
func TestWriteBehindSettlesWhenIdle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shop.db")
	db, l := openSmallShop(t, path)
	fee, onchain, seller, buyer := l.fee, l.onchain, l.seller, l.buyer
	s := store.Shop{ID: "s", Uploader: seller.ID, Payee: seller.ID, Name: "f", Title: "f", Size: 1, PriceSats: 400,
		ContentHash: "h", ContentID: "c", FileKey: []byte("k"), BlobSize: 1, CreatedAt: 1, UpdatedAt: 1}
	if err := db.CreateShop(ctx, &s); err != nil {
		t.Fatal(err)
	}
	res, err := db.ApplyBatch(ctx, []store.Op{
		store.TransferOp{Transfers: []store.Transfer{{ID: "fund", Debit: onchain, Credit: buyer.WalletID, Amount: 1000, Code: store.CodeDeposit}}},
		store.BuyOp{PurchaseID: "p", Buyer: buyer.ID, BuyerWallet: buyer.WalletID, Shop: s.ID, FeeAccount: fee, At: 1}})
	if err != nil || res[1].Err != nil {
		t.Fatal(err, res)
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	row := func(acct int64) (avail int64) {
		t.Helper()
		if err := raw.QueryRowContext(ctx, `SELECT credits_posted - debits_posted FROM balances WHERE account_id = ?`, acct).Scan(&avail); err != nil {
			t.Fatal(err)
		}
		return avail
	}
	if row(seller.WalletID) != 0 {
		t.Skip("the purchase's legs were applied at once; nothing to wait for")
	}
	deadline := time.Now().Add(4 * sweepCycle)
	for row(buyer.WalletID) != 600 || row(seller.WalletID) != 400 {
		if time.Now().After(deadline) {
			t.Fatalf("after %v idle the rows say buyer %d, seller %d; want 600, 400", 4*sweepCycle, row(buyer.WalletID), row(seller.WalletID))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// smallShop is the ledger accounts of a shop with one seller and one buyer.
type smallShop struct {
	fee, onchain  int64
	seller, buyer *store.Account
}

// openSmallShop opens a SQLite store at path (closed when the test ends)
// with a smallShop's accounts.
func openSmallShop(t *testing.T, path string) (*DB, smallShop) {
	t.Helper()
	ctx := context.Background()
	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var l smallShop
	if l.fee, err = db.SystemAccount(ctx, store.AccountFees, store.KindRevenue); err != nil {
		t.Fatal(err)
	}
	if l.onchain, err = db.SystemAccount(ctx, store.AccountOnchain, store.KindAsset); err != nil {
		t.Fatal(err)
	}
	if l.seller, err = db.EnsureAccount(ctx, "SHA256:seller", "ssh-ed25519 AAAA"); err != nil {
		t.Fatal(err)
	}
	if l.buyer, err = db.EnsureAccount(ctx, "SHA256:buyer", "ssh-ed25519 AAAA"); err != nil {
		t.Fatal(err)
	}
	return db, l
}
