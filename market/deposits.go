package market

import (
	"context"
	"fmt"
	"sync"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/store"
)

// Deposits is the wallet's on-chain side: watch-only deposit addresses
// derived from the account xpub, and the watcher that credits them.
type Deposits struct {
	st        store.ChainStore
	deriver   *chain.Deriver
	network   string
	watcher   *chain.Watcher
	scripts   *scriptSet
	events    *Hub
	maxUnused int
}

var _ Chain = (*Deposits)(nil)

// DepositsConfig configures the deposit side.
type DepositsConfig struct {
	Network       string
	Deriver       *chain.Deriver
	Source        chain.Source
	Params        *chaincfg.Params
	Confirmations int
	MaxUnused     int // unused addresses across all accounts (default 100000)
	Events        *Hub
	Logger        *log.Logger
}

// NewDeposits loads the watched scripts and builds the watcher.
func NewDeposits(ctx context.Context, st store.ChainStore, c DepositsConfig) (*Deposits, error) {
	scripts, err := st.WatchedScripts(ctx)
	if err != nil {
		return nil, fmt.Errorf("deposits: %w", err)
	}
	set := &scriptSet{m: make(map[string]struct{}, len(scripts))}
	for _, s := range scripts {
		set.add(s)
	}
	if c.MaxUnused <= 0 {
		c.MaxUnused = 100_000
	}
	d := &Deposits{st: st, deriver: c.Deriver, network: c.Network, scripts: set, events: c.Events, maxUnused: c.MaxUnused}
	d.watcher = chain.NewWatcher(c.Source, watcherStore{d: d}, c.Params, c.Confirmations, c.Logger)
	return d, nil
}

// SetEvents points wallet notifications at the market's hub.
func (d *Deposits) SetEvents(h *Hub) { d.events = h }

// Run follows the chain until ctx ends.
func (d *Deposits) Run(ctx context.Context) error { return d.watcher.Run(ctx) }

// Sync runs one pass of the watcher (tests).
func (d *Deposits) Sync(ctx context.Context) error { return d.watcher.Sync(ctx) }

// DepositAddress returns the account's current unused address.
func (d *Deposits) DepositAddress(ctx context.Context, account string) (string, error) {
	var issued []byte
	addr, err := d.st.DepositAddress(ctx, account, func(i uint32) (string, []byte, error) {
		a, script, err := d.deriver.Address(i)
		issued = script
		return a, script, err
	}, d.maxUnused)
	if err != nil {
		return "", err
	}
	if issued != nil {
		d.scripts.add(issued)
		d.watcher.Notify() // a deposit may already be waiting in the mempool
	}
	return addr, nil
}

// Status reports the watcher's state.
func (d *Deposits) Status() ChainStatus {
	s := d.watcher.Status()
	return ChainStatus{Network: d.network, Enabled: true, Reachable: s.Reachable, Height: s.Height, Error: s.LastError}
}

func (d *Deposits) changed() {
	if d.events != nil {
		d.events.Publish(Event{Kind: WalletChanged})
	}
}

// scriptSet is the watched scripts, shared by the watcher and new issues.
type scriptSet struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

func (s *scriptSet) add(script []byte) {
	s.mu.Lock()
	s.m[string(script)] = struct{}{}
	s.mu.Unlock()
}

func (s *scriptSet) has(script []byte) bool {
	s.mu.RLock()
	_, ok := s.m[string(script)]
	s.mu.RUnlock()
	return ok
}

// watcherStore adapts the store to the watcher's persistence interface.
type watcherStore struct{ d *Deposits }

func (w watcherStore) Cursor(ctx context.Context) ([]chain.Cursor, error) {
	rows, err := w.d.st.ChainCursor(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]chain.Cursor, 0, len(rows))
	for _, r := range rows {
		h, err := chainhash.NewHashFromStr(r.Hash)
		if err != nil {
			return nil, fmt.Errorf("cursor %d: %w", r.Height, err)
		}
		out = append(out, chain.Cursor{Height: r.Height, Hash: *h})
	}
	return out, nil
}

func (w watcherStore) Watched(pkScript []byte) bool { return w.d.scripts.has(pkScript) }

func (w watcherStore) ConnectBlock(ctx context.Context, c chain.Cursor, outs []chain.Output, confirmations int) error {
	err := w.d.st.ConnectBlock(ctx, store.ChainCursor{Height: c.Height, Hash: c.Hash.String()}, outputs(outs), confirmations)
	if err == nil {
		w.d.changed()
	}
	return err
}

func (w watcherStore) DisconnectBlock(ctx context.Context, c chain.Cursor) error {
	err := w.d.st.DisconnectBlock(ctx, store.ChainCursor{Height: c.Height, Hash: c.Hash.String()})
	if err == nil {
		w.d.changed()
	}
	return err
}

func (w watcherStore) SeenMempool(ctx context.Context, outs []chain.Output) error {
	err := w.d.st.SeenMempool(ctx, outputs(outs))
	if err == nil && len(outs) > 0 {
		w.d.changed()
	}
	return err
}

func outputs(outs []chain.Output) []store.ChainOutput {
	res := make([]store.ChainOutput, 0, len(outs))
	for _, o := range outs {
		res = append(res, store.ChainOutput{TxID: o.TxID.String(), Vout: o.Vout, PkScript: o.PkScript, Amount: o.Amount})
	}
	return res
}
