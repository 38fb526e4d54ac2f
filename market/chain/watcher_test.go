package chain_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/shopfile/shopfile/market/chain"
)

var (
	depositScript = append([]byte{0x00, 0x14}, make([]byte, 20)...)
	regtest       = &chaincfg.RegressionNetParams
)

func mustSync(t *testing.T, w *chain.Watcher) {
	t.Helper()
	if err := w.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func wantState(t *testing.T, s *fakeStore, balance, pending int64, kinds ...string) {
	t.Helper()
	if b := s.balance(); b != balance {
		t.Errorf("balance = %d, want %d", b, balance)
	}
	if p := s.pending(); p != pending {
		t.Errorf("pending = %d, want %d", p, pending)
	}
	if k := s.kinds(); !slices.Equal(k, kinds) {
		t.Errorf("ledger = %v, want %v", k, kinds)
	}
	if m := s.maxConnects(); m > 1 {
		t.Errorf("a block was connected %d times", m)
	}
}

func TestWatcherDepositLifecycle(t *testing.T) {
	c := newFakeChain()
	c.mineN(10)
	s := newFakeStore(depositScript)
	w := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w)
	if tip := s.tip(); tip.Height != 10 {
		t.Fatalf("cursor at %d, want 10", tip.Height)
	}

	tx := payTx(depositScript, 100_000, 1)
	c.send(tx)
	mustSync(t, w)
	wantState(t, s, 0, 100_000) // pending, not credited
	mustSync(t, w)
	if s.seenOuts != 1 {
		t.Errorf("mempool output reported %d times, want 1", s.seenOuts)
	}

	first := c.mine(tx)
	mustSync(t, w)
	wantState(t, s, 100_000, 0, "credit")
	mustSync(t, w)
	mustSync(t, w)
	wantState(t, s, 100_000, 0, "credit") // nothing twice

	// Reorg: the block is invalidated, the tx returns to the mempool.
	c.disconnect(1, false)
	mustSync(t, w)
	wantState(t, s, 0, 100_000, "credit", "reversal")
	if tip := s.tip(); tip.Height != 10 {
		t.Errorf("cursor at %d after reorg, want 10", tip.Height)
	}

	// Re-mined in another block: credited once more.
	second := c.mineMempool()
	if second == first {
		t.Fatal("re-mined block has the same hash")
	}
	mustSync(t, w)
	mustSync(t, w)
	wantState(t, s, 100_000, 0, "credit", "reversal", "credit")
	if st := w.Status(); !st.Reachable || st.Height != 11 || st.Tip != 11 || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
}

func TestWatcherConfirmations2(t *testing.T) {
	c := newFakeChain()
	c.mineN(5)
	s := newFakeStore(depositScript)
	w := chain.NewWatcher(c, s, regtest, 2, nil)
	mustSync(t, w)

	c.mine(payTx(depositScript, 50_000, 2))
	mustSync(t, w)
	wantState(t, s, 0, 0) // one confirmation: recorded, not credited
	c.mine()
	mustSync(t, w)
	wantState(t, s, 50_000, 0, "credit")
	c.mine()
	mustSync(t, w)
	wantState(t, s, 50_000, 0, "credit")

	// A 3-block reorg that drops the tx (double-spent): reversed, and the
	// deposit is gone from the mempool too.
	c.disconnect(3, true)
	c.mineN(4)
	mustSync(t, w)
	wantState(t, s, 0, 50_000, "credit", "reversal") // known but unconfirmed
	if tip := s.tip(); tip.Height != c.height() {
		t.Errorf("cursor %d, chain %d", tip.Height, c.height())
	}

	// The same deposit confirmed again later needs two confirmations again.
	tx := payTx(depositScript, 50_000, 2)
	c.mine(tx)
	mustSync(t, w)
	wantState(t, s, 0, 0, "credit", "reversal")
	c.mine()
	mustSync(t, w)
	wantState(t, s, 50_000, 0, "credit", "reversal", "credit")
}

func TestWatcherCrashRecovery(t *testing.T) {
	c := newFakeChain()
	c.mineN(3)
	s := newFakeStore(depositScript)
	w := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w)

	// Several blocks arrive, one with a deposit; the store "crashes" while
	// connecting block 6.
	c.mine()
	c.mine(payTx(depositScript, 70_000, 3))
	c.mine()
	c.mine()
	s.failConnect = 6
	if err := w.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("Sync = %v, want the crash", err)
	}
	if tip := s.tip(); tip.Height != 5 {
		t.Fatalf("cursor at %d after crash, want 5", tip.Height)
	}
	wantState(t, s, 70_000, 0, "credit")

	// A new process: a new watcher over the same store.
	w2 := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w2)
	mustSync(t, w2)
	if tip := s.tip(); tip.Height != 7 {
		t.Fatalf("cursor at %d, want 7", tip.Height)
	}
	wantState(t, s, 70_000, 0, "credit")

	// A third watcher, after more blocks and a reorg while "down".
	c.disconnect(2, false)
	c.mineN(3)
	w3 := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w3)
	wantState(t, s, 70_000, 0, "credit")
	if tip := s.tip(); tip.Height != 8 {
		t.Fatalf("cursor at %d, want 8", tip.Height)
	}
}

func TestWatcherFreshStart(t *testing.T) {
	c := newFakeChain()
	c.mineN(250)
	s := newFakeStore()
	w := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w)
	if n := len(s.connects); n != chain.FreshStartDepth+1 {
		t.Errorf("fresh start connected %d blocks, want %d", n, chain.FreshStartDepth+1)
	}

	c2 := newFakeChain()
	c2.mineN(7)
	s2 := newFakeStore()
	mustSync(t, chain.NewWatcher(c2, s2, regtest, 1, nil))
	if n := len(s2.connects); n != 8 { // genesis .. 7
		t.Errorf("short chain: connected %d blocks, want 8", n)
	}
}

func TestWatcherDeepReorg(t *testing.T) {
	c := newFakeChain()
	c.mineN(20)
	s := newFakeStore()
	s.window = 5
	w := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w)
	before := s.tip()

	c.disconnect(6, true)
	c.mineN(8)
	err := w.Sync(context.Background())
	if !errors.Is(err, chain.ErrDeepReorg) {
		t.Fatalf("Sync = %v, want ErrDeepReorg", err)
	}
	if s.tip() != before {
		t.Error("deep reorg changed the store")
	}
	if st := w.Status(); st.LastError == "" || !st.Reachable {
		t.Errorf("status %+v", st)
	}

	// A reorg within the window is fine.
	c2 := newFakeChain()
	c2.mineN(20)
	s2 := newFakeStore()
	s2.window = 5
	w2 := chain.NewWatcher(c2, s2, regtest, 1, nil)
	mustSync(t, w2)
	c2.disconnect(4, true)
	c2.mineN(5)
	mustSync(t, w2)
	if s2.tip().Height != 21 {
		t.Errorf("cursor %d", s2.tip().Height)
	}
}

func TestWatcherReorgDuringSync(t *testing.T) {
	c := newFakeChain()
	c.mineN(5)
	s := newFakeStore(depositScript)
	w := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w)

	tx := payTx(depositScript, 10_000, 4)
	c.mine(tx)
	c.mine()
	c.mine()
	// While the watcher fetches block 7, the chain reorganises from 6 on:
	// the block at height 8 it fetches next no longer builds on block 7.
	var fired atomic.Bool
	old7 := c.best[7]
	c.onBlock = func(h chainhash.Hash) {
		if h == old7 && fired.CompareAndSwap(false, true) {
			c.disconnect(3, false)
			c.mineN(1)
			c.mineMempool()
			c.mineN(2)
		}
	}
	mustSync(t, w)
	if !fired.Load() {
		t.Fatal("reorg hook did not fire")
	}
	if got, want := s.tip().Height, c.height(); got != want {
		t.Errorf("cursor %d, chain %d", got, want)
	}
	wantState(t, s, 10_000, 0, "credit", "reversal", "credit")
}

func TestWatcherIgnoresCoinbaseAndUnwatched(t *testing.T) {
	c := newFakeChain()
	s := newFakeStore(depositScript)
	w := chain.NewWatcher(c, s, regtest, 1, nil)
	mustSync(t, w)
	c.mineCoinbaseTo(depositScript) // a coinbase paying the deposit script
	c.mine(payTx([]byte{0x53}, 99, 5))
	mustSync(t, w)
	wantState(t, s, 0, 0)
}

func TestWatcherUnreachableAndRun(t *testing.T) {
	c := newFakeChain()
	c.mineN(3)
	s := newFakeStore(depositScript)
	w := chain.NewWatcher(c, s, regtest, 1, nil)
	if st := w.Status(); st.Reachable || st.Height != -1 {
		t.Errorf("initial status %+v", st)
	}
	c.setDown(true)
	if err := w.Sync(context.Background()); !errors.Is(err, errDown) {
		t.Fatalf("Sync = %v", err)
	}
	st := w.Status()
	if st.Reachable || !strings.Contains(st.LastError, "down") {
		t.Errorf("status while down %+v", st)
	}
	downSince := st.Since
	c.setDown(false)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, func() bool { return w.Status().Height == 3 })
	if st := w.Status(); !st.Reachable || st.LastError != "" || !st.Since.After(downSince) || st.LastSync.IsZero() {
		t.Errorf("status after recovery %+v", st)
	}
	// Notify makes Run sync at once (well before the next second).
	c.send(payTx(depositScript, 5_000, 6))
	w.Notify()
	waitFor(t, func() bool { return s.pending() == 5_000 })
	c.mineMempool()
	w.Notify()
	waitFor(t, func() bool { return s.balance() == 5_000 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
