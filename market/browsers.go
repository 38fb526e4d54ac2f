package market

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/market/receipt"
	"github.com/shopfile/shopfile/store"
)

// Paired browsers: a reader runs `pair` over SSH and opens the one-time
// link it prints; that browser then holds a session of the reader's
// account with a per-purchase cap and a daily cap the reader chose. A
// click on a pay button within both caps buys at once (the same Buy as
// SSH); above either, the button asks first. Caps are enforced by a
// guarded reservation in the store before the purchase, settled or
// released after it, so racing clicks cannot pass a cap together.

// Pairing and browser-session rules.
const (
	PairingTTL            = 10 * time.Minute // a pairing link must be opened within this
	PairingWindow         = 10 * time.Minute // per-account rate limit window ...
	PairingsPerWindow     = 5                // ... and how many links it allows
	BrowserSessionTTL     = 180 * 24 * time.Hour
	DefaultPerPurchaseCap = 300  // sats, when the reader names none
	DefaultDailyCap       = 1000 // sats per UTC day, when the reader names none
	MaxBrowserCap         = 10_000_000
	MaxBrowserLabel       = 64
	// ConfirmDelay is the least time between the answer that asks for
	// confirmation and the confirming click: a double click on a hidden
	// button never confirms.
	ConfirmDelay = 400 * time.Millisecond
	ConfirmTTL   = 5 * time.Minute
	// staleReservation: a click still reserved after this (its request
	// died) may be retried with the same click id.
	staleReservation = 2 * time.Minute
)

// ErrTooMany: a rate limit was reached; nothing was done.
var ErrTooMany = store.ErrRateLimited

// BrowserCaps are what a paired browser may spend without asking.
type BrowserCaps struct {
	PerPurchaseSats int64
	DailySats       int64
}

// withDefaults fills unset caps and checks them.
func (c BrowserCaps) withDefaults() (BrowserCaps, error) {
	if c.PerPurchaseSats == 0 {
		c.PerPurchaseSats = DefaultPerPurchaseCap
	}
	if c.DailySats == 0 {
		c.DailySats = DefaultDailyCap
	}
	if c.PerPurchaseSats < 0 || c.DailySats < 0 || c.PerPurchaseSats > MaxBrowserCap || c.DailySats > MaxBrowserCap {
		return c, fmt.Errorf("caps must be whole numbers of satoshis from 1 to %d: %w", MaxBrowserCap, ErrInvalid)
	}
	return c, nil
}

// PairingLink is a one-time link that pairs a browser with an account.
type PairingLink struct {
	URL       string
	ExpiresAt time.Time
	Caps      BrowserCaps // suggested; the reader confirms or changes them
}

// secretHash is how tokens and cookie secrets are kept: never in clear.
func secretHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// validSecret: the shape newSecret makes, so junk never reaches the store.
func validSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// NewPairing makes a pairing link for the actor: at most
// PairingsPerWindow per PairingWindow, valid for PairingTTL, usable once.
func (m *Market) NewPairing(ctx context.Context, actor *store.Account, caps BrowserCaps) (PairingLink, error) {
	if m.cfg.HTTPURL == "" {
		return PairingLink{}, fmt.Errorf("this shop has no web face (serve --http-addr): %w", ErrUnavailable)
	}
	caps, err := caps.withDefaults()
	if err != nil {
		return PairingLink{}, err
	}
	tok, err := newSecret()
	if err != nil {
		return PairingLink{}, err
	}
	now := m.now()
	p := &store.Pairing{TokenHash: secretHash(tok), Account: actor.ID, PerPurchaseCap: caps.PerPurchaseSats, DailyCap: caps.DailySats,
		CreatedAt: now.UnixMicro(), ExpiresAt: now.Add(PairingTTL).UnixMicro()}
	if err := m.st.CreatePairing(ctx, p, now.Add(-PairingWindow).UnixMicro(), PairingsPerWindow); err != nil {
		if errors.Is(err, store.ErrRateLimited) {
			return PairingLink{}, fmt.Errorf("at most %d pairing links per %s; wait a few minutes: %w", PairingsPerWindow, PairingWindow, ErrTooMany)
		}
		return PairingLink{}, storeErr(err, "pairing link")
	}
	m.log.Info("pairing link", "account", actor.ID)
	return PairingLink{URL: strings.TrimRight(m.cfg.HTTPURL, "/") + "/pair/" + tok, ExpiresAt: time.UnixMicro(p.ExpiresAt), Caps: caps}, nil
}

// PairingOffer is what an unused pairing link offers, for the page that
// asks the reader to confirm it.
type PairingOffer struct {
	Account   string
	Caps      BrowserCaps
	ExpiresAt time.Time
}

// PairingOffer looks a live pairing link up without using it.
func (m *Market) PairingOffer(ctx context.Context, token string) (PairingOffer, error) {
	if !validSecret(token) {
		return PairingOffer{}, fmt.Errorf("this pairing link is not valid: %w", ErrNotFound)
	}
	p, err := m.st.Pairing(ctx, secretHash(token), m.now().UnixMicro())
	if err != nil {
		return PairingOffer{}, pairingErr(err)
	}
	return PairingOffer{Account: p.Account, Caps: BrowserCaps{PerPurchaseSats: p.PerPurchaseCap, DailySats: p.DailyCap},
		ExpiresAt: time.UnixMicro(p.ExpiresAt)}, nil
}

func pairingErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("this pairing link is unknown, used or expired; run `pair` again: %w", ErrNotFound)
	}
	return storeErr(err, "pairing link")
}

// BrowserSession is a paired browser as its account sees it.
type BrowserSession struct {
	ID              string
	Account         string
	Label           string
	Caps            BrowserCaps
	SpentTodaySats  int64 // reserved or paid since 00:00 UTC
	CreatedAt       time.Time
	LastUsedAt      time.Time
	ExpiresAt       time.Time
	DailyRemaining  int64
	PerPurchaseLeft int64 // min(per-purchase cap, daily remaining)
}

func browserSession(s *store.BrowserSession) BrowserSession {
	b := BrowserSession{ID: s.ID, Account: s.Account, Label: s.Label, Caps: BrowserCaps{PerPurchaseSats: s.PerPurchaseCap, DailySats: s.DailyCap},
		SpentTodaySats: s.SpentToday, CreatedAt: time.UnixMicro(s.CreatedAt), LastUsedAt: time.UnixMicro(s.LastUsedAt),
		ExpiresAt: time.UnixMicro(s.ExpiresAt)}
	b.DailyRemaining = max(0, s.DailyCap-s.SpentToday)
	b.PerPurchaseLeft = min(s.PerPurchaseCap, b.DailyRemaining)
	return b
}

// utcDay numbers days from 1970-01-01 UTC: daily caps reset at midnight UTC.
func utcDay(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// CleanLabel makes a browser's self-description safe to store and list.
func CleanLabel(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for len(s) > MaxBrowserLabel {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// Pair uses a pairing link once and returns the new session and the
// secret its cookie holds (shown once, kept only as a hash).
func (m *Market) Pair(ctx context.Context, token string, caps BrowserCaps, label string) (BrowserSession, string, error) {
	if !validSecret(token) {
		return BrowserSession{}, "", fmt.Errorf("this pairing link is not valid: %w", ErrNotFound)
	}
	caps, err := caps.withDefaults()
	if err != nil {
		return BrowserSession{}, "", err
	}
	secret, err := newSecret()
	if err != nil {
		return BrowserSession{}, "", err
	}
	now := m.now()
	s := &store.BrowserSession{ID: ids.New("b", now), SecretHash: secretHash(secret), Label: CleanLabel(label),
		PerPurchaseCap: caps.PerPurchaseSats, DailyCap: caps.DailySats, CreatedAt: now.UnixMicro(), LastUsedAt: now.UnixMicro(),
		ExpiresAt: now.Add(BrowserSessionTTL).UnixMicro()}
	if err := m.st.ConsumePairing(ctx, secretHash(token), s); err != nil {
		return BrowserSession{}, "", pairingErr(err)
	}
	m.log.Info("browser paired", "account", s.Account, "session", s.ID)
	return browserSession(s), secret, nil
}

// ErrNotPaired: no live session for this browser (never paired, revoked
// or expired).
var ErrNotPaired = fmt.Errorf("this browser is not paired with a wallet (or its session was revoked): %w", ErrForbidden)

// BrowserSession finds the live session a cookie secret belongs to.
func (m *Market) BrowserSession(ctx context.Context, secret string) (BrowserSession, error) {
	if !validSecret(secret) {
		return BrowserSession{}, ErrNotPaired
	}
	now := m.now()
	s, err := m.st.BrowserSession(ctx, secretHash(secret), now.UnixMicro(), utcDay(now))
	if errors.Is(err, store.ErrNotFound) {
		return BrowserSession{}, ErrNotPaired
	}
	if err != nil {
		return BrowserSession{}, storeErr(err, "browser session")
	}
	return browserSession(s), nil
}

// BrowserSessions lists the actor's paired browsers.
func (m *Market) BrowserSessions(ctx context.Context, actor *store.Account) ([]BrowserSession, error) {
	now := m.now()
	ss, err := m.st.BrowserSessions(ctx, actor.ID, now.UnixMicro(), utcDay(now))
	if err != nil {
		return nil, storeErr(err, "browser sessions")
	}
	out := make([]BrowserSession, 0, len(ss))
	for i := range ss {
		out = append(out, browserSession(&ss[i]))
	}
	return out, nil
}

// RevokeBrowserSession ends one of the actor's sessions: from the next
// request on, that browser cannot pay.
func (m *Market) RevokeBrowserSession(ctx context.Context, actor *store.Account, id string) error {
	if !ids.Valid(id) {
		return fmt.Errorf("no session %q: %w", id, ErrNotFound)
	}
	if err := m.st.RevokeBrowserSession(ctx, actor.ID, id, m.now().UnixMicro()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("you have no live session %s (see `sessions`): %w", id, ErrNotFound)
		}
		return storeErr(err, "revoke "+id)
	}
	m.log.Info("browser session revoked", "account", actor.ID, "session", id)
	return nil
}

// BrowserPayment is the outcome of a click. Either Receipt is set (paid
// now, or earlier: Purchase.Existing), or NeedConfirm is (nothing was
// charged; the reader must confirm with ConfirmToken, after ConfirmDelay).
type BrowserPayment struct {
	Purchase     Purchase
	Account      string
	Receipt      string
	NeedConfirm  bool
	Reason       string // why confirmation is needed
	PriceSats    int64
	ConfirmToken string
}

// ValidClick: a click id the button made (random, at least 16 characters).
func ValidClick(click string) bool { return len(click) >= 16 && ids.Valid(click) }

// clickKey is the purchase's idempotency key: one per session and click,
// so a retried request never pays twice.
func clickKey(session, click string) string {
	sum := sha256.Sum256([]byte("shopfile-browser-click\x00" + session + "\x00" + click))
	return "w" + hex.EncodeToString(sum[:16])
}

// PayFromBrowser buys shopID for the session's account on one click. It
// checks the caps server-side: within both it buys at once; above either
// it charges nothing and asks for confirmation, which a later request
// carrying the ConfirmToken (not sooner than ConfirmDelay, for the same
// session, shop, click and price) gives. A shop the account already
// bought charges nothing and returns its receipt again.
func (m *Market) PayFromBrowser(ctx context.Context, sess BrowserSession, shopID, click, confirm string) (BrowserPayment, error) {
	if !ValidClick(click) {
		return BrowserPayment{}, fmt.Errorf("click id %q: %w", click, ErrInvalid)
	}
	actor, err := m.Account(ctx, sess.Account)
	if err != nil {
		return BrowserPayment{}, err
	}
	s, err := m.shop(ctx, shopID)
	if err != nil {
		return BrowserPayment{}, err
	}
	// Bought before: the receipt again, nothing charged, no cap used.
	if p, err := m.st.PurchaseFor(ctx, actor.ID, s.ID); err == nil {
		return m.paid(actor, purchaseOf(p, s.Title, true))
	} else if !errors.Is(err, store.ErrNotFound) {
		return BrowserPayment{}, storeErr(err, "ownership of "+s.ID)
	}
	if actor.ID == s.Payee || actor.ID == s.Uploader {
		return BrowserPayment{}, fmt.Errorf("you sell %s; there is nothing to buy: %w", s.ID, ErrForbidden)
	}
	price := s.PriceSats
	now := m.now()
	confirmed := confirm != "" && m.checkConfirm(confirm, sess.ID, s.ID, click, price, now)
	if confirm != "" && !confirmed {
		return BrowserPayment{}, fmt.Errorf("the confirmation expired or the price changed; click again: %w", ErrInvalid)
	}
	res, fresh, err := m.st.ReserveBrowserSpend(ctx, &store.BrowserPayment{Session: sess.ID, Click: click, Shop: s.ID, Day: utcDay(now),
		Amount: price, Confirmed: confirmed, CreatedAt: now.UnixMicro()}, !confirmed, now.Add(-staleReservation).UnixMicro())
	switch {
	case errors.Is(err, store.ErrOverCap):
		return m.askConfirm(sess, s.ID, click, price, now), nil
	case errors.Is(err, store.ErrNotFound):
		return BrowserPayment{}, ErrNotPaired
	case err != nil:
		return BrowserPayment{}, storeErr(err, "browser payment")
	}
	key := clickKey(sess.ID, click)
	if !fresh {
		if res.Status != store.BrowserPaid {
			return BrowserPayment{}, fmt.Errorf("this click is still being paid; wait a moment: %w", ErrUnavailable)
		}
		p, err := m.st.Purchase(ctx, res.Purchase)
		if err != nil {
			return BrowserPayment{}, storeErr(err, "purchase "+res.Purchase)
		}
		return m.paid(actor, purchaseOf(p, s.Title, true))
	}
	if res.Shop != s.ID {
		return BrowserPayment{}, fmt.Errorf("click id reused for another shop: %w", ErrInvalid)
	}
	// The reservation's amount bounds the charge: a price raised since is
	// refused by Buy, not charged above what the caps allowed.
	p, err := m.Buy(ctx, actor, s.ID, key, res.Amount)
	if err != nil {
		if rerr := m.st.ReleaseBrowserSpend(ctx, sess.ID, click); rerr != nil {
			m.log.Error("release browser payment", "session", sess.ID, "click", click, "err", rerr)
		}
		return BrowserPayment{}, err
	}
	charged := p.PriceSats
	if p.Existing {
		charged = 0
	}
	if err := m.st.SettleBrowserSpend(ctx, sess.ID, click, p.ID, charged, m.now().UnixMicro()); err != nil {
		// The purchase is durable; the reservation simply stays counted.
		m.log.Error("settle browser payment", "session", sess.ID, "click", click, "err", err)
	}
	m.log.Info("browser purchase", "account", actor.ID, "session", sess.ID, "shop", s.ID, "purchase", p.ID, "price", p.PriceSats,
		"existing", p.Existing, "confirmed", confirmed)
	return m.paid(actor, p)
}

func purchaseOf(p *store.Purchase, title string, existing bool) Purchase {
	return Purchase{ID: p.ID, Shop: p.Shop, Title: title, PriceSats: p.PriceSats, FeeSats: p.FeeSats, Existing: existing,
		At: time.UnixMicro(p.CreatedAt)}
}

func (m *Market) paid(actor *store.Account, p Purchase) (BrowserPayment, error) {
	tok, err := m.signReceipt(actor.ID, p.Shop, p.ID, p.PriceSats, p.At)
	if err != nil {
		return BrowserPayment{}, err
	}
	return BrowserPayment{Purchase: p, Account: actor.ID, Receipt: tok, PriceSats: p.PriceSats}, nil
}

func (m *Market) askConfirm(sess BrowserSession, shop, click string, price int64, now time.Time) BrowserPayment {
	reason := fmt.Sprintf("%d sats is above this browser's %d sats per-purchase cap", price, sess.Caps.PerPurchaseSats)
	if price <= sess.Caps.PerPurchaseSats {
		reason = fmt.Sprintf("%d sats would pass this browser's daily cap of %d sats (%d left today)", price, sess.Caps.DailySats,
			sess.DailyRemaining)
	}
	return BrowserPayment{NeedConfirm: true, Reason: reason, PriceSats: price, ConfirmToken: m.confirmToken(sess.ID, shop, click, price, now)}
}

// confirmToken is "<unix ms>.<signature>": the host key's signature over
// what is confirmed. Nothing is stored; it works on any server sharing the
// host key, and it names one session, shop, click and price.
func (m *Market) confirmToken(session, shop, click string, price int64, at time.Time) string {
	ms := strconv.FormatInt(at.UnixMilli(), 10)
	sig, err := receipt.SSH(m.host)(confirmMessage(session, shop, click, price, ms))
	if err != nil {
		m.log.Error("confirm token", "err", err)
		return ""
	}
	return ms + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func confirmMessage(session, shop, click string, price int64, ms string) []byte {
	return []byte("shopfile-confirm-v1\x00" + session + "\x00" + shop + "\x00" + click + "\x00" + strconv.FormatInt(price, 10) + "\x00" + ms)
}

func (m *Market) checkConfirm(tok, session, shop, click string, price int64, now time.Time) bool {
	msStr, sigStr, ok := strings.Cut(tok, ".")
	ms, err := strconv.ParseInt(msStr, 10, 64)
	if !ok || err != nil {
		return false
	}
	at := time.UnixMilli(ms)
	if now.Before(at.Add(ConfirmDelay)) || now.After(at.Add(ConfirmTTL)) {
		return false
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(sigStr)
	if err != nil {
		return false
	}
	pub, err := receipt.SSHKey(m.host.PublicKey())
	if err != nil {
		return false
	}
	want := confirmMessage(session, shop, click, price, msStr)
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, want, sig)
}

// ReceiptKey is the Ed25519 public key receipts verify with: the host key.
func (m *Market) ReceiptKey() ed25519.PublicKey {
	pub, err := receipt.SSHKey(m.host.PublicKey())
	if err != nil {
		return nil // market.New's host key is always ssh-ed25519 (keys.HostKey)
	}
	return pub
}

func (m *Market) signReceipt(account, shop, purchase string, price int64, at time.Time) (string, error) {
	tok, err := receipt.Sign(receipt.SSH(m.host), receipt.Claims{Shop: shop, Account: account, Purchase: purchase, PriceSats: price,
		At: at.UTC().Format(time.RFC3339)})
	if err != nil {
		return "", fmt.Errorf("receipt for %s: %w", purchase, err)
	}
	return tok, nil
}

// Receipt signs a receipt of the actor's purchase of a shop, for programs
// that fetch /s/SHOP/content with it.
func (m *Market) Receipt(ctx context.Context, actor *store.Account, shopID string) (string, receipt.Claims, error) {
	s, err := m.shop(ctx, shopID)
	if err != nil {
		return "", receipt.Claims{}, err
	}
	p, err := m.st.PurchaseFor(ctx, actor.ID, s.ID)
	if errors.Is(err, store.ErrNotFound) {
		return "", receipt.Claims{}, fmt.Errorf("you have not bought %s (buy it first): %w", s.ID, ErrForbidden)
	}
	if err != nil {
		return "", receipt.Claims{}, storeErr(err, "purchase of "+s.ID)
	}
	tok, err := m.signReceipt(actor.ID, s.ID, p.ID, p.PriceSats, time.UnixMicro(p.CreatedAt))
	if err != nil {
		return "", receipt.Claims{}, err
	}
	c, err := receipt.Verify(m.ReceiptKey(), tok)
	return tok, c, err
}

// ErrBadReceipt: a receipt that is forged, damaged, for another shop, or
// names a purchase its buyer does not hold.
var ErrBadReceipt = fmt.Errorf("%w: %w", ErrForbidden, receipt.ErrInvalid)

// CheckReceipt verifies a receipt for shopID: the host key's signature,
// the shop it names, and that its purchase exists and belongs to the
// buyer it names. It returns that buyer's account.
func (m *Market) CheckReceipt(ctx context.Context, tok, shopID string) (*store.Account, receipt.Claims, error) {
	c, err := receipt.Verify(m.ReceiptKey(), tok)
	if err != nil {
		return nil, receipt.Claims{}, fmt.Errorf("%w: %w", ErrBadReceipt, err)
	}
	if err := c.For(shopID, ""); err != nil {
		return nil, receipt.Claims{}, fmt.Errorf("%w: %w", ErrBadReceipt, err)
	}
	p, err := m.st.Purchase(ctx, c.Purchase)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (p.Buyer != c.Account || p.Shop != c.Shop)) {
		return nil, receipt.Claims{}, fmt.Errorf("the receipt's purchase is not its buyer's: %w", ErrBadReceipt)
	}
	if err != nil {
		return nil, receipt.Claims{}, storeErr(err, "purchase "+c.Purchase)
	}
	a, err := m.Account(ctx, c.Account)
	if err != nil {
		return nil, receipt.Claims{}, err
	}
	return a, c, nil
}

// ButtonSnippet is the HTML a publisher pastes into a page to sell the
// shop there: the shop's button.js, which renders a pay button showing the
// live price. Shop ids are [a-z0-9] tokens, so nothing needs escaping.
func ButtonSnippet(httpURL, shopID string) string {
	return `<script src="` + strings.TrimRight(httpURL, "/") + `/button.js" data-shop="` + shopID + `" async></script>`
}

// Button returns the snippet for a shop; only its payee may ask.
func (m *Market) Button(ctx context.Context, actor *store.Account, shopID string) (string, error) {
	s, err := m.shop(ctx, shopID)
	if err != nil {
		return "", err
	}
	if actor.ID != s.Payee {
		return "", fmt.Errorf("only the payee of %s may put its button on a page: %w", s.ID, ErrForbidden)
	}
	if m.cfg.HTTPURL == "" {
		return "", fmt.Errorf("this shop has no web face (serve --http-addr): %w", ErrUnavailable)
	}
	return ButtonSnippet(m.cfg.HTTPURL, s.ID), nil
}
