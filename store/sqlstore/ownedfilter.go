package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"

	"github.com/bits-and-blooms/bloom/v3"
)

// ownedFilter answers "might wallet own shop through the entitlements
// table?" without reading the table. Nearly every purchase is of a shop its
// buyer does not own, and the table probe that proved it (a random leaf
// page at a million accounts) was a fifth of the ledger writer's time.
//
// It holds every entitlement in the table and every one the writer has
// made since opening, committed or not: an entry that never reached the
// table only costs a needless probe, and a missing one would let a buyer
// pay twice, so entries are added before they can reach the table and
// never removed. It grows by layers, each twice the capacity of the last
// and with half its false-positive rate, so the rate stays under
// 2×ownedFilterFP however many entitlements come. Only ledger batches use
// it (one at a time, under db.terms.mu).
type ownedFilter struct {
	layers   []*bloom.BloomFilter
	capacity uint    // the newest layer's
	room     uint    // entries the newest layer takes before the next one
	fp       float64 // the newest layer's false-positive rate
	key      []byte  // scratch
}

const (
	ownedFilterFP  = 0.005
	ownedFilterMin = 1 << 16
)

func newOwnedFilter(expected uint) *ownedFilter {
	f := &ownedFilter{fp: ownedFilterFP * 2}
	f.grow(max(2*expected, ownedFilterMin))
	return f
}

func (f *ownedFilter) grow(capacity uint) {
	f.fp /= 2
	f.layers = append(f.layers, bloom.NewWithEstimates(capacity, f.fp))
	f.capacity, f.room = capacity, capacity
}

func (f *ownedFilter) bytes(k ownKey) []byte {
	f.key = binary.BigEndian.AppendUint64(f.key[:0], uint64(k.wallet))
	return append(f.key, k.shop...)
}

func (f *ownedFilter) add(k ownKey) {
	if f.room == 0 {
		f.grow(2 * f.capacity)
	}
	f.layers[len(f.layers)-1].Add(f.bytes(k))
	f.room--
}

// mayOwn is false only if k is certainly not in the table.
func (f *ownedFilter) mayOwn(k ownKey) bool {
	b := f.bytes(k)
	for _, l := range f.layers {
		if l.Test(b) {
			return true
		}
	}
	return false
}

// filter is the ledger's ownedFilter, built by the first batch that needs
// it rather than when the store opens (half a second per million
// entitlements, which a process that never sells, such as an admin
// command, should not pay): from the table as this transaction sees it
// and the pending entitlements, after which every new one is added as it
// is made.
func (b *batch) filter() (*ownedFilter, error) {
	p := b.db.pending
	if p.filter != nil {
		return p.filter, nil
	}
	f, err := loadOwnedFilter(b.ctx, b.tx, uint(len(p.owners)))
	if err != nil {
		return nil, err
	}
	for k := range p.owners {
		f.add(k)
	}
	for k := range b.legs.owns {
		f.add(k)
	}
	p.filter = f
	return f, nil
}

// loadOwnedFilter fills a filter with the entitlements table.
func loadOwnedFilter(ctx context.Context, tx *sql.Tx, extra uint) (*ownedFilter, error) {
	var n uint
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM entitlements`).Scan(&n); err != nil {
		return nil, fmt.Errorf("count entitlements: %w", err)
	}
	f := newOwnedFilter(n + extra)
	rows, err := tx.QueryContext(ctx, `SELECT wallet, shop_id FROM entitlements`)
	if err != nil {
		return nil, fmt.Errorf("read entitlements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k ownKey
		if err := rows.Scan(&k.wallet, &k.shop); err != nil {
			return nil, fmt.Errorf("read entitlements: %w", err)
		}
		f.add(k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read entitlements: %w", err)
	}
	return f, nil
}
