package market

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"
	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/store"
)

// Payouts: a withdrawal holds amount+fee at once (a pending ledger
// transfer); a signer fetches the waiting payouts as one unsigned batch
// (a PSBT), checks and signs it away from the server and submits it; the
// server stores the signed transaction, then broadcasts it, rebroadcasts it
// until it confirms, and then posts the holds (or voids them if the
// transaction can never confirm). Every step is one guarded store
// transaction, so a crash anywhere resumes where it stopped: a payout is
// in at most one live batch, a batch has one transaction, and a restart
// only rebroadcasts it.

// PayoutNode is what payouts need from btcd (*chain.Client).
type PayoutNode interface {
	SendRawTransaction(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error)
	TxState(ctx context.Context, txid chainhash.Hash) (chain.TxState, error)
	RawTransaction(ctx context.Context, txid chainhash.Hash) (*wire.MsgTx, error)
	TxOut(ctx context.Context, op wire.OutPoint, includeMempool bool) (*btcjson.GetTxOutResult, error)
	BestBlock(ctx context.Context) (int64, chainhash.Hash, error)
}

var _ PayoutNode = (*chain.Client)(nil)

// PayoutsConfig configures payouts.
type PayoutsConfig struct {
	Network string
	Params  *chaincfg.Params
	Deriver *chain.Deriver // the account xpub: change addresses and input paths
	Node    PayoutNode
	// FeeRate is the fixed fee rate of batches in sat/vB (btcd has no fee
	// estimator on regtest). Default 2.
	FeeRate int64
	// MinPayout is the smallest withdrawal (default 1000 sats); it is
	// raised to the address's dust limit and above the fee.
	MinPayout int64
	// MaxPerBatch caps the payouts of one batch (default 200).
	MaxPerBatch int
	// Confirmations before a payout is confirmed (default 1).
	Confirmations int
	// BatchExpiry drops an unsigned batch nobody signed (default 1 h);
	// its payouts go into the next one.
	BatchExpiry time.Duration
	// FailAfter is how many blocks an input must stay spent by another
	// transaction before a batch is given up and its holds voided
	// (default 6).
	FailAfter int64
	// Interval between passes of the broadcast/confirm loop (default 2 s).
	Interval time.Duration
	Events   *Hub
	Logger   *log.Logger
	Now      func() time.Time
}

// Payouts runs withdrawals for a market.
type Payouts struct {
	st   store.Store
	cfg  PayoutsConfig
	log  *log.Logger
	now  func() time.Time
	mu   sync.Mutex // one batch build or submission at a time
	kick chan struct{}
}

// NewPayouts builds the payout service.
func NewPayouts(st store.Store, cfg PayoutsConfig) (*Payouts, error) {
	if st == nil || cfg.Params == nil || cfg.Deriver == nil || cfg.Node == nil {
		return nil, errors.New("payouts: missing store, params, deriver or node")
	}
	if cfg.FeeRate <= 0 {
		cfg.FeeRate = 2
	}
	if cfg.MinPayout <= 0 {
		cfg.MinPayout = 1000
	}
	if cfg.MaxPerBatch <= 0 {
		cfg.MaxPerBatch = 200
	}
	if cfg.Confirmations <= 0 {
		cfg.Confirmations = 1
	}
	if cfg.BatchExpiry <= 0 {
		cfg.BatchExpiry = time.Hour
	}
	if cfg.FailAfter <= 0 {
		cfg.FailAfter = 6
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Network == "" {
		cfg.Network = cfg.Params.Name
	}
	p := &Payouts{st: st, cfg: cfg, log: cfg.Logger, now: cfg.Now, kick: make(chan struct{}, 1)}
	if p.log == nil {
		p.log = log.New(io.Discard)
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// PayoutChain is a market's chain side with payouts attached: pass it as
// Deps.Chain (market.New then finds the payout service through it).
type PayoutChain struct {
	Chain
	payouts *Payouts
}

// WithPayouts attaches p to the chain side c.
func WithPayouts(c Chain, p *Payouts) *PayoutChain { return &PayoutChain{Chain: c, payouts: p} }

// Payouts is the attached service.
func (c *PayoutChain) Payouts() *Payouts { return c.payouts }

// payouts is the market's payout service, or an error saying payouts are off.
func (m *Market) payouts() (*Payouts, error) {
	if pc, ok := m.chain.(*PayoutChain); ok && pc.payouts != nil {
		return pc.payouts, nil
	}
	return nil, fmt.Errorf("payouts are off: this shop runs without a Bitcoin node: %w", ErrUnavailable)
}

func (p *Payouts) publish(accounts ...string) {
	if p.cfg.Events == nil {
		return
	}
	for _, a := range accounts {
		p.cfg.Events.Publish(Event{Kind: WalletChanged, Account: a})
	}
}

// Kick wakes the broadcast/confirm loop (a new block, a submission).
func (p *Payouts) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Waiting reports whether payouts wait for a signature: some not yet in a
// batch, or an unsigned batch.
func (p *Payouts) Waiting(ctx context.Context) (bool, error) {
	if _, err := p.st.OpenBatch(ctx); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, storeErr(err, "payouts")
	}
	ps, err := p.st.UnbatchedPayouts(ctx, 1)
	if err != nil {
		return false, storeErr(err, "payouts")
	}
	return len(ps) > 0, nil
}

// PayoutView is one payout as the faces show it.
type PayoutView struct {
	ID         string
	Address    string
	AmountSats int64
	FeeSats    int64
	Status     string
	TxID       string // once signed
	At         time.Time
}

func payoutView(p store.Payout) PayoutView {
	return PayoutView{ID: p.ID, Address: p.Address, AmountSats: p.Amount, FeeSats: p.Fee, Status: p.Status, TxID: p.TxID,
		At: time.UnixMicro(p.CreatedAt)}
}

// WithdrawQuote is what a withdrawal to an address costs.
type WithdrawQuote struct {
	FeeSats       int64
	MinSats       int64 // smallest amount accepted
	AvailableSats int64 // the wallet's available balance
	MaxSats       int64 // largest amount the balance covers with the fee
}

// QuoteWithdraw validates the address for the shop's chain and returns the
// fee, the minimum and the most the actor can withdraw to it.
func (m *Market) QuoteWithdraw(ctx context.Context, actor *store.Account, address string) (WithdrawQuote, error) {
	p, err := m.payouts()
	if err != nil {
		return WithdrawQuote{}, err
	}
	_, script, err := chain.DecodeAddress(address, p.cfg.Params)
	if err != nil {
		return WithdrawQuote{}, fmt.Errorf("not a %s address: %w: %w", p.cfg.Network, ErrInvalid, err)
	}
	q := p.quote(script)
	if q.AvailableSats, err = m.Balance(ctx, actor); err != nil {
		return WithdrawQuote{}, err
	}
	q.MaxSats = max(q.AvailableSats-q.FeeSats, 0)
	return q, nil
}

func (p *Payouts) quote(script []byte) WithdrawQuote {
	fee := chain.PayoutFee(p.cfg.FeeRate, script)
	return WithdrawQuote{FeeSats: fee, MinSats: max(p.cfg.MinPayout, chain.DustLimit(script), fee+1)}
}

// maxSats is 21 million bitcoin.
const maxSats = 21_000_000 * 100_000_000

// NewWithdrawKey makes an idempotency key for one withdrawal intent.
func (m *Market) NewWithdrawKey() string { return ids.New("w", m.now()) }

// Withdraw holds amount plus the fee from the actor's wallet at once and
// queues a payout of amount to address. key makes it idempotent: a repeat
// returns the first payout and holds nothing more. Below the minimum, or
// above the available balance: refused, nothing held.
func (m *Market) Withdraw(ctx context.Context, actor *store.Account, address string, amount int64, key string) (PayoutView, error) {
	p, err := m.payouts()
	if err != nil {
		return PayoutView{}, err
	}
	if key == "" {
		key = m.NewWithdrawKey()
	}
	if !ids.Valid(key) {
		return PayoutView{}, fmt.Errorf("withdraw key %q must be letters, digits, - or _: %w", key, ErrInvalid)
	}
	_, script, err := chain.DecodeAddress(address, p.cfg.Params)
	if err != nil {
		return PayoutView{}, fmt.Errorf("not a %s address: %w: %w", p.cfg.Network, ErrInvalid, err)
	}
	if existing, err := m.st.Payout(ctx, key); err == nil {
		if existing.Account != actor.ID || existing.Address != address || existing.Amount != amount {
			return PayoutView{}, fmt.Errorf("withdraw key %s was used for another withdrawal: %w", key, ErrInvalid)
		}
		return payoutView(*existing), nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return PayoutView{}, storeErr(err, "withdraw")
	}
	q := p.quote(script)
	if amount > maxSats {
		return PayoutView{}, fmt.Errorf("%d sats is more bitcoin than there will ever be: %w", amount, ErrInvalid)
	}
	if amount < q.MinSats {
		return PayoutView{}, fmt.Errorf("%d sats is below the minimum withdrawal of %d sats to this address (the fee is %d sats): %w",
			amount, q.MinSats, q.FeeSats, ErrInvalid)
	}
	po := &store.Payout{ID: key, Account: actor.ID, Wallet: actor.WalletID, Address: address, PkScript: script, Amount: amount, Fee: q.FeeSats}
	if err := m.st.HoldPayout(ctx, po); err != nil {
		switch {
		case errors.Is(err, store.ErrInsufficientFunds):
			bal, _ := m.Balance(ctx, actor)
			return PayoutView{}, fmt.Errorf("%w: withdrawing %d sats costs %d sats with the fee; the balance is %d sats",
				ErrInsufficientFunds, amount, amount+q.FeeSats, bal)
		case errors.Is(err, store.ErrDuplicate):
			return m.Withdraw(ctx, actor, address, amount, key) // a racing repeat: answer with it
		}
		return PayoutView{}, storeErr(err, "withdraw")
	}
	m.log.Info("withdrawal held", "payout", po.ID, "account", actor.ID, "amount", amount, "fee", q.FeeSats)
	p.publish(actor.ID)
	return payoutView(*po), nil
}

// Payouts lists the actor's payouts, newest first.
func (m *Market) Payouts(ctx context.Context, actor *store.Account, limit int) ([]PayoutView, error) {
	ps, err := m.st.Payouts(ctx, actor.ID, limit)
	if err != nil {
		return nil, storeErr(err, "payouts")
	}
	out := make([]PayoutView, 0, len(ps))
	for _, p := range ps {
		out = append(out, payoutView(p))
	}
	return out, nil
}

// BatchRequest is what a signer is given: the unsigned PSBT and the payouts
// it must pay, nothing else.
type BatchRequest struct {
	Batch   string               `json:"batch"` // "" when nothing waits
	Network string               `json:"network"`
	TxID    string               `json:"txid,omitempty"`
	PSBT    string               `json:"psbt,omitempty"` // base64
	FeeSats int64                `json:"fee_sats"`
	FeeRate int64                `json:"fee_rate"` // sat/vB it was built at
	VSize   int64                `json:"vsize"`
	Payouts []chain.PayoutOutput `json:"payouts"`
}

// PayoutBatch gives a signer the open batch, building one from the waiting
// payouts if there is none. Batch is "" when nothing waits (or the shop's
// confirmed outputs cannot pay any of it yet).
func (m *Market) PayoutBatch(ctx context.Context, actor *store.Account) (BatchRequest, error) {
	p, err := m.payouts()
	if err != nil {
		return BatchRequest{}, err
	}
	if !actor.HasRole(store.RoleSigner) {
		return BatchRequest{}, fmt.Errorf("only accounts with the signer role fetch payout batches: %w", ErrForbidden)
	}
	return p.openBatch(ctx)
}

func (p *Payouts) openBatch(ctx context.Context) (BatchRequest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	empty := BatchRequest{Network: p.cfg.Network, Payouts: []chain.PayoutOutput{}}
	b, err := p.st.OpenBatch(ctx)
	switch {
	case err == nil && p.now().Sub(time.UnixMicro(b.CreatedAt)) > p.cfg.BatchExpiry:
		p.log.Warn("unsigned batch expired", "batch", b.ID)
		if err := p.st.CancelBatch(ctx, b.ID); err != nil {
			return empty, storeErr(err, "payout batch")
		}
	case err == nil:
		return p.request(ctx, b)
	case !errors.Is(err, store.ErrNotFound):
		return empty, storeErr(err, "payout batch")
	}
	b, err = p.build(ctx)
	if err != nil || b == nil {
		return empty, err
	}
	return p.request(ctx, b)
}

func (p *Payouts) request(ctx context.Context, b *store.PayoutBatch) (BatchRequest, error) {
	ps, err := p.st.BatchPayouts(ctx, b.ID)
	if err != nil {
		return BatchRequest{}, storeErr(err, "payout batch")
	}
	pkt, err := chain.DecodePSBT(b.PSBT)
	if err != nil {
		return BatchRequest{}, fmt.Errorf("batch %s: %w", b.ID, err)
	}
	enc, err := chain.EncodePSBT(pkt)
	if err != nil {
		return BatchRequest{}, err
	}
	r := BatchRequest{Batch: b.ID, Network: p.cfg.Network, TxID: b.TxID, PSBT: enc, FeeSats: b.Fee, FeeRate: b.FeeRate,
		VSize: chain.TxVSize(pkt.UnsignedTx), Payouts: make([]chain.PayoutOutput, 0, len(ps))}
	for _, po := range ps {
		r.Payouts = append(r.Payouts, chain.PayoutOutput{ID: po.ID, Address: po.Address, Amount: po.Amount})
	}
	return r, nil
}

// build makes a batch of the waiting payouts; nil when there are none or
// the shop's confirmed outputs pay none of them yet.
func (p *Payouts) build(ctx context.Context) (*store.PayoutBatch, error) {
	waiting, err := p.st.UnbatchedPayouts(ctx, p.cfg.MaxPerBatch)
	if err != nil || len(waiting) == 0 {
		return nil, storeErr(err, "payout batch")
	}
	outs, err := p.st.SpendableOutputs(ctx)
	if err != nil {
		return nil, storeErr(err, "payout batch")
	}
	var total int64
	coins := make([]chain.Coin, 0, len(outs))
	for _, o := range outs {
		h, err := chainhash.NewHashFromStr(o.TxID)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o.TxID, err)
		}
		coins = append(coins, chain.Coin{TxID: *h, Vout: o.Vout, Amount: o.Amount, PkScript: o.PkScript, Branch: o.Branch, Index: o.Index})
		total += o.Amount
	}
	// Oldest first, skipping any the coins cannot cover, so one large
	// payout does not hold up the rest.
	var list []chain.PayoutOutput
	var sum int64
	for _, w := range waiting {
		if sum+w.Amount > total {
			continue
		}
		sum += w.Amount
		list = append(list, chain.PayoutOutput{ID: w.ID, Address: w.Address, Amount: w.Amount})
	}
	if len(list) == 0 {
		p.log.Warn("payouts wait for confirmed coins", "waiting", len(waiting), "coins", total)
		return nil, nil
	}
	idx, err := p.st.NextChangeIndex(ctx)
	if err != nil {
		return nil, storeErr(err, "payout batch")
	}
	built, err := chain.BuildBatch(chain.BatchSpec{Params: p.cfg.Params, Deriver: p.cfg.Deriver, FeeRate: p.cfg.FeeRate,
		Payouts: list, Coins: coins, ChangeIndex: idx,
		PrevTx: func(h chainhash.Hash) (*wire.MsgTx, error) { return p.cfg.Node.RawTransaction(ctx, h) }})
	if errors.Is(err, chain.ErrNoFunds) {
		p.log.Warn("payouts wait for confirmed coins", "waiting", len(waiting), "coins", total)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("payout batch: %w", err)
	}
	raw, err := chain.PSBTBytes(built.Packet)
	if err != nil {
		return nil, err
	}
	unsigned, err := chain.UnsignedBytes(built.Packet.UnsignedTx)
	if err != nil {
		return nil, err
	}
	b := &store.PayoutBatch{ID: ids.New("b", p.now()), PSBT: raw, UnsignedTx: unsigned, TxID: built.Packet.UnsignedTx.TxHash().String(),
		FeeRate: p.cfg.FeeRate, Fee: built.Fee, ChangeIndex: -1, ChangeVout: -1}
	if built.ChangeVout >= 0 {
		b.ChangeIndex, b.ChangeVout, b.ChangeAmount, b.ChangeScript = int64(idx), int64(built.ChangeVout), built.ChangeAmount, built.ChangeScript
	}
	for _, c := range built.Inputs {
		b.Inputs = append(b.Inputs, store.SpendableOutput{TxID: c.TxID.String(), Vout: c.Vout, Amount: c.Amount, PkScript: c.PkScript,
			Branch: c.Branch, Index: c.Index})
	}
	payoutIDs := make([]string, 0, len(built.Payouts))
	for _, po := range built.Payouts {
		payoutIDs = append(payoutIDs, po.ID)
	}
	if err := p.st.CreateBatch(ctx, b, payoutIDs); err != nil {
		return nil, storeErr(err, "payout batch")
	}
	p.log.Info("payout batch built", "batch", b.ID, "payouts", len(payoutIDs), "inputs", len(b.Inputs), "fee", b.Fee, "txid", b.TxID)
	return p.st.Batch(ctx, b.ID)
}

// SubmitResult is the answer to a submitted batch.
type SubmitResult struct {
	Batch  string `json:"batch"`
	TxID   string `json:"txid"`
	Status string `json:"status"`
}

// SubmitBatch takes a signer's signed PSBT for a batch. The transaction
// must be the batch's own, input for input and output for output, with a
// valid signature on every input; it is stored before it is broadcast.
func (m *Market) SubmitBatch(ctx context.Context, actor *store.Account, batchID string, signed []byte) (SubmitResult, error) {
	p, err := m.payouts()
	if err != nil {
		return SubmitResult{}, err
	}
	if !actor.HasRole(store.RoleSigner) {
		return SubmitResult{}, fmt.Errorf("only accounts with the signer role submit payout batches: %w", ErrForbidden)
	}
	if !ids.Valid(batchID) {
		return SubmitResult{}, fmt.Errorf("no batch %q: %w", batchID, ErrNotFound)
	}
	return p.submit(ctx, actor.ID, batchID, signed)
}

func (p *Payouts) submit(ctx context.Context, signer, batchID string, signed []byte) (SubmitResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := p.st.Batch(ctx, batchID)
	if err != nil {
		return SubmitResult{}, storeErr(err, "batch "+batchID)
	}
	pkt, err := chain.DecodePSBT(signed)
	if err != nil {
		return SubmitResult{}, fmt.Errorf("refused: %w: %w", ErrInvalid, err)
	}
	coins := make([]chain.Coin, 0, len(b.Inputs))
	for _, in := range b.Inputs {
		h, err := chainhash.NewHashFromStr(in.TxID)
		if err != nil {
			return SubmitResult{}, fmt.Errorf("batch %s: %w", b.ID, err)
		}
		coins = append(coins, chain.Coin{TxID: *h, Vout: in.Vout, Amount: in.Amount, PkScript: in.PkScript, Branch: in.Branch, Index: in.Index})
	}
	tx, err := chain.Finalize(pkt, b.UnsignedTx, coins)
	if err != nil {
		p.log.Warn("signed batch refused", "batch", b.ID, "signer", signer, "err", err)
		return SubmitResult{}, fmt.Errorf("refused: %w: %w", ErrInvalid, err)
	}
	var raw bytes.Buffer
	if err := tx.Serialize(&raw); err != nil {
		return SubmitResult{}, fmt.Errorf("batch %s: %w", b.ID, err)
	}
	switch b.Status {
	case store.BatchUnsigned:
	case store.BatchSigned, store.BatchBroadcast, store.BatchConfirmed:
		if !bytes.Equal(raw.Bytes(), b.RawTx) {
			// The same transaction signed again (ECDSA nonces are
			// deterministic, but another signer's would differ): keep the first.
			p.log.Info("batch already signed", "batch", b.ID)
		}
		return SubmitResult{Batch: b.ID, TxID: b.TxID, Status: b.Status}, nil
	default:
		return SubmitResult{}, fmt.Errorf("batch %s is %s: %w", b.ID, b.Status, ErrInvalid)
	}
	// Stored before anything is sent: a crash from here on rebroadcasts it.
	if err := p.st.SignBatch(ctx, b.ID, raw.Bytes(), signer); err != nil {
		return SubmitResult{}, storeErr(err, "batch "+b.ID)
	}
	p.log.Info("payout batch signed", "batch", b.ID, "txid", b.TxID, "signer", signer)
	p.publishBatch(ctx, b.ID)
	b.Status, b.RawTx = store.BatchSigned, raw.Bytes()
	status := store.BatchSigned
	if err := p.broadcast(ctx, b, tx); err != nil {
		p.log.Warn("broadcast failed; the loop retries", "batch", b.ID, "err", err)
	} else {
		status = store.BatchBroadcast
	}
	p.Kick()
	return SubmitResult{Batch: b.ID, TxID: b.TxID, Status: status}, nil
}

// broadcast sends a signed batch's transaction and marks it broadcast.
func (p *Payouts) broadcast(ctx context.Context, b *store.PayoutBatch, tx *wire.MsgTx) error {
	if _, err := p.cfg.Node.SendRawTransaction(ctx, tx); err != nil && !chain.IsTxAlreadyKnown(err) {
		return err
	}
	if b.Status == store.BatchSigned {
		if err := p.st.MarkBroadcast(ctx, b.ID); err != nil {
			return err
		}
		p.log.Info("payout batch broadcast", "batch", b.ID, "txid", b.TxID)
		p.publishBatch(ctx, b.ID)
	}
	return nil
}

func (p *Payouts) publishBatch(ctx context.Context, id string) {
	if p.cfg.Events == nil {
		return
	}
	ps, err := p.st.BatchPayouts(ctx, id)
	if err != nil {
		return
	}
	for _, po := range ps {
		p.publish(po.Account)
	}
}

// Run broadcasts, rebroadcasts and confirms batches until ctx ends.
func (p *Payouts) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		if err := p.Step(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("payouts", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-p.kick:
		}
	}
}

// Step runs one pass over the signed and broadcast batches: a batch the
// node does not know is (re)broadcast; one deep enough is confirmed; one
// whose input another transaction spent long enough ago fails.
func (p *Payouts) Step(ctx context.Context) error {
	batches, err := p.st.InFlightBatches(ctx)
	if err != nil || len(batches) == 0 {
		return err
	}
	var errs []error
	for i := range batches {
		if err := p.stepBatch(ctx, &batches[i]); err != nil {
			if errors.Is(err, chain.ErrUnreachable) || ctx.Err() != nil {
				return err
			}
			errs = append(errs, fmt.Errorf("batch %s: %w", batches[i].ID, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Payouts) stepBatch(ctx context.Context, b *store.PayoutBatch) error {
	txid, err := chainhash.NewHashFromStr(b.TxID)
	if err != nil {
		return err
	}
	state, err := p.cfg.Node.TxState(ctx, *txid)
	if err != nil {
		return err
	}
	if state.Known {
		if b.Status == store.BatchSigned { // broadcast before a crash
			if err := p.st.MarkBroadcast(ctx, b.ID); err != nil {
				return err
			}
			p.publishBatch(ctx, b.ID)
		}
		if b.ConflictHeight != 0 {
			if err := p.st.NoteBatch(ctx, b.ID, "", 0); err != nil {
				return err
			}
		}
		if state.Confirmations < int64(p.cfg.Confirmations) {
			return nil
		}
		tip, _, err := p.cfg.Node.BestBlock(ctx)
		if err != nil {
			return err
		}
		if err := p.st.ConfirmBatch(ctx, b.ID, tip-state.Confirmations+1, state.BlockHash); err != nil {
			return err
		}
		p.log.Info("payout batch confirmed", "batch", b.ID, "txid", b.TxID, "block", state.BlockHash)
		p.publishBatch(ctx, b.ID)
		return nil
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(b.RawTx)); err != nil {
		return fmt.Errorf("stored transaction: %w", err)
	}
	sendErr := p.broadcast(ctx, b, &tx)
	if sendErr == nil {
		return nil
	}
	if errors.Is(sendErr, chain.ErrUnreachable) {
		return sendErr
	}
	// Refused. It can never confirm only if another transaction spent one
	// of its inputs; wait FailAfter blocks for that to settle. An input
	// whose own transaction the node lost (a reorg) may come back: retry.
	var spent []string
	for _, in := range tx.TxIn {
		out, err := p.cfg.Node.TxOut(ctx, in.PreviousOutPoint, true)
		if err != nil {
			return err
		}
		if out != nil {
			continue
		}
		prev, err := p.cfg.Node.TxState(ctx, in.PreviousOutPoint.Hash)
		if err != nil {
			return err
		}
		if prev.Known {
			spent = append(spent, in.PreviousOutPoint.String())
		}
	}
	conflict := len(spent) > 0
	tip, _, err := p.cfg.Node.BestBlock(ctx)
	if err != nil {
		return err
	}
	if !conflict {
		return errors.Join(sendErr, p.st.NoteBatch(ctx, b.ID, sendErr.Error(), 0))
	}
	if b.ConflictHeight > 0 && tip-b.ConflictHeight >= p.cfg.FailAfter {
		if err := p.st.FailBatch(ctx, b.ID, "an input was spent by another transaction: "+sendErr.Error(), spent); err != nil {
			return err
		}
		p.log.Error("payout batch failed; holds voided", "batch", b.ID, "txid", b.TxID, "err", sendErr)
		p.publishBatch(ctx, b.ID)
		return nil
	}
	p.log.Warn("payout batch conflicts", "batch", b.ID, "txid", b.TxID, "err", sendErr)
	return p.st.NoteBatch(ctx, b.ID, sendErr.Error(), tip)
}
