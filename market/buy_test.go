package market_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
)

func TestBuyMovesExactlyThePrice(t *testing.T) {
	e := markettest.New(t, markettest.Options{Config: market.Config{FeeBps: 250}})
	ctx := context.Background()
	alice, bob := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	data := randomBytes(t, 3000)
	s := e.Upload(t, bob, "film", data, 1000)
	e.Fund(t, alice, 50_000)

	p, err := e.Market.Buy(ctx, alice, s.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.PriceSats != 1000 || p.FeeSats != 25 || p.BalanceSats != 49_000 || p.Existing {
		t.Fatalf("purchase %+v", p)
	}
	if bal, _ := e.Market.Balance(ctx, bob); bal != 975 {
		t.Fatalf("payee got %d, want 975 (price minus 2.5%% fee)", bal)
	}
	again, err := e.Market.Buy(ctx, alice, s.ID, "", 0)
	if err != nil || !again.Existing || again.ID != p.ID || again.BalanceSats != 49_000 {
		t.Fatalf("second buy charged or failed: %+v %v", again, err)
	}
	var got bytes.Buffer
	if _, err := e.Market.Get(ctx, alice, s.ID, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("buyer get: %v", err)
	}
	lib, err := e.Market.Library(ctx, alice)
	if err != nil || len(lib) != 1 || lib[0].Shop != s.ID {
		t.Fatalf("library %+v %v", lib, err)
	}
	tot := e.CheckLedger(t)
	if tot.Purchases != 1 {
		t.Fatalf("%d purchases, want 1", tot.Purchases)
	}
}

func TestBuyRefusals(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice, bob, carol := e.Account(t, newKey(t)), e.Account(t, newKey(t)), e.Account(t, newKey(t))
	s := e.Upload(t, bob, "film", []byte("x"), 1000)
	e.Fund(t, alice, 900)

	if _, err := e.Market.Buy(ctx, alice, s.ID, "", 0); !errors.Is(err, market.ErrInsufficientFunds) {
		t.Fatalf("buy over balance: %v", err)
	}
	if _, err := e.Market.Buy(ctx, carol, s.ID, "", 0); !errors.Is(err, market.ErrInsufficientFunds) {
		t.Fatalf("buy with empty wallet: %v", err)
	}
	e.Fund(t, alice, 5000)
	if _, err := e.Market.Reprice(ctx, bob, s.ID, 5000); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Market.Buy(ctx, alice, s.ID, "", 1000); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("--max-price ignored: %v", err)
	}
	if _, err := e.Market.Buy(ctx, bob, s.ID, "", 0); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("payee bought own shop: %v", err)
	}
	if _, err := e.Market.Buy(ctx, alice, "nosuchshop", "", 0); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("unknown shop: %v", err)
	}
	if _, err := e.Market.Buy(ctx, alice, s.ID, "bad key!", 0); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("bad key: %v", err)
	}
	if bal, _ := e.Market.Balance(ctx, alice); bal != 5900 {
		t.Fatalf("refused buys charged alice: balance %d", bal)
	}
	if bal, _ := e.Market.Balance(ctx, bob); bal != 0 {
		t.Fatalf("refused buys paid bob: balance %d", bal)
	}
	if tot := e.CheckLedger(t); tot.Purchases != 0 {
		t.Fatalf("refused buys left %d purchases", tot.Purchases)
	}
}

func TestBuyKeyIsIdempotent(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice, bob := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	s1 := e.Upload(t, bob, "one", []byte("1"), 100)
	s2 := e.Upload(t, bob, "two", []byte("2"), 100)
	e.Fund(t, alice, 1000)
	key := e.Market.NewPurchaseKey()
	p1, err := e.Market.Buy(ctx, alice, s1.ID, key, 0)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := e.Market.Buy(ctx, alice, s1.ID, key, 0)
	if err != nil || !p2.Existing || p2.ID != p1.ID {
		t.Fatalf("repeat: %+v %v", p2, err)
	}
	if _, err := e.Market.Buy(ctx, alice, s2.ID, key, 0); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("a key reused for another shop: %v", err)
	}
	if bal, _ := e.Market.Balance(ctx, alice); bal != 900 {
		t.Fatalf("balance %d, want 900", bal)
	}
	e.CheckLedger(t)
}

// 100 concurrent buys from a wallet that can afford exactly 10.
func TestConcurrentBuysNeverOverspend(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	buyer, seller := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	var shops []string
	for i := 0; i < 100; i++ {
		shops = append(shops, e.Upload(t, seller, "p", []byte{byte(i)}, 400).ID)
	}
	e.Fund(t, buyer, 4000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, poor := 0, 0
	for _, id := range shops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Market.Buy(ctx, buyer, id, "", 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, market.ErrInsufficientFunds):
				poor++
			default:
				t.Errorf("buy: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 10 || poor != 90 {
		t.Fatalf("%d bought, %d refused; want 10 and 90", ok, poor)
	}
	if bal, _ := e.Market.Balance(ctx, buyer); bal != 0 {
		t.Fatalf("buyer balance %d, want 0", bal)
	}
	if bal, _ := e.Market.Balance(ctx, seller); bal != 4000 {
		t.Fatalf("seller balance %d, want 4000", bal)
	}
	if tot := e.CheckLedger(t); tot.Purchases != 10 {
		t.Fatalf("%d purchases recorded, want 10", tot.Purchases)
	}
	lib, _ := e.Market.Library(ctx, buyer)
	if len(lib) != 10 {
		t.Fatalf("library has %d entries, want 10", len(lib))
	}
}

func TestHistoryRunningBalance(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice, bob := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	s := e.Upload(t, bob, "x", []byte("x"), 300)
	e.Fund(t, alice, 1000)
	if _, err := e.Market.Buy(ctx, alice, s.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	h, err := e.Market.History(ctx, alice, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].Kind != "purchase" || h[0].AmountSats != -300 || h[0].BalanceSats != 700 ||
		h[1].Kind != "deposit" || h[1].AmountSats != 1000 || h[1].BalanceSats != 1000 {
		t.Fatalf("history %+v", h)
	}
	hb, _ := e.Market.History(ctx, bob, 10)
	if len(hb) != 1 || hb[0].Kind != "sale" || hb[0].AmountSats != 300 {
		t.Fatalf("seller history %+v", hb)
	}
}
