package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/charmbracelet/log"
)

// FreshStartDepth is how far below the node's tip a shop with no cursor
// starts scanning. Deposit addresses are issued only once the shop runs, so
// no deposit can be older than the first start: there is nothing to find in
// old blocks, and scanning the whole chain (hundreds of GB on mainnet) would
// be waste. Starting a little below the tip instead of at it fills the
// cursor window at once, so a reorg right after the first start is still
// followed, and costs only ~100 blocks once.
const FreshStartDepth = 100

// Source is what the watcher reads from a node. *Client satisfies it.
type Source interface {
	// Tip returns the height and hash of the best block.
	Tip(ctx context.Context) (height int64, hash chainhash.Hash, err error)
	// BlockHash returns the hash of the best-chain block at height.
	BlockHash(ctx context.Context, height int64) (chainhash.Hash, error)
	// Block returns a block by hash.
	Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error)
	// Mempool returns the unconfirmed transactions.
	Mempool(ctx context.Context) ([]*wire.MsgTx, error)
}

// Cursor is one processed block.
type Cursor struct {
	Height int64
	Hash   chainhash.Hash
}

// Output is an output paying a watched script.
type Output struct {
	TxID     chainhash.Hash
	Vout     uint32
	PkScript []byte
	Amount   int64 // satoshis, from wire.TxOut.Value
}

// Store is the persistence the watcher drives. The shop implements it in
// SQL; every method must be safe to call again after a crash.
type Store interface {
	// Cursor: the processed chain tip and the few blocks below it (newest
	// first, up to 100); empty on a fresh shop.
	Cursor(ctx context.Context) ([]Cursor, error)
	// Watched reports whether pkScript belongs to an issued deposit address
	// (the store keeps the set; the watcher asks per output, so it must be
	// cheap, e.g. an in-memory set refreshed as addresses are issued).
	Watched(pkScript []byte) bool
	// ConnectBlock, in ONE database transaction: record outs (confirmed in
	// block c at c.Height), credit every uncredited confirmed deposit whose
	// confirmations at the new tip (tip-height+1, tip = c.Height) reach
	// confirmations, and set the cursor to c. Re-running it for an
	// already-connected block must change nothing (exactly once across
	// crashes).
	ConnectBlock(ctx context.Context, c Cursor, outs []Output, confirmations int) error
	// DisconnectBlock, in ONE transaction: reverse the credits of deposits
	// confirmed in block c (new ledger transfers, never deletes), mark those
	// deposits unconfirmed again, and drop c from the cursor.
	DisconnectBlock(ctx context.Context, c Cursor) error
	// SeenMempool records outputs seen unconfirmed (shown as pending, never
	// credited); idempotent.
	SeenMempool(ctx context.Context, outs []Output) error
}

// Status is a snapshot of the watcher's state.
type Status struct {
	// Reachable: the last attempt to reach the node succeeded.
	Reachable bool
	// Height is the height of the last processed block (-1 before the
	// first one).
	Height int64
	// Tip is the node's best height at the last successful contact.
	Tip int64
	// LastError is the error of the last Sync, "" if it succeeded.
	LastError string
	// Since is when Reachable last changed (or the watcher was created).
	Since time.Time
	// LastSync is when a Sync last completed without error.
	LastSync time.Time
}

// ErrDeepReorg is wrapped by Sync when none of the stored cursor blocks is
// in the node's best chain any more: the reorg is deeper than the window the
// store keeps (or the node now follows a different chain, e.g. a wiped
// regtest node). It cannot be repaired automatically.
var ErrDeepReorg = errors.New("reorganisation deeper than the stored cursor window")

// Watcher follows the node's best chain block by block and drives a Store.
// Create it with NewWatcher; Sync, Run, Notify and Status are safe for
// concurrent use (Syncs are serialised).
type Watcher struct {
	src    Source
	st     Store
	params *chaincfg.Params
	confs  int
	log    *log.Logger
	notify chan struct{}

	syncMu   sync.Mutex
	reported map[wire.OutPoint]struct{} // mempool outputs already passed to SeenMempool; guarded by syncMu

	mu     sync.Mutex
	status Status
}

// NewWatcher returns a watcher that credits deposits at the given number
// of confirmations (values below 1 mean 1: unconfirmed deposits are never
// credited). logger may be nil.
func NewWatcher(src Source, st Store, params *chaincfg.Params, confirmations int, logger *log.Logger) *Watcher {
	if confirmations < 1 {
		confirmations = 1
	}
	if logger == nil {
		logger = log.New(io.Discard)
	}
	return &Watcher{
		src:      src,
		st:       st,
		params:   params,
		confs:    confirmations,
		log:      logger,
		notify:   make(chan struct{}, 1),
		reported: map[wire.OutPoint]struct{}{},
		status:   Status{Height: -1, Since: time.Now()},
	}
}

// Status returns a snapshot of the watcher's state.
func (w *Watcher) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Notify asks Run to sync now (e.g. after a new deposit address was
// issued, or on a block notification). It never blocks.
func (w *Watcher) Notify() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Run syncs about every second, or at once after Notify, until ctx is
// done; then it returns ctx.Err(). While syncs fail (node unreachable, store
// errors, a deep reorg) it backs off exponentially from 1 s to 30 s and
// reports the error in Status.
func (w *Watcher) Run(ctx context.Context) error {
	const (
		interval   = time.Second
		maxBackoff = 30 * time.Second
	)
	var backoff time.Duration
	lastErr := ""
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		case <-w.notify:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		err := w.Sync(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := interval
		if err != nil {
			if backoff == 0 {
				backoff = interval
			} else {
				backoff = min(2*backoff, maxBackoff)
			}
			wait = backoff
			if msg := err.Error(); msg != lastErr || backoff == maxBackoff {
				w.log.Error("chain watcher: sync failed", "err", err, "retry_in", wait)
				lastErr = msg
			}
		} else {
			if lastErr != "" {
				w.log.Info("chain watcher: sync recovered", "height", w.Status().Height)
			}
			backoff, lastErr = 0, ""
		}
		timer.Reset(wait)
	}
}

// Sync makes one pass: it compares the stored cursor with the node's best
// chain, walks back (DisconnectBlock, newest first) to the common ancestor
// if a reorg removed processed blocks, connects every block from there to
// the tip (ConnectBlock, oldest first, each checked against its parent),
// and finally reports watched outputs in the mempool (SeenMempool). With an
// empty cursor it starts FreshStartDepth blocks below the tip (or at
// genesis). Running it again with nothing new changes nothing.
func (w *Watcher) Sync(ctx context.Context) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	err := w.sync(ctx)
	now := time.Now()
	w.mu.Lock()
	if err != nil {
		w.status.LastError = err.Error()
	} else {
		w.status.LastError = ""
		w.status.LastSync = now
	}
	w.mu.Unlock()
	return err
}

func (w *Watcher) setReachable(ok bool, tip int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status.Reachable != ok {
		w.status.Reachable = ok
		w.status.Since = time.Now()
	}
	if ok {
		w.status.Tip = tip
	}
}

func (w *Watcher) setHeight(h int64) {
	w.mu.Lock()
	w.status.Height = h
	w.mu.Unlock()
}

func (w *Watcher) sync(ctx context.Context) error {
	const maxRestarts = 5
	for attempt := 0; ; attempt++ {
		tipH, tipHash, err := w.src.Tip(ctx)
		if err != nil {
			w.setReachable(false, 0)
			return fmt.Errorf("chain tip: %w", err)
		}
		w.setReachable(true, tipH)
		restart, err := w.catchUp(ctx, tipH, tipHash)
		if err != nil {
			return err
		}
		if !restart {
			break
		}
		if attempt >= maxRestarts {
			return errors.New("the node's best chain kept changing during sync; will retry")
		}
		w.log.Warn("chain watcher: best chain changed during sync; starting over")
	}
	return w.scanMempool(ctx)
}

// catchUp brings the store from its cursor to the node's tip. restart is
// true when the chain changed under it (a block's parent was not the block
// connected just before); the caller then starts over.
func (w *Watcher) catchUp(ctx context.Context, tipH int64, tipHash chainhash.Hash) (restart bool, err error) {
	cur, err := w.st.Cursor(ctx)
	if err != nil {
		return false, fmt.Errorf("read chain cursor: %w", err)
	}
	sort.SliceStable(cur, func(i, j int) bool { return cur[i].Height > cur[j].Height })

	var next int64
	var prev chainhash.Hash
	checkPrev := false
	if len(cur) == 0 {
		next = max(0, tipH-FreshStartDepth)
		w.log.Info("chain watcher: fresh start", "from", next, "tip", tipH)
	} else {
		w.setHeight(cur[0].Height)
		anc := -1
		if cur[0].Height == tipH && cur[0].Hash == tipHash {
			anc = 0 // the common case: nothing new
		} else {
			for i, c := range cur {
				if c.Height > tipH {
					continue
				}
				h, err := w.src.BlockHash(ctx, c.Height)
				if err != nil {
					return false, fmt.Errorf("check processed block %d: %w", c.Height, err)
				}
				if h == c.Hash {
					anc = i
					break
				}
			}
		}
		if anc < 0 {
			low := cur[len(cur)-1]
			return false, fmt.Errorf("%w: none of the %d processed blocks (heights %d to %d) is in the node's best chain (tip %d %s) any more; is the node on the right chain? this needs an operator",
				ErrDeepReorg, len(cur), low.Height, cur[0].Height, tipH, tipHash)
		}
		for _, c := range cur[:anc] {
			if err := w.st.DisconnectBlock(ctx, c); err != nil {
				return false, fmt.Errorf("disconnect block %d %s: %w", c.Height, c.Hash, err)
			}
			w.log.Warn("chain watcher: reorg: block disconnected", "height", c.Height, "hash", c.Hash)
			w.setHeight(c.Height - 1)
		}
		if anc > 0 {
			// Outputs of the disconnected blocks may be back in the
			// mempool: report them again.
			clear(w.reported)
		}
		next = cur[anc].Height + 1
		prev = cur[anc].Hash
		checkPrev = true
	}

	for h := next; h <= tipH; h++ {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		hash, err := w.src.BlockHash(ctx, h)
		if err != nil {
			return false, fmt.Errorf("block hash %d: %w", h, err)
		}
		blk, err := w.src.Block(ctx, hash)
		if err != nil {
			return false, fmt.Errorf("block %d %s: %w", h, hash, err)
		}
		if got := blk.BlockHash(); got != hash {
			return false, fmt.Errorf("block %d: node returned block %s for hash %s", h, got, hash)
		}
		if checkPrev && blk.Header.PrevBlock != prev {
			return true, nil
		}
		outs := w.watchedOutputs(blk, h)
		if err := w.st.ConnectBlock(ctx, Cursor{Height: h, Hash: hash}, outs, w.confs); err != nil {
			return false, fmt.Errorf("connect block %d %s: %w", h, hash, err)
		}
		for _, o := range outs {
			w.log.Info("chain watcher: deposit in block", "address", w.addrOf(o.PkScript), "txid", o.TxID, "vout", o.Vout, "sats", o.Amount, "height", h)
		}
		if (h-next)%1000 == 999 {
			w.log.Info("chain watcher: catching up", "height", h, "tip", tipH)
		}
		w.setHeight(h)
		prev, checkPrev = hash, true
	}
	return false, nil
}

// watchedOutputs returns the outputs of blk that pay watched scripts.
// Coinbase outputs are ignored: they cannot be spent for 100 blocks and
// vanish with their block, so they are no deposit.
func (w *Watcher) watchedOutputs(blk *wire.MsgBlock, height int64) []Output {
	var outs []Output
	for i, tx := range blk.Transactions {
		var txid chainhash.Hash
		hashed := false
		for vout, out := range tx.TxOut {
			if !w.st.Watched(out.PkScript) {
				continue
			}
			if i == 0 && isCoinbase(tx) {
				w.log.Warn("chain watcher: coinbase output to a deposit address ignored", "height", height, "vout", vout, "sats", out.Value)
				continue
			}
			if !hashed {
				txid, hashed = tx.TxHash(), true
			}
			outs = append(outs, Output{TxID: txid, Vout: uint32(vout), PkScript: clone(out.PkScript), Amount: out.Value})
		}
	}
	return outs
}

// scanMempool reports watched outputs of unconfirmed transactions that
// were not reported since they entered the mempool.
func (w *Watcher) scanMempool(ctx context.Context) error {
	txs, err := w.src.Mempool(ctx)
	if err != nil {
		return fmt.Errorf("mempool: %w", err)
	}
	present := make(map[wire.OutPoint]struct{})
	var outs []Output
	for _, tx := range txs {
		if isCoinbase(tx) {
			continue
		}
		var txid chainhash.Hash
		hashed := false
		for vout, out := range tx.TxOut {
			if !w.st.Watched(out.PkScript) {
				continue
			}
			if !hashed {
				txid, hashed = tx.TxHash(), true
			}
			op := wire.OutPoint{Hash: txid, Index: uint32(vout)}
			present[op] = struct{}{}
			if _, done := w.reported[op]; done {
				continue
			}
			outs = append(outs, Output{TxID: txid, Vout: uint32(vout), PkScript: clone(out.PkScript), Amount: out.Value})
		}
	}
	// Forget what left the mempool, so it is reported again if it returns.
	for op := range w.reported {
		if _, ok := present[op]; !ok {
			delete(w.reported, op)
		}
	}
	if len(outs) == 0 {
		return nil
	}
	if err := w.st.SeenMempool(ctx, outs); err != nil {
		return fmt.Errorf("record mempool deposits: %w", err)
	}
	for _, o := range outs {
		w.reported[wire.OutPoint{Hash: o.TxID, Index: o.Vout}] = struct{}{}
		w.log.Info("chain watcher: deposit seen in mempool", "address", w.addrOf(o.PkScript), "txid", o.TxID, "vout", o.Vout, "sats", o.Amount)
	}
	return nil
}

// addrOf renders an output script as an address, for logs.
func (w *Watcher) addrOf(pkScript []byte) string {
	_, addrs, _, err := txscript.ExtractPkScriptAddrs(pkScript, w.params)
	if err != nil || len(addrs) != 1 {
		return fmt.Sprintf("script:%x", pkScript)
	}
	return addrs[0].EncodeAddress()
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// isCoinbase reports whether tx is a coinbase: one input spending the null
// outpoint.
func isCoinbase(tx *wire.MsgTx) bool {
	if len(tx.TxIn) != 1 {
		return false
	}
	prev := tx.TxIn[0].PreviousOutPoint
	return prev.Index == wire.MaxPrevOutIndex && prev.Hash == (chainhash.Hash{})
}
