package market_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/keys"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/market/receipt"
	"github.com/shopfile/shopfile/store"
)

// clock is a settable time source.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newClock(t time.Time) *clock    { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func clicked(n int) string           { return fmt.Sprintf("click%016d", n) }
func mustSession(t *testing.T, m *market.Market, secret string) market.BrowserSession {
	t.Helper()
	s, err := m.BrowserSession(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// browserMarket is a real market (markettest's store, ledger and keys)
// whose clock the test sets.
func browserMarket(t *testing.T, start time.Time) (*markettest.Env, *market.Market, *clock) {
	t.Helper()
	e := markettest.New(t, markettest.Options{Config: market.Config{HTTPURL: "https://shop.example"}})
	escrow, err := keys.Escrow(filepath.Join(e.DataDir, "keys", "escrow.age"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := keys.SealKey(filepath.Join(e.DataDir, "keys", "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	c := newClock(start)
	m, err := market.New(context.Background(), e.Market.Config(), market.Deps{Store: e.Store, Blobs: e.Blobs, Ledger: e.Ledger,
		Host: e.Host, Escrow: escrow.Recipient(), Sealer: sealer, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return e, m, c
}

func pairToken(t *testing.T, l market.PairingLink) string {
	t.Helper()
	i := strings.LastIndex(l.URL, "/pair/")
	if i < 0 || !strings.HasPrefix(l.URL, "https://shop.example/pair/") {
		t.Fatalf("pairing url %q", l.URL)
	}
	return l.URL[i+len("/pair/"):]
}

func TestPairingIsOneTimeExpiresAndIsRateLimited(t *testing.T) {
	ctx := context.Background()
	e, m, clk := browserMarket(t, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	reader := e.Account(t, newKey(t))
	link, err := m.NewPairing(ctx, reader, market.BrowserCaps{})
	if err != nil {
		t.Fatal(err)
	}
	if link.Caps.PerPurchaseSats != market.DefaultPerPurchaseCap || link.Caps.DailySats != market.DefaultDailyCap ||
		!link.ExpiresAt.Equal(clk.now().Add(market.PairingTTL)) {
		t.Fatalf("link %+v", link)
	}
	tok := pairToken(t, link)
	offer, err := m.PairingOffer(ctx, tok)
	if err != nil || offer.Account != reader.ID {
		t.Fatalf("offer %+v %v", offer, err)
	}
	sess, secret, err := m.Pair(ctx, tok, market.BrowserCaps{PerPurchaseSats: 100, DailySats: 250}, "Firefox\x1b[31m on my laptop")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Account != reader.ID || sess.Caps.PerPurchaseSats != 100 || sess.Caps.DailySats != 250 || sess.Label != "Firefox[31m on my laptop" {
		t.Fatalf("session %+v", sess)
	}
	if got := mustSession(t, m, secret); got.ID != sess.ID {
		t.Fatalf("session by secret: %+v", got)
	}
	// One time only.
	if _, _, err := m.Pair(ctx, tok, market.BrowserCaps{}, ""); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := m.PairingOffer(ctx, tok); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("offer after use: %v", err)
	}
	// Expires within minutes.
	late, err := m.NewPairing(ctx, reader, market.BrowserCaps{})
	if err != nil {
		t.Fatal(err)
	}
	clk.add(market.PairingTTL + time.Second)
	if _, _, err := m.Pair(ctx, pairToken(t, late), market.BrowserCaps{}, ""); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("expired link: %v", err)
	}
	// Rate limited per account: PairingsPerWindow in a window.
	clk.add(market.PairingWindow)
	for i := 0; i < market.PairingsPerWindow; i++ {
		if _, err := m.NewPairing(ctx, reader, market.BrowserCaps{}); err != nil {
			t.Fatalf("link %d: %v", i, err)
		}
	}
	if _, err := m.NewPairing(ctx, reader, market.BrowserCaps{}); !errors.Is(err, market.ErrTooMany) {
		t.Fatalf("link over the limit: %v", err)
	}
	other := e.Account(t, newKey(t))
	if _, err := m.NewPairing(ctx, other, market.BrowserCaps{}); err != nil {
		t.Fatalf("another account is limited too: %v", err)
	}
	clk.add(market.PairingWindow + time.Second)
	if _, err := m.NewPairing(ctx, reader, market.BrowserCaps{}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// Junk never pairs.
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), "../../etc/passwd", tok + "A"} {
		if _, _, err := m.Pair(ctx, bad, market.BrowserCaps{}, ""); !errors.Is(err, market.ErrNotFound) {
			t.Fatalf("pair %q: %v", bad, err)
		}
	}
	if _, err := m.NewPairing(ctx, other, market.BrowserCaps{PerPurchaseSats: -1}); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("negative cap: %v", err)
	}
}

func TestPayFromBrowserCapsConfirmAndIdempotency(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 23, 0, 0, 0, time.UTC)
	e, m, clk := browserMarket(t, start)
	reader, seller := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	e.Fund(t, reader, 10_000)
	cheap := e.Upload(t, seller, "a", []byte("aaaa"), 80)
	cheap2 := e.Upload(t, seller, "b", []byte("bbbb"), 90)
	dear := e.Upload(t, seller, "c", []byte("cccc"), 500)
	link, err := m.NewPairing(ctx, reader, market.BrowserCaps{})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := m.Pair(ctx, pairToken(t, link), market.BrowserCaps{PerPurchaseSats: 100, DailySats: 150}, "test")
	if err != nil {
		t.Fatal(err)
	}

	// Within the caps: paid at once, with a receipt that verifies.
	pay, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), cheap.ID, clicked(1), "")
	if err != nil || pay.NeedConfirm || pay.Purchase.Existing || pay.Purchase.PriceSats != 80 {
		t.Fatalf("pay %+v %v", pay, err)
	}
	c, err := receipt.Verify(m.ReceiptKey(), pay.Receipt)
	if err != nil || c.For(cheap.ID, reader.ID) != nil || c.Purchase != pay.Purchase.ID || c.PriceSats != 80 {
		t.Fatalf("receipt %+v %v", c, err)
	}
	if bal, _ := m.Balance(ctx, reader); bal != 10_000-80 {
		t.Fatalf("balance %d", bal)
	}
	// The same click again (a retried request), and a new click on the
	// same shop: the first purchase, nothing charged.
	for _, cl := range []string{clicked(1), clicked(2)} {
		again, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), cheap.ID, cl, "")
		if err != nil || !again.Purchase.Existing || again.Purchase.ID != pay.Purchase.ID {
			t.Fatalf("again %s: %+v %v", cl, again, err)
		}
	}
	if bal, _ := m.Balance(ctx, reader); bal != 10_000-80 {
		t.Fatalf("paid twice: balance %d", bal)
	}
	// Above the per-purchase cap: asks, charges nothing.
	ask, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), dear.ID, clicked(3), "")
	if err != nil || !ask.NeedConfirm || ask.PriceSats != 500 || ask.ConfirmToken == "" || !strings.Contains(ask.Reason, "per-purchase cap") {
		t.Fatalf("ask %+v %v", ask, err)
	}
	// Confirming at once (a double click) does not count; nor does a token
	// for another click, shop or session, or a forged one.
	if _, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), dear.ID, clicked(3), ask.ConfirmToken); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("instant confirm: %v", err)
	}
	clk.add(market.ConfirmDelay)
	for name, tc := range map[string][2]string{"other click": {dear.ID, clicked(4)}, "other shop": {cheap2.ID, clicked(3)}} {
		if _, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), tc[0], tc[1], ask.ConfirmToken); !errors.Is(err, market.ErrInvalid) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	forged := ask.ConfirmToken[:len(ask.ConfirmToken)-3] + "AAA"
	if _, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), dear.ID, clicked(3), forged); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("forged confirm: %v", err)
	}
	if bal, _ := m.Balance(ctx, reader); bal != 10_000-80 {
		t.Fatalf("asking charged: balance %d", bal)
	}
	ok, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), dear.ID, clicked(3), ask.ConfirmToken)
	if err != nil || ok.NeedConfirm || ok.Purchase.PriceSats != 500 {
		t.Fatalf("confirmed %+v %v", ok, err)
	}
	// The daily cap counts confirmed spend: 580 today, so even a cheap
	// shop asks until midnight UTC.
	ask2, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), cheap2.ID, clicked(5), "")
	if err != nil || !ask2.NeedConfirm || !strings.Contains(ask2.Reason, "daily cap") {
		t.Fatalf("daily cap: %+v %v", ask2, err)
	}
	if s := mustSession(t, m, secret); s.SpentTodaySats != 580 || s.DailyRemaining != 0 {
		t.Fatalf("session %+v", s)
	}
	clk.set(time.Date(2026, 11, 2, 0, 0, 1, 0, time.UTC))
	next, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), cheap2.ID, clicked(6), "")
	if err != nil || next.NeedConfirm || next.Purchase.PriceSats != 90 {
		t.Fatalf("after midnight UTC: %+v %v", next, err)
	}
	if bal, _ := m.Balance(ctx, reader); bal != 10_000-80-500-90 {
		t.Fatalf("balance %d", bal)
	}
	if bal, _ := m.Balance(ctx, seller); bal != 80+500+90 {
		t.Fatalf("seller balance %d", bal)
	}
	e.CheckLedger(t)

	// The seller cannot buy its own shop; junk click ids are refused.
	if _, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), "nosuchshop", clicked(7), ""); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("no shop: %v", err)
	}
	if _, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), cheap.ID, "short", ""); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("short click: %v", err)
	}
}

func TestRevokedSessionCannotPay(t *testing.T) {
	ctx := context.Background()
	e, m, _ := browserMarket(t, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	reader, seller, stranger := e.Account(t, newKey(t)), e.Account(t, newKey(t)), e.Account(t, newKey(t))
	e.Fund(t, reader, 1000)
	s := e.Upload(t, seller, "a", []byte("a"), 10)
	link, _ := m.NewPairing(ctx, reader, market.BrowserCaps{})
	sess, secret, err := m.Pair(ctx, pairToken(t, link), market.BrowserCaps{}, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := m.BrowserSessions(ctx, reader)
	if err != nil || len(list) != 1 || list[0].ID != sess.ID {
		t.Fatalf("sessions %+v %v", list, err)
	}
	if err := m.RevokeBrowserSession(ctx, stranger, sess.ID); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("a stranger revoked it: %v", err)
	}
	live := mustSession(t, m, secret)
	if err := m.RevokeBrowserSession(ctx, reader, sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.BrowserSession(ctx, secret); !errors.Is(err, market.ErrNotPaired) {
		t.Fatalf("revoked session found: %v", err)
	}
	// Even a request that looked its session up before the revocation
	// cannot pay after it: the reservation checks again.
	if _, err := m.PayFromBrowser(ctx, live, s.ID, clicked(1), ""); !errors.Is(err, market.ErrNotPaired) {
		t.Fatalf("revoked pay: %v", err)
	}
	if bal, _ := m.Balance(ctx, reader); bal != 1000 {
		t.Fatalf("balance %d", bal)
	}
	if list, _ := m.BrowserSessions(ctx, reader); len(list) != 0 {
		t.Fatalf("revoked session listed: %+v", list)
	}
	if err := m.RevokeBrowserSession(ctx, reader, sess.ID); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
}

// Racing clicks of one session on different shops cannot pass the daily
// cap together: the reservation is a guarded write.
func TestConcurrentClicksRespectTheDailyCap(t *testing.T) {
	ctx := context.Background()
	e, m, _ := browserMarket(t, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	reader, seller := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	e.Fund(t, reader, 100_000)
	link, _ := m.NewPairing(ctx, reader, market.BrowserCaps{})
	_, secret, err := m.Pair(ctx, pairToken(t, link), market.BrowserCaps{PerPurchaseSats: 100, DailySats: 450}, "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 12
	shops := make([]string, n)
	for i := range shops {
		shops[i] = e.Upload(t, seller, fmt.Sprintf("s%d", i), []byte{byte(i)}, 100).ID
	}
	var wg sync.WaitGroup
	var paid, asked atomic.Int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			p, err := m.PayFromBrowser(ctx, mustSession(t, m, secret), shops[i], clicked(100+i), "")
			switch {
			case err != nil:
				t.Error(err)
			case p.NeedConfirm:
				asked.Add(1)
			default:
				paid.Add(1)
			}
		}(i)
	}
	wg.Wait()
	if paid.Load() != 4 || asked.Load() != n-4 {
		t.Fatalf("paid %d, asked %d; want 4 and %d", paid.Load(), asked.Load(), n-4)
	}
	if bal, _ := m.Balance(ctx, reader); bal != 100_000-400 {
		t.Fatalf("balance %d", bal)
	}
}

func TestReceiptsAndCheckReceipt(t *testing.T) {
	ctx := context.Background()
	e := markettest.New(t, markettest.Options{})
	m := e.Market
	alice, bob, seller := e.Account(t, newKey(t)), e.Account(t, newKey(t)), e.Account(t, newKey(t))
	e.Fund(t, alice, 1000)
	e.Fund(t, bob, 1000)
	a := e.Upload(t, seller, "a", []byte("a"), 10)
	b := e.Upload(t, seller, "b", []byte("b"), 10)
	if _, _, err := m.Receipt(ctx, alice, a.ID); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("receipt before buying: %v", err)
	}
	pa, err := m.Buy(ctx, alice, a.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Buy(ctx, bob, b.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	tok, c, err := m.Receipt(ctx, alice, a.ID)
	if err != nil || c.Purchase != pa.ID || c.Account != alice.ID || c.Shop != a.ID {
		t.Fatalf("receipt %+v %v", c, err)
	}
	who, _, err := m.CheckReceipt(ctx, tok, a.ID)
	if err != nil || who.ID != alice.ID {
		t.Fatalf("check: %v", err)
	}
	// Not for another shop.
	if _, _, err := m.CheckReceipt(ctx, tok, b.ID); !errors.Is(err, market.ErrBadReceipt) {
		t.Fatalf("other shop: %v", err)
	}
	// A receipt the host signed naming a purchase its buyer does not hold
	// (bob's purchase of b, claimed for alice) is refused.
	bobs, _, _ := m.Receipt(ctx, bob, b.ID)
	bc, _ := receipt.Verify(m.ReceiptKey(), bobs)
	mixed, err := receipt.Sign(receipt.SSH(e.Host), receipt.Claims{Shop: b.ID, Account: alice.ID, Purchase: bc.Purchase, At: bc.At})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.CheckReceipt(ctx, mixed, b.ID); !errors.Is(err, market.ErrBadReceipt) {
		t.Fatalf("mixed receipt: %v", err)
	}
	if _, _, err := m.CheckReceipt(ctx, "sfr1.x.y", a.ID); !errors.Is(err, market.ErrBadReceipt) {
		t.Fatalf("junk: %v", err)
	}
	_ = store.BrowserPaid
}
