package market

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/store"
	"golang.org/x/crypto/ssh"
)

// Purchase is the receipt of a buy.
type Purchase struct {
	ID          string
	Shop        string
	Title       string
	PriceSats   int64
	FeeSats     int64
	BalanceSats int64 // the buyer's balance after it
	Existing    bool  // nothing was charged: already owned, or a repeated key
	At          time.Time
}

// NewPurchaseKey makes an idempotency key. A face makes one per intent (a
// confirmation dialog, a command) so a double Enter never charges twice.
func (m *Market) NewPurchaseKey() string { return ids.New("p", m.now()) }

// Buy purchases a shop at its live price from the actor's wallet. key makes
// it idempotent: the same key, or a second buy of an owned shop, charges
// nothing and returns the first purchase. maxPrice > 0 refuses a price
// that has risen above it. It returns only after the purchase is durable.
func (m *Market) Buy(ctx context.Context, actor *store.Account, shopID, key string, maxPrice int64) (Purchase, error) {
	if key == "" {
		key = m.NewPurchaseKey()
	}
	if !ids.Valid(key) {
		return Purchase{}, fmt.Errorf("purchase key %q must be letters, digits, - or _: %w", key, ErrInvalid)
	}
	if maxPrice < 0 {
		return Purchase{}, fmt.Errorf("--max-price must not be negative: %w", ErrInvalid)
	}
	if !ids.Valid(shopID) {
		return Purchase{}, fmt.Errorf("no such shop %q: %w", shopID, ErrNotFound)
	}
	// The batch reads the shop's terms and returns its title and the
	// buyer's balance: a purchase costs no read outside the ledger writer.
	op := store.BuyOp{PurchaseID: key, Buyer: actor.ID, BuyerWallet: actor.WalletID, Shop: shopID, MaxPrice: maxPrice,
		FeeBps: m.cfg.FeeBps, FeeAccount: m.feeAccount, At: m.now().UnixMicro()}
	res, err := m.ledger.Submit(ctx, op)
	if err != nil {
		return Purchase{}, buyErr(shopID, err)
	}
	if res.Err != nil {
		return Purchase{}, buyErr(shopID, res.Err)
	}
	p := res.Purchase
	if !res.Existing {
		m.events.Publish(Event{Kind: WalletChanged, Account: actor.ID})
		m.events.Publish(Event{Kind: WalletChanged, Account: p.Payee})
		m.events.Publish(Event{Kind: ShopChanged, Shop: p.Shop})
	}
	return Purchase{ID: p.ID, Shop: p.Shop, Title: res.Title, PriceSats: p.PriceSats, FeeSats: p.FeeSats,
		BalanceSats: res.Balance.Available(), Existing: res.Existing, At: time.UnixMicro(p.CreatedAt)}, nil
}

func buyErr(shop string, err error) error {
	switch {
	case errors.Is(err, store.ErrInsufficientFunds):
		return fmt.Errorf("insufficient funds to buy %s: %w", shop, ErrInsufficientFunds)
	case errors.Is(err, store.ErrPriceAboveMax):
		return fmt.Errorf("buy %s: %w", shop, errors.Join(ErrForbidden, err))
	case errors.Is(err, store.ErrSelfPurchase):
		return fmt.Errorf("buy %s: you are its payee and may already `get` it: %w", shop, ErrForbidden)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no such shop %s: %w", shop, ErrNotFound)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("buy %s: %w: %w", shop, ErrInvalid, err)
	case errors.Is(err, ledger.ErrBusy):
		return fmt.Errorf("buy %s: %w (nothing was charged): %w", shop, ErrUnavailable, err)
	case errors.Is(err, ledger.ErrFailed), errors.Is(err, ledger.ErrClosed):
		return fmt.Errorf("buy %s: %w: %w", shop, ErrUnavailable, err)
	}
	return fmt.Errorf("buy %s: %w", shop, err)
}

// LibraryItem is one thing the actor bought.
type LibraryItem struct {
	Purchase  string
	Shop      string
	Title     string
	Name      string // the file name
	PriceSats int64
	At        time.Time
}

// Library lists the actor's purchases, newest first.
func (m *Market) Library(ctx context.Context, actor *store.Account) ([]LibraryItem, error) {
	items, err := m.st.Library(ctx, actor.ID, 0)
	if err != nil {
		return nil, storeErr(err, "library")
	}
	out := make([]LibraryItem, 0, len(items))
	for _, it := range items {
		out = append(out, LibraryItem{Purchase: it.ID, Shop: it.Shop, Title: it.Title, Name: it.Name, PriceSats: it.PriceSats, At: time.UnixMicro(it.CreatedAt)})
	}
	return out, nil
}

// Owns reports whether the actor may open the shop (bought, uploaded or paid).
func (m *Market) Owns(ctx context.Context, actor *store.Account, id string) (bool, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return false, err
	}
	ok, err := m.mayRead(ctx, actor, s)
	return ok, storeErr(err, "ownership")
}

// Licence issues a key slip: the shop's file key wrapped to the actor's own
// SSH public key, so only that key opens the file.
func (m *Market) Licence(ctx context.Context, actor *store.Account, id string) ([]byte, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := m.mayRead(ctx, actor, s)
	if err != nil {
		return nil, storeErr(err, "licence")
	}
	if !ok {
		return nil, fmt.Errorf("buy %s first: only buyers get a licence: %w", id, ErrForbidden)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(actor.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("licence %s: your key: %w", id, err)
	}
	key, err := m.sealer.Open(s.FileKey, s.ID)
	if err != nil {
		return nil, fmt.Errorf("licence %s: %w: %w", id, ErrUnavailable, err)
	}
	slip, err := container.NewSlip(key, pub)
	if err != nil {
		if errors.Is(err, container.ErrUnsupportedKey) {
			return nil, fmt.Errorf("licence %s: %w: %w", id, ErrInvalid, err)
		}
		return nil, fmt.Errorf("licence %s: %w", id, err)
	}
	return slip, nil
}
