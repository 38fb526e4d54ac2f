package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopfile/shopfile/store"
)

// Write-behind balances (SQLite only; docs/ledger.md).
//
// A purchase records both of its legs in its own row (0006), which is
// durable once the batch's COMMIT is synced. Applying the legs to the
// buyer's, the payee's and the fee account's balance rows in that same
// batch dirtied a random balance page per purchase: with a million
// accounts that was the largest share of the WAL written. Instead the
// writer keeps the legs not yet applied in memory (pendingLegs), adds them
// wherever a balance is read or guarded, and a sweeper applies them a range
// of account ids at a time, going round every account once per sweepCycle,
// so a balance page is written about once a cycle however many purchases
// touched it. Shops' sales counts (shop_sales), who each purchase
// credited (credit_legs, for History) and who owns what (entitlements,
// 0009) go the same way: the writer decides ownership from the pending
// entitlements and the table, as the only writer of purchases.
//
// Crash safety comes from the purchase rows: balances.legs_through,
// shop_sales.counted_through and ledger_state.swept_through (0007) say
// which purchase rows a row already includes, and on open the pending legs
// are rebuilt from the rows after them (recover). Only the process that holds the database's ledger
// lock keeps pending legs; another process opening the same file (an admin
// command beside a running server) may read and write everything else but
// apply no ledger op (ErrLedgerOwned).
const (
	sweepCycle = 2 * time.Second
	// bucketBits: a sweep bucket is 1024 consecutive account ids, about
	// ten balance pages.
	bucketBits = 10
	// flushRowsPerStatement keeps a flush statement under SQLite's limit
	// on bound parameters. A power of two: chunks are too (flushChunk), so
	// their statements are prepared once (flushStatements).
	flushRowsPerStatement = 256
	// maxSweepShare: one batch sweeps at most 1/maxSweepShare of the
	// buckets.
	maxSweepShare = 16
	// salesSlots: shops' pending sales counts are swept in this many
	// groups (by a hash of the shop id), in step with the accounts.
	salesSlots = 64
)

// ErrLedgerOwned: another process holds this database's ledger.
var ErrLedgerOwned = errors.New("another shopfile process holds this database's ledger")

// legDelta is what an account's balance row still lacks: posted debits and
// credits of purchase legs up to purchase rowid through, the purchases
// that credited it (for credit_legs) and, for a buyer's wallet, the shops
// its purchases bought (for entitlements).
type legDelta struct {
	debits, credits, through int64
	credited                 []int64
	owns                     []ownedShop
}

// ownedShop is an entitlement not yet in the entitlements table.
type ownedShop struct {
	shop     string
	purchase int64 // purchases.seq
}

// ownKey names an entitlement: a buyer's wallet and a shop.
type ownKey struct {
	wallet int64
	shop   string
}

func (d *legDelta) merge(o legDelta) {
	d.debits += o.debits
	d.credits += o.credits
	d.through = max(d.through, o.through)
	d.credited = append(d.credited, o.credited...)
	d.owns = append(d.owns, o.owns...)
}

// pendingLegs is the committed write-behind state.
type pendingLegs struct {
	// mu is held shared by a reader for its disk read and its look at the
	// overlay, and exclusively by a commit that changes either, so a
	// reader never sees a leg twice or not at all.
	mu    sync.RWMutex
	accts map[int64]*legDelta
	// buckets lists the accounts of accts by sweep bucket; an account
	// whose legs were applied outside a sweep may linger in its list
	// until the bucket is swept.
	buckets map[int64][]int64
	// sales: purchases not yet in shop_sales, per shop (debits counts
	// them), and the shops by sweep slot.
	sales     map[string]*legDelta
	salesSlot [salesSlots]map[string]struct{}
	// owners finds the pending entitlements of accts (their owns) by
	// wallet and shop; filter tells which may be in the table (nil until
	// the first batch that buys: see batch.filter).
	owners map[ownKey]int64
	filter *ownedFilter

	// The sweeper's place in its cycle, and the highest purchase rowid
	// committed. Changed only at commit, under mu.
	cursor     int64     // next bucket to sweep
	salesDone  int       // sales slots swept this cycle
	cycleStart time.Time // when the cycle began
	cycleFrom  int64     // the highest purchase rowid when it began
	maxRowid   int64
	maxAcct    int64

	// rows caches balance rows as they are on disk (pending legs not
	// included), so a purchase's guard seldom reads one: only this
	// process changes them, and each change updates or drops the entry.
	rows map[int64]balanceRow

	release func() error // drops the ledger lock

	// lastBatch is when the ledger last applied a batch (Unix nanoseconds);
	// settleIdle applies the pending legs once it has been quiet a cycle.
	lastBatch atomic.Int64
	stop      chan struct{}
	done      chan struct{}
}

// balanceRow is a balance row's counters and whether it may not go below
// zero.
type balanceRow struct {
	bal     store.Balance
	guarded bool
}

// maxCachedRows bounds pendingLegs.rows (about 64 bytes an entry).
const maxCachedRows = 1 << 21

func newPendingLegs(now time.Time, release func() error) *pendingLegs {
	p := &pendingLegs{accts: map[int64]*legDelta{}, buckets: map[int64][]int64{}, sales: map[string]*legDelta{},
		owners: map[ownKey]int64{}, rows: map[int64]balanceRow{}, cycleStart: now, release: release, stop: make(chan struct{}), done: make(chan struct{})}
	for i := range p.salesSlot {
		p.salesSlot[i] = map[string]struct{}{}
	}
	return p
}

// slotOf is a shop's sales slot: FNV-1a of its id, inline because the
// sweep asks for every shop of every batch.
func slotOf(shop string) int {
	h := uint32(2166136261)
	for i := 0; i < len(shop); i++ {
		h = (h ^ uint32(shop[i])) * 16777619
	}
	return int(h % salesSlots)
}

func (p *pendingLegs) addSales(shop string, d legDelta) {
	cur, ok := p.sales[shop]
	if !ok {
		cur = &legDelta{}
		p.sales[shop] = cur
		p.salesSlot[slotOf(shop)][shop] = struct{}{}
	}
	cur.debits += d.debits
	cur.through = max(cur.through, d.through)
}

func (p *pendingLegs) dropSales(shop string) {
	if _, ok := p.sales[shop]; ok {
		delete(p.sales, shop)
		delete(p.salesSlot[slotOf(shop)], shop)
	}
}

// pendingSales is a shop's purchases not yet in shop_sales; the caller
// holds mu.
func (p *pendingLegs) pendingSales(shop string) int64 {
	if d, ok := p.sales[shop]; ok {
		return d.debits
	}
	return 0
}

func bucketOf(acct int64) int64 { return acct >> bucketBits }

func (p *pendingLegs) add(acct int64, d legDelta) {
	cur, ok := p.accts[acct]
	if !ok {
		cur = &legDelta{}
		p.accts[acct] = cur
		k := bucketOf(acct)
		p.buckets[k] = append(p.buckets[k], acct)
	}
	cur.merge(d)
	for _, o := range d.owns {
		p.owners[ownKey{acct, o.shop}] = o.purchase
	}
	p.maxAcct = max(p.maxAcct, acct)
}

func (p *pendingLegs) drop(acct int64) {
	if d, ok := p.accts[acct]; ok {
		for _, o := range d.owns {
			delete(p.owners, ownKey{acct, o.shop})
		}
		delete(p.accts, acct)
	}
}

// overlay returns acct's pending legs (sharing the credited list); the
// caller holds mu.
func (p *pendingLegs) overlay(acct int64) legDelta {
	if d, ok := p.accts[acct]; ok {
		return *d
	}
	return legDelta{}
}

// pendingIn reports whether acct has pending legs; the caller holds mu.
func (p *pendingLegs) pendingIn(acct int64) bool {
	_, ok := p.accts[acct]
	return ok
}

func (d legDelta) onto(b store.Balance) store.Balance {
	b.DebitsPosted += d.debits
	b.CreditsPosted += d.credits
	return b
}

// batchLegs is one batch's share of the write-behind state, merged into
// pendingLegs only if the batch commits.
type batchLegs struct {
	added        map[int64]*legDelta
	flushed      map[int64]bool       // committed pending legs this batch applied
	sales        map[string]*legDelta // this batch's purchases per shop
	salesFlushed map[string]bool
	owns         map[ownKey]int64 // this batch's purchases, by wallet and shop
	// onDisk: entitlements looked up in the table for the batch's buys
	// (loadOwners), 0 for none.
	onDisk map[ownKey]int64
	// balance rows as this transaction sees them: read or updated by it;
	// stale marks rows it changed in ways it did not follow.
	rows  map[int64]balanceRow
	stale map[int64]bool
	// clearRows: the transaction may have changed any balance row.
	clearRows bool
	// swept: the buckets [from, to) whose pending legs it applied;
	// sweptAll: every bucket's.
	swept    [2]int64
	sweptAll bool
	maxRowid int64
	// sweeper state to install at commit; nil: unchanged
	cycle *sweepState
}

type sweepState struct {
	cursor     int64
	salesDone  int
	cycleStart time.Time
	cycleFrom  int64
}

func newBatchLegs() *batchLegs {
	return &batchLegs{added: map[int64]*legDelta{}, flushed: map[int64]bool{}, sales: map[string]*legDelta{},
		salesFlushed: map[string]bool{}, owns: map[ownKey]int64{}, rows: map[int64]balanceRow{}, stale: map[int64]bool{}}
}

// cachedRow is acct's balance row as this transaction would read it, if
// known without reading it.
func (b *batch) cachedRow(acct int64) (balanceRow, bool) {
	if r, ok := b.legs.rows[acct]; ok {
		return r, true
	}
	if b.legs.stale[acct] || b.legs.clearRows {
		return balanceRow{}, false
	}
	r, ok := b.db.pending.rows[acct]
	return r, ok
}

// rowsChanged notes balance rows this transaction changed by statements
// other than flushAccounts.
func (b *batch) rowsChanged(accts ...int64) {
	if b.legs == nil {
		return
	}
	for _, a := range accts {
		delete(b.legs.rows, a)
		b.legs.stale[a] = true
	}
}

// countSale defers a shop's sales count for purchase rowid.
func (b *batch) countSale(shop string, rowid int64) {
	d, ok := b.legs.sales[shop]
	if !ok {
		d = &legDelta{}
		b.legs.sales[shop] = d
	}
	d.debits++
	d.through = max(d.through, rowid)
}

// flushSalesOf adds the pending purchases of shops to shop_sales.
func (b *batch) flushSalesOf(shops []string) error {
	type row struct {
		shop       string
		n, through int64
	}
	rows := make([]row, 0, len(shops))
	for _, shop := range shops {
		var d legDelta
		if !b.legs.salesFlushed[shop] {
			if c, ok := b.db.pending.sales[shop]; ok {
				d = *c
			}
		}
		if a, ok := b.legs.sales[shop]; ok {
			d.debits += a.debits
			d.through = max(d.through, a.through)
		}
		b.legs.salesFlushed[shop] = true
		delete(b.legs.sales, shop)
		if d.debits != 0 {
			rows = append(rows, row{shop, d.debits, d.through})
		}
	}
	slices.SortFunc(rows, func(x, y row) int { return strings.Compare(x.shop, y.shop) })
	err := inChunks(rows, func(args []any, r row) []any { return append(args, r.shop, r.n, r.through) },
		func(n int, args []any) error { _, err := b.exec(salesFlushSQL(n), args...); return err })
	if err != nil {
		return fmt.Errorf("count sales: %w", err)
	}
	return nil
}

// salesInSlots lists the shops with pending sales in slots [from, to).
func (b *batch) salesInSlots(from, to int) []string {
	var shops []string
	for k := from; k < to; k++ {
		for shop := range b.db.pending.salesSlot[k] {
			if !b.legs.salesFlushed[shop] {
				shops = append(shops, shop)
			}
		}
	}
	for shop := range b.legs.sales {
		if k := slotOf(shop); k >= from && k < to && !b.legs.salesFlushed[shop] && b.db.pending.sales[shop] == nil {
			shops = append(shops, shop)
		}
	}
	return shops
}

// pendingOf is acct's pending legs as this batch sees them.
func (b *batch) pendingOf(acct int64) legDelta {
	var d legDelta
	if !b.legs.flushed[acct] {
		d = b.db.pending.overlay(acct)
		// appending below must not write into the shared lists
		d.credited, d.owns = slices.Clip(d.credited), slices.Clip(d.owns)
	}
	if a, ok := b.legs.added[acct]; ok {
		d.merge(*a)
	}
	return d
}

// addLeg defers a leg of purchase rowid.
func (b *batch) addLeg(acct, debit, credit, rowid int64) {
	if debit == 0 && credit == 0 {
		return
	}
	d, ok := b.legs.added[acct]
	if !ok {
		d = &legDelta{}
		b.legs.added[acct] = d
	}
	d.debits += debit
	d.credits += credit
	d.through = max(d.through, rowid)
	if credit != 0 {
		d.credited = append(d.credited, rowid)
	}
}

// addOwned defers the entitlement that purchase rowid of shop gives wallet.
func (b *batch) addOwned(wallet int64, shop string, rowid int64) {
	d, ok := b.legs.added[wallet]
	if !ok {
		d = &legDelta{}
		b.legs.added[wallet] = d
	}
	d.owns = append(d.owns, ownedShop{shop, rowid})
	d.through = max(d.through, rowid)
	b.legs.owns[ownKey{wallet, shop}] = rowid
	// On an error p.filter stays nil, and the batch that builds it takes
	// this entitlement from the pending ones (or the table).
	if f, _ := b.filter(); f != nil {
		f.add(ownKey{wallet, shop})
	}
}

// ownerOf returns the purchase by which wallet owns shop, or 0: from this
// batch, the pending entitlements, or the table.
func (b *batch) ownerOf(wallet int64, shop string) (int64, error) {
	k := ownKey{wallet, shop}
	if r, ok := b.legs.owns[k]; ok {
		return r, nil
	}
	if r, ok := b.db.pending.owners[k]; ok {
		return r, nil
	}
	if r, ok := b.legs.onDisk[k]; ok {
		return r, nil
	}
	if f, err := b.filter(); err != nil || !f.mayOwn(k) {
		return 0, err
	}
	row, err := b.queryRow(sqlEntitlement, wallet, shop)
	if err != nil {
		return 0, err
	}
	var r int64
	if err := row.Scan(&r); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("entitlement of %d to %s: %w", wallet, shop, err)
	}
	return r, nil
}

// prefetch reads, in one statement per chunk and in key order, what the
// batch's buys will ask the disk: the table's entitlements that the
// pending ones do not answer, and the buyers' balance rows not cached.
// One statement each instead of one per purchase.
func (b *batch) prefetch(ops []store.Op) error {
	if err := b.loadOwners(ops); err != nil {
		return fmt.Errorf("look up entitlements: %w", err)
	}
	if err := b.loadRows(ops); err != nil {
		return fmt.Errorf("read balances: %w", err)
	}
	return nil
}

// loadOwners looks up the table's entitlements for the batch's buys. Only
// the batch itself adds entitlements to the table meanwhile (flushing
// pending or new ones, which ownerOf finds in memory first).
func (b *batch) loadOwners(ops []store.Op) error {
	b.legs.onDisk = make(map[ownKey]int64, len(ops))
	var keys []ownKey
	for _, op := range ops {
		buy, ok := op.(store.BuyOp)
		if !ok {
			continue
		}
		k := ownKey{buy.BuyerWallet, buy.Shop}
		if _, pending := b.db.pending.owners[k]; pending {
			continue
		}
		if _, dup := b.legs.onDisk[k]; !dup {
			b.legs.onDisk[k] = 0
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	filter, err := b.filter()
	if err != nil {
		return err
	}
	keys = slices.DeleteFunc(keys, func(k ownKey) bool { return !filter.mayOwn(k) })
	slices.SortFunc(keys, func(x, y ownKey) int {
		if x.wallet != y.wallet {
			return int(x.wallet - y.wallet)
		}
		return strings.Compare(x.shop, y.shop)
	})
	return inChunks(keys, func(args []any, k ownKey) []any { return append(args, k.wallet, k.shop) },
		func(n int, args []any) error {
			return b.query(ownersSQL(n), args, func(rows *sql.Rows) error {
				var k ownKey
				var purchase int64
				if err := rows.Scan(&k.wallet, &k.shop, &purchase); err != nil {
					return err
				}
				b.legs.onDisk[k] = purchase
				return nil
			})
		})
}

// loadRows reads the balance rows of the batch's buyers into the
// transaction's row cache (b.legs.rows), which the batch keeps up to date
// from here on as it does for rows it reads one by one.
func (b *batch) loadRows(ops []store.Op) error {
	seen := make(map[int64]bool, len(ops))
	accts := make([]int64, 0, len(ops))
	for _, op := range ops {
		if buy, ok := op.(store.BuyOp); ok && !seen[buy.BuyerWallet] {
			seen[buy.BuyerWallet] = true
			if _, cached := b.cachedRow(buy.BuyerWallet); !cached {
				accts = append(accts, buy.BuyerWallet)
			}
		}
	}
	slices.Sort(accts)
	return inChunks(accts, func(args []any, a int64) []any { return append(args, a) },
		func(n int, args []any) error {
			return b.query(rowsSQL(n), args, func(rows *sql.Rows) error {
				var acct int64
				var r balanceRow
				var guarded int
				if err := rows.Scan(&acct, &r.bal.DebitsPosted, &r.bal.CreditsPosted, &r.bal.DebitsPending, &r.bal.CreditsPending, &guarded); err != nil {
					return err
				}
				r.guarded = guarded != 0
				b.legs.rows[acct] = r
				return nil
			})
		})
}

// query runs a hot statement and calls each for every row.
func (b *batch) query(q string, args []any, each func(*sql.Rows) error) error {
	s, err := b.stmt(q)
	if err != nil {
		return err
	}
	rows, err := s.QueryContext(b.ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// flushAccounts applies the pending legs of accts to their balance rows,
// inside the batch's transaction.
func (b *batch) flushAccounts(accts []int64) error {
	type row struct{ acct, debits, credits, through int64 }
	rows := make([]row, 0, len(accts))
	var credited [][2]int64 // (account, purchase rowid)
	var owned []entitlement
	for _, a := range accts {
		d := b.pendingOf(a)
		if r, ok := b.cachedRow(a); ok { // follow the row: it gains its pending legs
			b.legs.rows[a] = balanceRow{bal: d.onto(r.bal), guarded: r.guarded}
		}
		b.legs.flushed[a] = true
		delete(b.legs.added, a)
		if d.debits != 0 || d.credits != 0 {
			rows = append(rows, row{a, d.debits, d.credits, d.through})
		}
		for _, r := range d.credited {
			credited = append(credited, [2]int64{a, r})
		}
		for _, o := range d.owns {
			owned = append(owned, entitlement{a, o})
		}
	}
	if err := b.insertCreditLegs(credited); err != nil {
		return err
	}
	if err := b.insertEntitlements(owned); err != nil {
		return err
	}
	slices.SortFunc(rows, func(x, y row) int { return int(x.acct - y.acct) })
	err := inChunks(rows, func(args []any, r row) []any { return append(args, r.acct, r.debits, r.credits, r.through) },
		func(n int, args []any) error {
			found, err := b.exec(balancesFlushSQL(n), args...)
			if err == nil && found != int64(n) {
				err = fmt.Errorf("%d of %d balance rows found", found, n)
			}
			return err
		})
	if err != nil {
		return fmt.Errorf("apply pending legs: %w", err)
	}
	return nil
}

// inChunks runs a statement per chunk of rows (flushChunk, so each chunk
// size's statement is prepared once), with each row's values bound in
// order by bind.
func inChunks[T any](rows []T, bind func(args []any, row T) []any, run func(n int, args []any) error) error {
	for len(rows) > 0 {
		chunk := rows[:flushChunk(len(rows))]
		rows = rows[len(chunk):]
		args := make([]any, 0, 4*len(chunk)) // no statement binds more than 4 a row
		for _, r := range chunk {
			args = bind(args, r)
		}
		if err := run(len(chunk), args); err != nil {
			return err
		}
	}
	return nil
}

// flushChunk is how many of n rows the next flush statement takes: the
// largest power of two up to n, at most flushRowsPerStatement.
func flushChunk(n int) int {
	c := 1
	for c*2 <= n && c*2 <= flushRowsPerStatement {
		c *= 2
	}
	return c
}

// The flush statements for n rows.
func balancesFlushSQL(n int) string {
	// SQLite names a VALUES list's columns column1, column2, …
	return `UPDATE balances SET debits_posted = debits_posted + v.column2, credits_posted = credits_posted + v.column3,
		legs_through = MAX(legs_through, v.column4)
		FROM (VALUES (?, ?, ?, ?)` + strings.Repeat(`, (?, ?, ?, ?)`, n-1) + `) AS v
		WHERE balances.account_id = v.column1`
}

func creditLegsSQL(n int) string {
	return `INSERT INTO credit_legs (account_id, purchase) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, n-1) + ` ON CONFLICT DO NOTHING`
}

func ownersSQL(n int) string {
	return `SELECT e.wallet, e.shop_id, e.purchase FROM (VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, n-1) + `) AS v
		JOIN entitlements e ON e.wallet = v.column1 AND e.shop_id = v.column2`
}

func rowsSQL(n int) string {
	return `SELECT b.account_id, b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending,
		b.debits_must_not_exceed_credits FROM (VALUES (?)` + strings.Repeat(`, (?)`, n-1) + `) AS v
		JOIN balances b ON b.account_id = v.column1`
}

func entitlementsSQL(n int) string {
	return `INSERT INTO entitlements (wallet, shop_id, purchase) VALUES (?, ?, ?)` + strings.Repeat(`, (?, ?, ?)`, n-1) +
		` ON CONFLICT DO NOTHING`
}

func salesFlushSQL(n int) string {
	return `INSERT INTO shop_sales (shop_id, n, counted_through) VALUES (?, ?, ?)` + strings.Repeat(`, (?, ?, ?)`, n-1) +
		` ON CONFLICT (shop_id) DO UPDATE SET n = shop_sales.n + excluded.n,
		counted_through = MAX(shop_sales.counted_through, excluded.counted_through)`
}

// flushStatements are the flush statements for every chunk size, prepared
// with the ledger's other hot statements.
func flushStatements() []string {
	var qs []string
	for n := 1; n <= flushRowsPerStatement; n *= 2 {
		qs = append(qs, balancesFlushSQL(n), creditLegsSQL(n), salesFlushSQL(n), entitlementsSQL(n), ownersSQL(n), rowsSQL(n))
	}
	return qs
}

// insertCreditLegs records which purchases credited which accounts, in key
// order, so each page of credit_legs is written once.
func (b *batch) insertCreditLegs(legs [][2]int64) error {
	slices.SortFunc(legs, func(x, y [2]int64) int {
		if x[0] != y[0] {
			return int(x[0] - y[0])
		}
		return int(x[1] - y[1])
	})
	err := inChunks(legs, func(args []any, l [2]int64) []any { return append(args, l[0], l[1]) },
		func(n int, args []any) error { _, err := b.exec(creditLegsSQL(n), args...); return err })
	if err != nil {
		return fmt.Errorf("record credit legs: %w", err)
	}
	return nil
}

type entitlement struct {
	wallet int64
	ownedShop
}

// insertEntitlements records who owns what, in key order, so each page of
// entitlements is written once.
func (b *batch) insertEntitlements(es []entitlement) error {
	slices.SortFunc(es, func(x, y entitlement) int {
		if x.wallet != y.wallet {
			return int(x.wallet - y.wallet)
		}
		return strings.Compare(x.shop, y.shop)
	})
	err := inChunks(es, func(args []any, e entitlement) []any { return append(args, e.wallet, e.shop, e.purchase) },
		func(n int, args []any) error { _, err := b.exec(entitlementsSQL(n), args...); return err })
	if err != nil {
		return fmt.Errorf("record entitlements: %w", err)
	}
	return nil
}

// sweep applies the pending legs of the buckets the sweeper has reached by
// now in its cycle; at the end of a cycle it records that every purchase
// before the cycle began is in the balances.
func (b *batch) sweep() error {
	p := b.db.pending
	now := b.db.now()
	st := sweepState{cursor: p.cursor, salesDone: p.salesDone, cycleStart: p.cycleStart, cycleFrom: p.cycleFrom}
	was := st
	last := bucketOf(max(p.maxAcct, b.maxAddedAcct())) // sweep buckets 0..last
	target := int64(float64(last+1) * float64(now.Sub(st.cycleStart)) / float64(sweepCycle))
	// After a stall, catch up over several batches rather than in one
	// long one (the cycle stretches instead).
	target = min(max(target, st.cursor), last+1, st.cursor+(last+1)/maxSweepShare+1)
	var accts []int64
	for k := st.cursor; k < target; k++ {
		for _, a := range p.buckets[k] {
			if !b.legs.flushed[a] && p.pendingIn(a) {
				accts = append(accts, a)
			}
		}
	}
	b.legs.swept = [2]int64{st.cursor, target}
	for a := range b.legs.added {
		if k := bucketOf(a); k >= st.cursor && k < target && !b.legs.flushed[a] && !p.pendingIn(a) {
			accts = append(accts, a)
		}
	}
	if err := b.flushAccounts(accts); err != nil {
		return err
	}
	st.cursor = target
	salesTo := min(salesSlots, int((target*salesSlots+last)/(last+1))) // rounded up: all of them at the end
	if salesTo > st.salesDone {
		if err := b.flushSalesOf(b.salesInSlots(st.salesDone, salesTo)); err != nil {
			return err
		}
		st.salesDone = salesTo
	}
	if st.cursor > last {
		if _, err := b.exec(`UPDATE ledger_state SET swept_through = ? WHERE id = 1`, st.cycleFrom); err != nil {
			return fmt.Errorf("record the sweep: %w", err)
		}
		st = sweepState{cursor: 0, cycleStart: now, cycleFrom: max(p.maxRowid, b.legs.maxRowid)}
	}
	if st != was {
		b.legs.cycle = &st
	}
	return nil
}

func (b *batch) maxAddedAcct() int64 {
	var m int64
	for a := range b.legs.added {
		m = max(m, a)
	}
	return m
}

// flushAll applies every pending leg and starts a new sweep cycle.
func (b *batch) flushAll() error {
	p := b.db.pending
	accts := slices.Collect(maps.Keys(p.accts))
	for a := range b.legs.added {
		if _, ok := p.accts[a]; !ok {
			accts = append(accts, a)
		}
	}
	if err := b.flushAccounts(accts); err != nil {
		return err
	}
	if err := b.flushSalesOf(b.salesInSlots(0, salesSlots)); err != nil {
		return err
	}
	b.legs.sweptAll = true
	through := max(p.maxRowid, b.legs.maxRowid)
	if _, err := b.exec(`UPDATE ledger_state SET swept_through = ? WHERE id = 1`, through); err != nil {
		return fmt.Errorf("record the sweep: %w", err)
	}
	b.legs.cycle = &sweepState{cursor: 0, cycleStart: b.db.now(), cycleFrom: through}
	return nil
}

// commitLegs installs a committed batch's legs; the caller holds p.mu.
func (p *pendingLegs) commitLegs(l *batchLegs) {
	for a := range l.flushed {
		p.drop(a)
	}
	if l.sweptAll {
		clear(p.buckets)
	}
	for k := l.swept[0]; k < l.swept[1]; k++ {
		delete(p.buckets, k)
	}
	for a, d := range l.added {
		p.add(a, *d)
	}
	for shop := range l.salesFlushed {
		p.dropSales(shop)
	}
	for shop, d := range l.sales {
		p.addSales(shop, *d)
	}
	if l.clearRows || len(p.rows) > maxCachedRows {
		clear(p.rows)
	}
	for a := range l.stale {
		delete(p.rows, a)
	}
	for a, r := range l.rows {
		p.rows[a] = r
	}
	p.maxRowid = max(p.maxRowid, l.maxRowid)
	if l.cycle != nil {
		p.cursor, p.salesDone, p.cycleStart, p.cycleFrom = l.cycle.cursor, l.cycle.salesDone, l.cycle.cycleStart, l.cycle.cycleFrom
	}
}

// recover rebuilds the pending legs from the purchase rows that some
// balance does not include yet (after a crash, or a stop without a final
// flush).
func (p *pendingLegs) recover(ctx context.Context, w *sql.DB) error {
	var swept int64
	if err := w.QueryRowContext(ctx, `SELECT swept_through FROM ledger_state WHERE id = 1`).Scan(&swept); err != nil {
		return fmt.Errorf("ledger state: %w", err)
	}
	if err := w.QueryRowContext(ctx, `SELECT COALESCE(MAX(rowid), 0) FROM purchases`).Scan(&p.maxRowid); err != nil {
		return fmt.Errorf("purchases: %w", err)
	}
	if err := w.QueryRowContext(ctx, `SELECT COALESCE(MAX(account_id), 0) FROM balances`).Scan(&p.maxAcct); err != nil {
		return fmt.Errorf("balances: %w", err)
	}
	rows, err := w.QueryContext(ctx, `SELECT acct, d, c, r, s FROM (
		SELECT p.buyer_wallet AS acct, p.price_sats AS d, 0 AS c, p.rowid AS r, p.shop_id AS s FROM purchases p
			JOIN balances b ON b.account_id = p.buyer_wallet WHERE p.rowid > ?1 AND p.rowid > b.legs_through
		UNION ALL
		SELECT p.credit_account, 0, p.price_sats - p.fee_sats, p.rowid, '' FROM purchases p
			JOIN balances b ON b.account_id = p.credit_account WHERE p.rowid > ?1 AND p.rowid > b.legs_through
		UNION ALL
		SELECT p.fee_account, 0, p.fee_sats, p.rowid, '' FROM purchases p
			JOIN balances b ON b.account_id = p.fee_account WHERE p.rowid > ?1 AND p.rowid > b.legs_through
	) WHERE d <> 0 OR c <> 0`, swept)
	if err != nil {
		return fmt.Errorf("pending legs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a int64
		var d legDelta
		var shop string
		if err := rows.Scan(&a, &d.debits, &d.credits, &d.through, &shop); err != nil {
			return fmt.Errorf("pending legs: %w", err)
		}
		if d.credits != 0 {
			d.credited = []int64{d.through}
		}
		if d.debits != 0 { // a buyer's leg: the purchase's entitlement is pending too
			d.owns = []ownedShop{{shop, d.through}}
		}
		p.add(a, d)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pending legs: %w", err)
	}
	sales, err := w.QueryContext(ctx, `SELECT p.shop_id, COUNT(*), MAX(p.rowid) FROM purchases p
		LEFT JOIN shop_sales s ON s.shop_id = p.shop_id
		WHERE p.rowid > ? AND p.rowid > COALESCE(s.counted_through, 0) GROUP BY p.shop_id`, swept)
	if err != nil {
		return fmt.Errorf("pending sales: %w", err)
	}
	defer sales.Close()
	for sales.Next() {
		var shop string
		var d legDelta
		if err := sales.Scan(&shop, &d.debits, &d.through); err != nil {
			return fmt.Errorf("pending sales: %w", err)
		}
		p.addSales(shop, d)
	}
	if err := sales.Err(); err != nil {
		return fmt.Errorf("pending sales: %w", err)
	}
	p.cycleFrom = swept
	return nil
}

// settleIdle applies the pending legs once the ledger has been quiet for a
// sweep cycle (the sweeper only runs inside batches), so the rows on disk
// are complete for other readers of the file and the memory is given back.
// It stops when p.stop closes.
func (db *DB) settleIdle(p *pendingLegs) {
	defer close(p.done)
	t := time.NewTicker(sweepCycle)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, p.lastBatch.Load())) < sweepCycle {
			continue
		}
		p.mu.RLock()
		idle := len(p.accts) > 0 || len(p.sales) > 0
		p.mu.RUnlock()
		if idle {
			// A failure is left to the next batch or the next tick.
			_ = db.writeLedger(context.Background(), func(*sql.Tx) error { return nil })
		}
	}
}
