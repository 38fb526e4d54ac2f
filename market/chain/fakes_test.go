package chain_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/shopfile/shopfile/market/chain"
)

// fakeChain is an in-memory chain Source with reorgs and a mempool.
type fakeChain struct {
	mu      sync.Mutex
	blocks  map[chainhash.Hash]*wire.MsgBlock
	best    []chainhash.Hash // best[h] is the hash at height h
	mempool []*wire.MsgTx
	n       uint32
	down    bool
	// onBlock, if set, runs (unlocked) before Block returns; tests use it
	// to change the chain in the middle of a sync.
	onBlock func(h chainhash.Hash)
}

var errDown = errors.New("fake node down")

func newFakeChain() *fakeChain {
	c := &fakeChain{blocks: map[chainhash.Hash]*wire.MsgBlock{}}
	c.best = append(c.best, c.newBlock(chainhash.Hash{}, nil))
	return c
}

// newBlock builds (and stores) a block on prev. Caller holds mu or owns c.
func (c *fakeChain) newBlock(prev chainhash.Hash, txs []*wire.MsgTx) chainhash.Hash {
	return c.newBlockTo(prev, []byte{0x51}, txs)
}

// newBlockTo is newBlock with the coinbase paying cbScript.
func (c *fakeChain) newBlockTo(prev chainhash.Hash, cbScript []byte, txs []*wire.MsgTx) chainhash.Hash {
	c.n++
	tag := make([]byte, 8)
	binary.BigEndian.PutUint32(tag, c.n)
	cb := wire.NewMsgTx(1)
	cb.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&chainhash.Hash{}, wire.MaxPrevOutIndex), tag, nil))
	cb.AddTxOut(wire.NewTxOut(50_0000_0000, cbScript))
	b := wire.NewMsgBlock(wire.NewBlockHeader(1, &prev, &chainhash.Hash{}, 0, c.n))
	b.Header.Timestamp = time.Unix(int64(1_600_000_000+c.n), 0)
	b.AddTransaction(cb)
	for _, tx := range txs {
		b.AddTransaction(tx)
	}
	h := b.BlockHash()
	c.blocks[h] = b
	return h
}

// mine adds a block with txs on the tip and drops them from the mempool.
func (c *fakeChain) mine(txs ...*wire.MsgTx) chainhash.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mineLocked(txs)
}

func (c *fakeChain) mineLocked(txs []*wire.MsgTx) chainhash.Hash {
	h := c.newBlock(c.best[len(c.best)-1], txs)
	c.best = append(c.best, h)
	in := map[chainhash.Hash]bool{}
	for _, tx := range txs {
		in[tx.TxHash()] = true
	}
	kept := c.mempool[:0]
	for _, tx := range c.mempool {
		if !in[tx.TxHash()] {
			kept = append(kept, tx)
		}
	}
	c.mempool = kept
	return h
}

// mineCoinbaseTo adds a block whose coinbase pays script.
func (c *fakeChain) mineCoinbaseTo(script []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.best = append(c.best, c.newBlockTo(c.best[len(c.best)-1], script, nil))
}

// mineN adds n empty blocks.
func (c *fakeChain) mineN(n int) {
	for range n {
		c.mine()
	}
}

// mineMempool mines a block with everything in the mempool.
func (c *fakeChain) mineMempool() chainhash.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mineLocked(append([]*wire.MsgTx(nil), c.mempool...))
}

// disconnect removes the top n blocks; their transactions return to the
// mempool unless drop is set (as if double-spent).
func (c *fakeChain) disconnect(n int, drop bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		top := c.best[len(c.best)-1]
		c.best = c.best[:len(c.best)-1]
		if !drop {
			c.mempool = append(c.mempool, c.blocks[top].Transactions[1:]...)
		}
	}
}

func (c *fakeChain) send(tx *wire.MsgTx) {
	c.mu.Lock()
	c.mempool = append(c.mempool, tx)
	c.mu.Unlock()
}

func (c *fakeChain) setDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

func (c *fakeChain) height() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.best) - 1)
}

func (c *fakeChain) Tip(context.Context) (int64, chainhash.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return 0, chainhash.Hash{}, errDown
	}
	return int64(len(c.best) - 1), c.best[len(c.best)-1], nil
}

func (c *fakeChain) BlockHash(_ context.Context, h int64) (chainhash.Hash, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return chainhash.Hash{}, errDown
	}
	if h < 0 || h >= int64(len(c.best)) {
		return chainhash.Hash{}, fmt.Errorf("block height %d out of range", h)
	}
	return c.best[h], nil
}

func (c *fakeChain) Block(_ context.Context, h chainhash.Hash) (*wire.MsgBlock, error) {
	c.mu.Lock()
	b, ok := c.blocks[h]
	down, hook := c.down, c.onBlock
	c.mu.Unlock()
	if down {
		return nil, errDown
	}
	if !ok {
		return nil, fmt.Errorf("block %s not found", h)
	}
	if hook != nil {
		hook(h)
	}
	return b, nil
}

func (c *fakeChain) Mempool(context.Context) ([]*wire.MsgTx, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, errDown
	}
	return append([]*wire.MsgTx(nil), c.mempool...), nil
}

// payTx returns a transaction paying amount to script (its input is made
// up and unique).
func payTx(script []byte, amount int64, tag uint32) *wire.MsgTx {
	var prev chainhash.Hash
	binary.BigEndian.PutUint32(prev[:], tag)
	prev[31] = 0xee
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(&prev, 0), []byte{0x01}, nil))
	tx.AddTxOut(wire.NewTxOut(amount, script))
	tx.AddTxOut(wire.NewTxOut(1234, []byte{0x52})) // not watched
	return tx
}

// fakeStore is an in-memory Store that follows the contract the SQL store
// implements, and checks the watcher calls it in a consistent order.
type fakeStore struct {
	mu       sync.Mutex
	window   int // cursor entries kept
	watched  map[string]bool
	cursor   []chain.Cursor // newest first
	deposits map[wire.OutPoint]*deposit
	ledger   []entry
	connects map[chainhash.Hash]int // ConnectBlock calls that changed something
	seenOuts int                    // outputs passed to SeenMempool
	// failConnect, if > 0, makes ConnectBlock at that height fail once
	// without changing anything (a crash before commit).
	failConnect int64
}

type deposit struct {
	out      chain.Output
	block    *chain.Cursor // nil while unconfirmed
	credited bool
}

type entry struct {
	kind   string // "credit" or "reversal"
	op     wire.OutPoint
	amount int64
}

func newFakeStore(scripts ...[]byte) *fakeStore {
	s := &fakeStore{window: 100, watched: map[string]bool{}, deposits: map[wire.OutPoint]*deposit{}, connects: map[chainhash.Hash]int{}}
	for _, sc := range scripts {
		s.watched[string(sc)] = true
	}
	return s
}

func (s *fakeStore) Cursor(context.Context) ([]chain.Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]chain.Cursor(nil), s.cursor...), nil
}

func (s *fakeStore) Watched(pkScript []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watched[string(pkScript)]
}

func (s *fakeStore) ConnectBlock(_ context.Context, c chain.Cursor, outs []chain.Output, confs int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cursor) > 0 && s.cursor[0] == c {
		return nil // already connected: change nothing
	}
	if s.failConnect > 0 && c.Height == s.failConnect {
		s.failConnect = 0
		return errors.New("simulated crash")
	}
	if len(s.cursor) > 0 && c.Height != s.cursor[0].Height+1 {
		return fmt.Errorf("connect %d on cursor %d", c.Height, s.cursor[0].Height)
	}
	for _, o := range outs {
		op := wire.OutPoint{Hash: o.TxID, Index: o.Vout}
		d := s.deposits[op]
		if d == nil {
			d = &deposit{out: o}
			s.deposits[op] = d
		}
		cc := c
		d.block = &cc
	}
	for op, d := range s.deposits {
		if d.block != nil && !d.credited && c.Height-d.block.Height+1 >= int64(confs) {
			d.credited = true
			s.ledger = append(s.ledger, entry{"credit", op, d.out.Amount})
		}
	}
	s.cursor = append([]chain.Cursor{c}, s.cursor...)
	if len(s.cursor) > s.window {
		s.cursor = s.cursor[:s.window]
	}
	s.connects[c.Hash]++
	return nil
}

func (s *fakeStore) DisconnectBlock(_ context.Context, c chain.Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cursor) == 0 || s.cursor[0] != c {
		return fmt.Errorf("disconnect %d %s: not the cursor tip", c.Height, c.Hash)
	}
	for op, d := range s.deposits {
		if d.block != nil && *d.block == c {
			if d.credited {
				s.ledger = append(s.ledger, entry{"reversal", op, d.out.Amount})
				d.credited = false
			}
			d.block = nil
		}
	}
	s.cursor = s.cursor[1:]
	return nil
}

func (s *fakeStore) SeenMempool(_ context.Context, outs []chain.Output) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range outs {
		op := wire.OutPoint{Hash: o.TxID, Index: o.Vout}
		if s.deposits[op] == nil {
			s.deposits[op] = &deposit{out: o}
		}
	}
	s.seenOuts += len(outs)
	return nil
}

// balance is credits minus reversals.
func (s *fakeStore) balance() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b int64
	for _, e := range s.ledger {
		if e.kind == "credit" {
			b += e.amount
		} else {
			b -= e.amount
		}
	}
	return b
}

// pending sums deposits known but not confirmed.
func (s *fakeStore) pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var p int64
	for _, d := range s.deposits {
		if d.block == nil {
			p += d.out.Amount
		}
	}
	return p
}

// kinds lists the ledger entry kinds in order.
func (s *fakeStore) kinds() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var k []string
	for _, e := range s.ledger {
		k = append(k, e.kind)
	}
	return k
}

func (s *fakeStore) tip() chain.Cursor {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cursor) == 0 {
		return chain.Cursor{Height: -1}
	}
	return s.cursor[0]
}

// maxConnects is the largest number of times one block was connected.
func (s *fakeStore) maxConnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := 0
	for _, n := range s.connects {
		m = max(m, n)
	}
	return m
}
