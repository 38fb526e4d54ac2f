// Package market is shopfile's domain: the catalogue, wallets, purchases and
// claims. Every rule and every authorization check lives here, so the SSH
// commands and the TUI, its two faces, can do exactly the same things.
package market

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market/keys"
	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/store/blob"
	"golang.org/x/crypto/ssh"
)

// Errors the faces map to exit codes and messages. Each is wrapped with a
// message a user can act on.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("not allowed")
	ErrInvalid   = errors.New("invalid")
	// ErrInsufficientFunds: the wallet cannot cover the price; nothing charged.
	ErrInsufficientFunds = store.ErrInsufficientFunds
	ErrTooLarge          = errors.New("too large")
	// ErrPriceAboveMax: the live price rose above the buyer's --max-price.
	ErrPriceAboveMax = store.ErrPriceAboveMax
	ErrUnavailable   = errors.New("unavailable")
)

// Config holds the market's rules.
type Config struct {
	Host         string // public SSH address written into .shop files, "host[:port]"
	FeeBps       int64  // platform fee in basis points
	MaxUpload    int64  // largest plaintext accepted, bytes
	DefaultPrice int64  // price when an upload names none
	Chain        string // regtest, signet, testnet, mainnet or none
	HTTPURL      string // public base URL of the HTTP face ("http://host:port"); empty when it is off
}

// Deps are the market's collaborators, built by cmd/.
type Deps struct {
	Store  store.Store
	Blobs  blob.Store
	Ledger *ledger.Ledger
	Host   ssh.Signer       // signs .shop envelopes
	Escrow age.Recipient    // every container is also wrapped to it
	Sealer *keys.Sealer     // seals file keys at rest
	Chain  Chain            // deposits; nil when --chain none
	Logger *log.Logger      // structured logs
	Now    func() time.Time // clock, for tests
	Events *Hub             // broadcasts to open sessions; may be nil
}

// Market is the API both faces use.
type Market struct {
	cfg        Config
	st         store.Store
	blobs      blob.Store
	ledger     *ledger.Ledger
	host       ssh.Signer
	escrow     age.Recipient
	sealer     *keys.Sealer
	chain      Chain
	log        *log.Logger
	now        func() time.Time
	events     *Hub
	feeAccount int64
	dist       distribution // torrent metadata cache (distribution.go)
}

// New checks the configuration and builds the market.
func New(ctx context.Context, cfg Config, d Deps) (*Market, error) {
	if d.Store == nil || d.Blobs == nil || d.Ledger == nil || d.Host == nil || d.Escrow == nil || d.Sealer == nil {
		return nil, errors.New("market: missing dependency")
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 2 << 30
	}
	if cfg.DefaultPrice <= 0 {
		cfg.DefaultPrice = 100
	}
	if cfg.FeeBps < 0 || cfg.FeeBps > 10000 {
		return nil, fmt.Errorf("fee of %d basis points is outside 0..10000: %w", cfg.FeeBps, ErrInvalid)
	}
	m := &Market{cfg: cfg, st: d.Store, blobs: d.Blobs, ledger: d.Ledger, host: d.Host, escrow: d.Escrow,
		sealer: d.Sealer, chain: d.Chain, log: d.Logger, now: d.Now, events: d.Events}
	if m.log == nil {
		m.log = log.New(discard{})
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.events == nil {
		m.events = NewHub()
	}
	if dep, ok := d.Chain.(*Deposits); ok {
		dep.SetEvents(m.events)
	}
	fee, err := d.Store.SystemAccount(ctx, store.AccountFees, store.KindRevenue)
	if err != nil {
		return nil, fmt.Errorf("market: %w", err)
	}
	m.feeAccount = fee
	return m, nil
}

// Events is the hub sessions subscribe to for live changes.
func (m *Market) Events() *Hub { return m.events }

// Config returns the market's rules (read-only copy).
func (m *Market) Config() Config { return m.cfg }

// HostKey is the shop's public host key, as written into every container.
func (m *Market) HostKey() ssh.PublicKey { return m.host.PublicKey() }

// Login returns the account for an authenticated SSH key, creating it on
// first use. It is called after the handshake with the session's key, never
// from the auth callback.
func (m *Market) Login(ctx context.Context, key ssh.PublicKey) (*store.Account, error) {
	if key == nil {
		return nil, fmt.Errorf("no public key: %w", ErrForbidden)
	}
	id := ssh.FingerprintSHA256(key)
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	a, err := m.st.EnsureAccount(ctx, id, line)
	if err != nil {
		return nil, fmt.Errorf("login %s: %w", id, err)
	}
	return a, nil
}

// Account looks an account up by id.
func (m *Market) Account(ctx context.Context, id string) (*store.Account, error) {
	a, err := m.st.Account(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no account %s: %w", id, ErrNotFound)
	}
	return a, err
}

// Grant gives an account id a role (the operator's `admin grant`).
func (m *Market) Grant(ctx context.Context, id, role string) error {
	switch role {
	case store.RoleRightsHolder, store.RoleAdmin, store.RoleSigner:
	default:
		return fmt.Errorf("unknown role %q (rights-holder, admin or signer): %w", role, ErrInvalid)
	}
	if !strings.HasPrefix(id, "SHA256:") {
		return fmt.Errorf("account id %q is not a SHA256: fingerprint: %w", id, ErrInvalid)
	}
	return m.st.GrantRole(ctx, id, role)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// storeErr turns a store error into the market's, keeping the message.
func storeErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case errors.Is(err, store.ErrUnavailable):
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
