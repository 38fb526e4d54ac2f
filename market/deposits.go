package market

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
	src       chain.Source
	leader    Elector
	log       *log.Logger

	leading  atomic.Bool // this server runs the watcher now
	followMu sync.Mutex
	follow   ChainStatus // what a server that does not lead reports
}

// Elector grants leadership among the servers sharing one database, so
// work that must run in one server at a time does (*sqlstore.DB: a
// PostgreSQL advisory lock held on a connection of its own; SQLite always
// leads).
type Elector interface {
	// Lead blocks until this server leads name or ctx ends. The returned
	// context ends when the leadership is lost; release gives it up.
	Lead(ctx context.Context, name string) (lctx context.Context, release func(), err error)
}

// scriptsAfter lists addresses issued after an index, on any server
// (*sqlstore.DB).
type scriptsAfter interface {
	WatchedScriptsAfter(ctx context.Context, after int64) ([][]byte, int64, error)
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
	// Leader, when set, makes Run follow the chain only while this server
	// leads "chain-watcher" (several servers on one database).
	Leader Elector
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
	logger := c.Logger
	if logger == nil {
		logger = log.New(discard{})
	}
	d := &Deposits{st: st, deriver: c.Deriver, network: c.Network, scripts: set, events: c.Events, maxUnused: c.MaxUnused,
		src: c.Source, leader: c.Leader, log: logger, follow: ChainStatus{Network: c.Network, Enabled: true, Height: -1}}
	if sa, ok := st.(scriptsAfter); ok {
		set.last = -1 // the first refresh lists them all again: harmless
		set.lister = sa
	}
	d.watcher = chain.NewWatcher(c.Source, watcherStore{d: d}, c.Params, c.Confirmations, c.Logger)
	return d, nil
}

// SetEvents points wallet notifications at the market's hub.
func (d *Deposits) SetEvents(h *Hub) { d.events = h }

// Run follows the chain until ctx ends. With a Leader it does so only
// while this server leads (the others wait to take over, and meanwhile
// report the node's reachability and the shared cursor's height); also
// runs under the same leadership (the payout loop).
func (d *Deposits) Run(ctx context.Context, also ...func(context.Context) error) error {
	if d.leader == nil {
		d.leading.Store(true)
		for _, f := range also {
			go func() { _ = f(ctx) }()
		}
		return d.watcher.Run(ctx)
	}
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	go d.followLoop(fctx)
	for {
		lctx, release, err := d.leader.Lead(ctx, "chain-watcher")
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("chain watcher leadership: %w", err)
		}
		d.log.Info("chain watcher: this server leads")
		d.leading.Store(true)
		var wg sync.WaitGroup
		for _, f := range also {
			wg.Add(1)
			go func() { defer wg.Done(); _ = f(lctx) }()
		}
		err = d.watcher.Run(lctx)
		d.leading.Store(false)
		release()
		wg.Wait()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.log.Warn("chain watcher: leadership lost; waiting to take it again", "err", err)
	}
}

// Leading reports whether this server runs the chain watcher now.
func (d *Deposits) Leading() bool { return d.leading.Load() }

// followLoop keeps the status of a server that does not lead: whether it
// reaches the node, and the height the leader has processed.
func (d *Deposits) followLoop(ctx context.Context) {
	const every = 3 * time.Second
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !d.leading.Load() {
			st := ChainStatus{Network: d.network, Enabled: true, Height: -1}
			tctx, cancel := context.WithTimeout(ctx, every)
			_, _, err := d.src.Tip(tctx)
			cancel()
			if err == nil {
				st.Reachable = true
			} else if ctx.Err() == nil {
				st.Error = err.Error()
			}
			if cur, err := d.st.ChainCursor(ctx); err == nil && len(cur) > 0 {
				st.Height = cur[0].Height
			}
			d.followMu.Lock()
			d.follow = st
			d.followMu.Unlock()
		}
		t.Reset(every)
	}
}

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

// Status reports the watcher's state (on a server that does not lead it:
// the node's reachability and the shared cursor).
func (d *Deposits) Status() ChainStatus {
	if d.leader != nil && !d.leading.Load() {
		d.followMu.Lock()
		defer d.followMu.Unlock()
		return d.follow
	}
	s := d.watcher.Status()
	return ChainStatus{Network: d.network, Enabled: true, Reachable: s.Reachable, Height: s.Height, Error: s.LastError}
}

func (d *Deposits) changed() {
	if d.events != nil {
		d.events.Publish(Event{Kind: WalletChanged})
	}
}

// scriptSet is the watched scripts, shared by the watcher and new issues.
// With a lister it also picks up addresses other servers issued.
type scriptSet struct {
	mu     sync.RWMutex
	m      map[string]struct{}
	lister scriptsAfter
	last   int64 // the highest address index listed
}

// refresh adds the addresses issued since the last refresh, by any server.
func (s *scriptSet) refresh(ctx context.Context) error {
	if s.lister == nil {
		return nil
	}
	s.mu.RLock()
	after := s.last
	s.mu.RUnlock()
	scripts, last, err := s.lister.WatchedScriptsAfter(ctx, after)
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, sc := range scripts {
		s.m[string(sc)] = struct{}{}
	}
	s.last = max(s.last, last)
	s.mu.Unlock()
	return nil
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
	// The watcher asks for the cursor after it read the node's tip: every
	// address a transaction up to that tip can pay was issued (on any
	// server) before, so it is in the set before any block is scanned.
	if err := w.d.scripts.refresh(ctx); err != nil {
		return nil, fmt.Errorf("watched scripts: %w", err)
	}
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
