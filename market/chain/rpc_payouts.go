package chain

import (
	"context"
	"strings"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"
)

// TxState is where the node has a transaction.
type TxState struct {
	Known         bool // in the mempool or the best chain
	Confirmations int64
	BlockHash     string // "" while unconfirmed
}

// TxState looks a transaction up (getrawtransaction verbose; the node needs
// --txindex for confirmed transactions). A transaction the node does not
// know is not an error: Known is false.
func (c *Client) TxState(ctx context.Context, txid chainhash.Hash) (TxState, error) {
	return call(ctx, c, "getrawtransaction "+txid.String(), func(rc *rpcclient.Client) (TxState, error) {
		r, err := rc.GetRawTransactionVerbose(&txid)
		if err != nil {
			if isRPCCode(err, btcjson.ErrRPCNoTxInfo) {
				return TxState{}, nil
			}
			return TxState{}, err
		}
		return TxState{Known: true, Confirmations: int64(r.Confirmations), BlockHash: r.BlockHash}, nil
	})
}

// RawTransaction returns a transaction by id (mempool, or any block with
// --txindex).
func (c *Client) RawTransaction(ctx context.Context, txid chainhash.Hash) (*wire.MsgTx, error) {
	return call(ctx, c, "getrawtransaction "+txid.String(), func(rc *rpcclient.Client) (*wire.MsgTx, error) {
		t, err := rc.GetRawTransaction(&txid)
		if err != nil {
			return nil, err
		}
		return t.MsgTx(), nil
	})
}

// MempoolCount is the number of transactions in the node's mempool.
func (c *Client) MempoolCount(ctx context.Context) (int, error) {
	return call(ctx, c, "getrawmempool", func(rc *rpcclient.Client) (int, error) {
		ids, err := rc.GetRawMempool()
		return len(ids), err
	})
}

// IsTxRejected reports whether err is the node refusing a transaction (as
// opposed to the node being unreachable).
func IsTxRejected(err error) bool {
	return isRPCCode(err, btcjson.ErrRPCTxRejected) || isRPCCode(err, btcjson.ErrRPCTxError) ||
		isRPCCode(err, btcjson.ErrRPCVerify) || isRPCCode(err, btcjson.ErrRPCDeserialization)
}

// IsTxAlreadyKnown reports whether a broadcast failed only because the
// node already has the transaction.
func IsTxAlreadyKnown(err error) bool {
	if isRPCCode(err, btcjson.ErrRPCTxAlreadyInChain) {
		return true
	}
	return err != nil && (strings.Contains(err.Error(), "already have transaction") || strings.Contains(err.Error(), "already exists"))
}
