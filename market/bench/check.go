package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/shopfile/shopfile/store"
)

// check verifies the ledger after a run: Σ debits = Σ credits = Σ transfer
// amounts, no wallet below zero, every balance row equal to its transfers,
// one purchase row per acknowledgement and its legs, the fee account
// holding exactly the acknowledged fees, acknowledged purchases present,
// and replays of acknowledged keys, and second purchases of their shops by
// the same buyers under new keys, charging nothing. It returns how many
// replays it verified (as many second purchases).
func (w *world) check(ctx context.Context, acks *ackLog) (int, error) {
	before, err := w.totals(ctx, acks)
	if err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(11, 13))
	var broken []error
	sample := min(len(acks.all), 2000)
	for i := 0; i < sample; i++ {
		a := acks.all[r.IntN(len(acks.all))]
		p, err := w.st.Purchase(ctx, a.id)
		if err != nil {
			broken = append(broken, fmt.Errorf("acknowledged purchase %s: %w", a.id, err))
			continue
		}
		if p.Buyer != w.accounts[a.buyer].ID || p.Shop != w.shops[a.shop].id {
			broken = append(broken, fmt.Errorf("purchase %s is of %s by %s, acknowledged for %s by %s", a.id, p.Shop, p.Buyer,
				w.shops[a.shop].id, w.accounts[a.buyer].ID))
		}
	}
	replays := min(max(len(acks.all)/100, 1), 1000, len(acks.all))
	for i := 0; i < replays; i++ {
		a := acks.all[r.IntN(len(acks.all))]
		p, err := w.m.Buy(ctx, w.accounts[a.buyer], w.shops[a.shop].id, a.id, 0)
		if err != nil {
			broken = append(broken, fmt.Errorf("replay of %s: %w", a.id, err))
			continue
		}
		if !p.Existing || p.ID != a.id {
			broken = append(broken, fmt.Errorf("replay of %s returned purchase %s, existing=%v", a.id, p.ID, p.Existing))
		}
		// A second purchase of the shop under a new key: the buyer owns it
		// already, so it too must charge nothing and return the first.
		p, err = w.m.Buy(ctx, w.accounts[a.buyer], w.shops[a.shop].id, "", 0)
		if err != nil {
			broken = append(broken, fmt.Errorf("second purchase after %s: %w", a.id, err))
			continue
		}
		if !p.Existing || p.ID != a.id {
			broken = append(broken, fmt.Errorf("a second purchase of %s by its buyer returned purchase %s, existing=%v", a.id, p.ID, p.Existing))
		}
	}
	after, err := w.totals(ctx, acks)
	if err != nil {
		return replays, err
	}
	if after != before {
		broken = append(broken, fmt.Errorf("replays changed the ledger: %+v → %+v", before, after))
	}
	if len(broken) > 0 {
		return replays, fmt.Errorf("%w: %w", errBroken, errors.Join(broken...))
	}
	return replays, nil
}

// totals checks the sums and returns them.
func (w *world) totals(ctx context.Context, acks *ackLog) (store.LedgerTotals, error) {
	t, err := w.st.LedgerTotals(ctx)
	if err != nil {
		return t, err
	}
	var broken []error
	if t.DebitsPosted != t.CreditsPosted {
		broken = append(broken, fmt.Errorf("Σ debits %d ≠ Σ credits %d", t.DebitsPosted, t.CreditsPosted))
	}
	if t.DebitsPosted != t.TransferSum {
		broken = append(broken, fmt.Errorf("Σ balance debits %d ≠ Σ transfer amounts %d", t.DebitsPosted, t.TransferSum))
	}
	if t.DebitsPending != 0 || t.CreditsPending != 0 {
		broken = append(broken, fmt.Errorf("pending counters %d/%d, want 0", t.DebitsPending, t.CreditsPending))
	}
	if t.NegativeWallets != 0 {
		broken = append(broken, fmt.Errorf("%d wallets below zero", t.NegativeWallets))
	}
	if t.SalesMismatches != 0 {
		broken = append(broken, fmt.Errorf("%d shops' sales counts disagree with their purchases", t.SalesMismatches))
	}
	if t.Purchases != int64(len(acks.all)) {
		broken = append(broken, fmt.Errorf("%d purchase rows for %d acknowledged purchases", t.Purchases, len(acks.all)))
	}
	if want := w.seeded + acks.legs; t.Transfers != want {
		broken = append(broken, fmt.Errorf("%d transfers, want %d (%d deposits + %d purchase legs)", t.Transfers, want, w.seeded, acks.legs))
	}
	fee, err := w.st.SystemAccount(ctx, store.AccountFees, store.KindRevenue)
	if err != nil {
		return t, err
	}
	if b, err := w.st.Balance(ctx, fee); err != nil {
		return t, err
	} else if b.CreditsPosted != acks.fees || b.DebitsPosted != 0 {
		broken = append(broken, fmt.Errorf("fee account holds %d−%d, acknowledged fees sum to %d", b.CreditsPosted, b.DebitsPosted, acks.fees))
	}
	if n, err := w.st.BalanceMismatches(ctx); err != nil {
		return t, err
	} else if n != 0 {
		broken = append(broken, fmt.Errorf("%d balance rows disagree with their transfers", n))
	}
	if len(broken) > 0 {
		return t, fmt.Errorf("%w: %w", errBroken, errors.Join(broken...))
	}
	return t, nil
}
