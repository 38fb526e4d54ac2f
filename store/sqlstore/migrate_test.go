package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shopfile/shopfile/store"
)

// A database as release 8 left it, holding the three kinds of purchase a
// shop may have then: one from before 0006 (its legs in transfers), one
// the sweeper had applied, and one whose legs were still pending when the
// server stopped. Migration 0009 moves who owns what out of purchases'
// unique index into entitlements: afterwards each purchase still belongs
// to its buyer exactly once, a repeat still charges nothing, and the
// ledger still balances.
func TestMigrationToEntitlementsKeepsEveryPurchase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shop.db")
	old := release8(t, path)
	w := old.w
	fee, _ := old.SystemAccount(ctx, store.AccountFees, store.KindRevenue)
	onchain, _ := old.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	account := func(id string) *store.Account {
		a, err := old.EnsureAccount(ctx, id, "ssh-ed25519 AAAA")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	seller, ann, bob := account("SHA256:seller"), account("SHA256:ann"), account("SHA256:bob")
	const price = 1000
	shops := []string{"s1", "s2", "s3", "s4"}
	for _, id := range shops {
		s := store.Shop{ID: id, Uploader: seller.ID, Payee: seller.ID, Name: id, Title: id, Size: 1, PriceSats: price,
			ContentHash: id, ContentID: id, FileKey: []byte("k"), BlobSize: 1, CreatedAt: 1, UpdatedAt: 1}
		if err := old.CreateShop(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	apply := func(ops ...store.Op) []store.OpResult {
		t.Helper()
		res, err := old.ApplyBatch(ctx, ops)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		}
		return res
	}
	apply(store.TransferOp{Transfers: []store.Transfer{
		{ID: "fund-ann", Debit: onchain, Credit: ann.WalletID, Amount: 10 * price, Code: store.CodeDeposit},
		{ID: "fund-bob", Debit: onchain, Credit: bob.WalletID, Amount: 10 * price, Code: store.CodeDeposit}}})
	buy := func(key string, a *store.Account, shop string) store.BuyOp {
		return store.BuyOp{PurchaseID: key, Buyer: a.ID, BuyerWallet: a.WalletID, Shop: shop, FeeBps: 500, FeeAccount: fee, At: 5}
	}
	const cut = price * 500 / 10000
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := w.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Before 0006: the purchase row without legs, the legs as transfers.
	exec(`INSERT INTO purchases (id, buyer, shop_id, price_sats, fee_sats, payee, created_at) VALUES ('legacy', ?, 's3', ?, ?, ?, 1)`,
		bob.ID, price, cut, seller.ID)
	exec(`INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, code, ref, created_at) VALUES
		('purchase:legacy', ?, ?, ?, 1, 's3', 1), ('fee:legacy', ?, ?, ?, 2, 's3', 1)`,
		bob.WalletID, seller.WalletID, price-cut, bob.WalletID, fee, cut)
	exec(`UPDATE balances SET debits_posted = debits_posted + ? WHERE account_id = ?`, price, bob.WalletID)
	exec(`UPDATE balances SET credits_posted = credits_posted + ? WHERE account_id = ?`, price-cut, seller.WalletID)
	exec(`UPDATE balances SET credits_posted = credits_posted + ? WHERE account_id = ?`, cut, fee)
	exec(`INSERT INTO shop_sales (shop_id, n) VALUES ('s3', 1)`)
	// A gap in the rowids (a refused purchase's row, deleted), which the
	// migration must keep: credit_legs and legs_through refer to them.
	exec(`INSERT INTO purchases (id, buyer, shop_id, price_sats, fee_sats, payee, created_at) VALUES ('gap', ?, 's4', 1, 0, ?, 1)`,
		bob.ID, seller.ID)
	// Applied by the sweeper: legs inline, in the balances, swept.
	apply(buy("ann-s1", ann, "s1"), buy("bob-s1", bob, "s1"))
	exec(`DELETE FROM purchases WHERE id = 'gap'`)
	exec(`UPDATE ledger_state SET swept_through = (SELECT MAX(rowid) FROM purchases)`)
	// Pending: the row committed, the balances and sales not yet.
	exec(`INSERT INTO purchases (id, buyer, shop_id, price_sats, fee_sats, payee, created_at, buyer_wallet, credit_account, fee_account)
		VALUES ('ann-s2', ?, 's2', ?, ?, ?, 6, ?, ?, ?)`, ann.ID, price, cut, seller.ID, ann.WalletID, seller.WalletID, fee)
	rowids := column(t, w, `SELECT rowid FROM purchases ORDER BY id`)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	if seqs := column(t, db.r, `SELECT seq FROM purchases ORDER BY id`); !slices.Equal(seqs, rowids) {
		t.Fatalf("purchases renumbered: rowids %v became seqs %v", rowids, seqs)
	}
	var inTable int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM entitlements`).Scan(&inTable); err != nil || inTable != 3 {
		t.Fatalf("entitlements after the migration: %d (%v), want the 3 purchases not pending", inTable, err)
	}

	owns := map[string][]string{ann.ID: {"s1", "s2"}, bob.ID: {"s1", "s3"}}
	checkOwners := func(when string) {
		t.Helper()
		for _, a := range []*store.Account{ann, bob} {
			lib, err := db.Library(ctx, a.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range lib {
				got = append(got, it.Shop)
			}
			slices.Sort(got)
			if !slices.Equal(got, owns[a.ID]) {
				t.Fatalf("%s: %s's library holds %v, want %v", when, a.ID, got, owns[a.ID])
			}
			for _, s := range shops {
				_, err := db.PurchaseFor(ctx, a.ID, s)
				if own := slices.Contains(owns[a.ID], s); own != (err == nil) || err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("%s: PurchaseFor(%s, %s): %v, want owned %v", when, a.ID, s, err, own)
				}
			}
		}
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
	checkOwners("migrated")
	for _, a := range []*store.Account{ann, bob} {
		if b, err := db.Balance(ctx, a.WalletID); err != nil || b.Available() != 8*price {
			t.Fatalf("%s has %+v (%v), want %d after two purchases", a.ID, b, err, 8*price)
		}
	}

	// Every purchase, whichever kind, is a repeat now: charged nothing.
	res, err := db.ApplyBatch(ctx, []store.Op{buy("again1", ann, "s1"), buy("again2", ann, "s2"), buy("again3", bob, "s3"),
		buy("again4", bob, "s1"), buy("bob-s4", bob, "s4")})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"ann-s1", "ann-s2", "legacy", "bob-s1", ""} {
		r := res[i]
		if r.Err != nil || r.Existing != (want != "") || want != "" && r.Purchase.ID != want {
			t.Fatalf("buy %d after the migration: %+v, want the existing purchase %q", i, r, want)
		}
	}
	owns[bob.ID] = append(owns[bob.ID], "s4")
	checkOwners("after buying again")
	if b, err := db.Balance(ctx, bob.WalletID); err != nil || b.Available() != 7*price {
		t.Fatalf("bob has %+v (%v), want %d after three purchases", b, err, 7*price)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM entitlements`).Scan(&inTable); err != nil || inTable != 5 {
		t.Fatalf("entitlements after a clean close: %d (%v), want all 5", inTable, err)
	}
	checkOwners("reopened")
}

// column reads a query's one integer column.
func column(t *testing.T, db *sql.DB, query string) []int64 {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A newer release opened beside a running older server (say for an admin
// command) must not migrate the database under it: the old server refuses
// a second purchase of a shop through the unique index 0009 drops. Only
// the process that keeps the ledger migrates.
func TestOnlyTheLedgerKeeperMigrates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shop.db")
	w := release8(t, path).w
	defer w.Close()
	abs, _ := filepath.Abs(path)
	release, ok, err := lockLedger(abs) // the old server
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	if db, err := OpenSQLite(ctx, path); !errors.Is(err, ErrSchemaBehind) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("opened beside the old server: %v, want ErrSchemaBehind", err)
	}
	if v := column(t, w, `SELECT MAX(version) FROM schema_migrations`); v[0] != 8 {
		t.Fatalf("schema %d after the refused open, want 8", v[0])
	}
	if err := release(); err != nil { // the old server stops
		t.Fatal(err)
	}
	db, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := column(t, w, `SELECT MAX(version) FROM schema_migrations`); v[0] < 9 {
		t.Fatalf("schema %d once the new release keeps the ledger", v[0])
	}
	// Beside it, another process of the same release opens and reads.
	other, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("a second process of the same release: %v", err)
	}
	other.Close()
}

// release8 creates a database at path as release 8 left it (migrations up
// to 0008), opened the way that release's ledger needs no more than: one
// connection for reads and writes, applying ledger ops at once.
func release8(t *testing.T, path string) *DB {
	t.Helper()
	w, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	old := &DB{w: w, r: w, dialect: sqliteDialect, now: time.Now, walPath: path + "-wal"}
	if err := old.migrateTo(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	return old
}
