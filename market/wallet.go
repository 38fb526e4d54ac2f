package market

import (
	"context"
	"fmt"
	"time"

	"github.com/shopfile/shopfile/store"
)

// Chain is the deposit side of the wallet: addresses and the watcher.
type Chain interface {
	// DepositAddress returns the account's current unused address.
	DepositAddress(ctx context.Context, account string) (string, error)
	Status() ChainStatus
}

// ChainStatus says whether deposits work right now.
type ChainStatus struct {
	Network   string
	Enabled   bool // false with --chain none
	Reachable bool
	Height    int64
	Error     string
}

// Wallet is an account's money.
type Wallet struct {
	BalanceSats    int64
	PendingSats    int64
	DepositAddress string // empty when deposits are off or the node is unreachable
	Chain          ChainStatus
}

// ChainStatus reports the deposit side's state.
func (m *Market) ChainStatus() ChainStatus {
	if m.chain == nil {
		return ChainStatus{Network: "none"}
	}
	return m.chain.Status()
}

// Balance is the actor's available balance.
func (m *Market) Balance(ctx context.Context, actor *store.Account) (int64, error) {
	b, err := m.st.Balance(ctx, actor.WalletID)
	if err != nil {
		return 0, storeErr(err, "balance")
	}
	return b.Available(), nil
}

// Wallet returns the balance, pending deposits and a deposit address.
func (m *Market) Wallet(ctx context.Context, actor *store.Account) (Wallet, error) {
	bal, err := m.Balance(ctx, actor)
	if err != nil {
		return Wallet{}, err
	}
	w := Wallet{BalanceSats: bal, Chain: m.ChainStatus()}
	if m.chain == nil {
		return w, nil
	}
	if w.PendingSats, err = m.st.PendingDeposits(ctx, actor.ID); err != nil {
		return Wallet{}, storeErr(err, "pending deposits")
	}
	// Without an address the rest of the wallet is still worth showing.
	if w.DepositAddress, err = m.chain.DepositAddress(ctx, actor.ID); err != nil {
		m.log.Warn("deposit address", "account", actor.ID, "err", err)
		w.Chain.Error = fmt.Sprintf("no deposit address right now: %v", err)
	}
	return w, nil
}

// HistoryItem is one movement of the actor's money.
type HistoryItem struct {
	Transfer    string
	Kind        string
	AmountSats  int64 // + in, - out
	BalanceSats int64 // after this transfer
	Ref         string
	At          time.Time
}

// History lists the actor's transfers, newest first, with the running
// balance after each.
func (m *Market) History(ctx context.Context, actor *store.Account, limit int) ([]HistoryItem, error) {
	ts, err := m.st.History(ctx, actor.WalletID, limit)
	if err != nil {
		return nil, storeErr(err, "history")
	}
	b, err := m.st.Balance(ctx, actor.WalletID)
	if err != nil {
		return nil, storeErr(err, "history")
	}
	// Each row's amount is its effect on the available balance: a hold
	// takes it at once, a void gives it back, a post changes nothing (and
	// is not listed).
	running := b.Available()
	out := make([]HistoryItem, 0, len(ts))
	for _, t := range ts {
		amount := t.Amount
		if t.Debit == actor.WalletID {
			amount = -amount
		}
		if t.Flags == store.FlagVoidPending {
			amount = -amount
		}
		kind := transferKind(t.Code, amount > 0)
		switch t.Flags {
		case store.FlagPending:
			kind += "-held"
		case store.FlagVoidPending:
			kind += "-refund"
		}
		out = append(out, HistoryItem{Transfer: t.ID, Kind: kind, AmountSats: amount,
			BalanceSats: running, Ref: t.Ref, At: time.UnixMicro(t.CreatedAt)})
		running -= amount
	}
	return out, nil
}

func transferKind(c store.TransferCode, in bool) string {
	switch c {
	case store.CodePurchase:
		if in {
			return "sale"
		}
		return "purchase"
	case store.CodeFee:
		return "fee"
	case store.CodeDeposit:
		return "deposit"
	case store.CodeReversal:
		return "deposit-reversal"
	case store.CodePayout:
		return "payout"
	case store.CodeEscrow:
		return "escrow"
	case store.CodeRelease:
		return "escrow-release"
	}
	return "transfer"
}
