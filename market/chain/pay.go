package chain

import (
	"context"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
)

const (
	// MinerPayFee is the fixed fee of a PayFromMiner transaction in
	// satoshis. The transaction (one P2PKH input, two outputs) is about
	// 226 vbytes, so this is over 4 sat/vB, well above btcd's 1 sat/vB
	// minimum relay fee.
	MinerPayFee = 1000

	// maxCoinbase is the largest coinbase subsidy (50 BTC).
	maxCoinbase = 50 * 100_000_000

	// coinbaseMaturity is the number of confirmations before a coinbase
	// output can be spent (100 on every network).
	coinbaseMaturity = 100
)

// DustLimit returns the smallest amount btcd relays in an output with
// pkScript at its default minimum relay fee (1 sat/vB): 294 sats for
// P2WPKH, 330 for P2WSH/P2TR, 540 for P2SH, 546 for P2PKH. It mirrors
// btcd's mempool.GetDustThreshold/IsDust.
func DustLimit(pkScript []byte) int64 {
	out := wire.NewTxOut(0, pkScript)
	size := int64(out.SerializeSize() + 41)
	if txscript.IsWitnessProgram(pkScript) {
		size += 107 / 4
	} else {
		size += 107
	}
	return 3 * size
}

// PayFromMiner pays sats to the address `to` (any address type) from the
// regtest mining key's unspent outputs, then mines one block so the
// payment confirms. It returns the txid. Regtest only. See SendFromMiner.
func PayFromMiner(ctx context.Context, c *Client, key *btcec.PrivateKey, params *chaincfg.Params, to string, sats int64) (txid string, err error) {
	txid, err = SendFromMiner(ctx, c, key, params, to, sats)
	if err != nil {
		return "", err
	}
	if _, err := c.Generate(ctx, 1); err != nil {
		return txid, fmt.Errorf("mine the payment %s: %w", txid, err)
	}
	return txid, nil
}

// SendFromMiner is PayFromMiner without the mining: the payment is left in
// the mempool. It uses no wallet RPC (btcd has none): it scans the best
// chain from the tip down for an output paying the mining key's P2PKH
// script that is unspent (gettxout, mempool included), mature if it is a
// coinbase, and holds sats + MinerPayFee; if there is none it mines 101
// blocks (the node must mine to that key) and looks again. The transaction
// pays `to` and returns the change to the miner, with the fixed fee
// MinerPayFee. It refuses other networks than regtest, amounts below the
// dust limit of `to`, and amounts above what one coinbase can hold.
func SendFromMiner(ctx context.Context, c *Client, key *btcec.PrivateKey, params *chaincfg.Params, to string, sats int64) (txid string, err error) {
	if params == nil || params.Net != chaincfg.RegressionNetParams.Net || params.Name != chaincfg.RegressionNetParams.Name {
		name := "<nil>"
		if params != nil {
			name = params.Name
		}
		return "", fmt.Errorf("pay from miner: regtest only, not %s", name)
	}
	if key == nil {
		return "", errors.New("pay from miner: no mining key")
	}
	_, toScript, err := DecodeAddress(to, params)
	if err != nil {
		return "", fmt.Errorf("pay from miner: %w", err)
	}
	if sats <= 0 {
		return "", fmt.Errorf("pay from miner: amount must be positive, got %d sats", sats)
	}
	if dust := DustLimit(toScript); sats < dust {
		return "", fmt.Errorf("pay from miner: %d sats is below the dust limit of %d sats for %s; nodes would not relay it", sats, dust, to)
	}
	if sats+MinerPayFee > maxCoinbase {
		return "", fmt.Errorf("pay from miner: %d sats is more than one coinbase output holds (at most %d sats including the %d sats fee)", sats, maxCoinbase-MinerPayFee, MinerPayFee)
	}
	minerAddr, err := MinerAddress(key, params)
	if err != nil {
		return "", err
	}
	minerScript, err := txscript.PayToAddrScript(minerAddr)
	if err != nil {
		return "", fmt.Errorf("pay from miner: %w", err)
	}

	need := sats + MinerPayFee
	skip := map[wire.OutPoint]bool{}
	generated := false
	var lastSendErr error
	for attempt := 0; attempt < 4; attempt++ {
		op, prev, largest, err := findMinerOutput(ctx, c, minerScript, need, skip)
		if err != nil {
			return "", fmt.Errorf("pay from miner: %w", err)
		}
		if prev == nil {
			if generated {
				return "", fmt.Errorf("pay from miner: no spendable output of the mining key %s holds %d sats (amount + fee); the largest is %d sats; does btcd mine to it (--miningaddr)?",
					minerAddr, need, largest)
			}
			if _, err := c.Generate(ctx, coinbaseMaturity+1); err != nil {
				return "", fmt.Errorf("pay from miner: mine %d blocks to mature a coinbase: %w", coinbaseMaturity+1, err)
			}
			generated = true
			continue
		}
		tx, err := buildMinerPayment(key, op, prev, toScript, minerScript, sats)
		if err != nil {
			return "", fmt.Errorf("pay from miner: %w", err)
		}
		id, err := c.SendRawTransaction(ctx, tx)
		if err != nil {
			if errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
				return "", fmt.Errorf("pay from miner: %w", err)
			}
			// Most likely a concurrent payment spent the same output
			// first: try another one.
			lastSendErr = err
			skip[op] = true
			continue
		}
		return id.String(), nil
	}
	return "", fmt.Errorf("pay from miner: %w", lastSendErr)
}

// findMinerOutput scans the best chain from the tip down for an unspent,
// spendable output paying minerScript with at least need sats. prev is nil
// if there is none; largest is the largest spendable one seen.
func findMinerOutput(ctx context.Context, c *Client, minerScript []byte, need int64, skip map[wire.OutPoint]bool) (op wire.OutPoint, prev *wire.TxOut, largest int64, err error) {
	tip, _, err := c.BestBlock(ctx)
	if err != nil {
		return op, nil, 0, err
	}
	for h := tip; h >= 1; h-- {
		hash, err := c.BlockHash(ctx, h)
		if err != nil {
			return op, nil, 0, err
		}
		blk, err := c.Block(ctx, hash)
		if err != nil {
			return op, nil, 0, err
		}
		for i, tx := range blk.Transactions {
			coinbase := i == 0 && isCoinbase(tx)
			if coinbase && tip-h+1 < coinbaseMaturity {
				continue
			}
			var txid = tx.TxHash()
			for vout, out := range tx.TxOut {
				if string(out.PkScript) != string(minerScript) {
					continue
				}
				cand := wire.OutPoint{Hash: txid, Index: uint32(vout)}
				if skip[cand] {
					continue
				}
				res, err := c.TxOut(ctx, cand, true)
				if err != nil {
					return op, nil, 0, err
				}
				if res == nil {
					continue // spent (in a block or in the mempool)
				}
				if res.Coinbase && res.Confirmations < coinbaseMaturity {
					continue
				}
				largest = max(largest, out.Value)
				if out.Value >= need {
					return cand, out, largest, nil
				}
			}
		}
	}
	return op, nil, largest, nil
}

// buildMinerPayment builds and signs a transaction spending prev (a P2PKH
// output of key) to toScript, with change back to minerScript.
func buildMinerPayment(key *btcec.PrivateKey, op wire.OutPoint, prev *wire.TxOut, toScript, minerScript []byte, sats int64) (*wire.MsgTx, error) {
	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(&op, nil, nil))
	tx.AddTxOut(wire.NewTxOut(sats, toScript))
	if change := prev.Value - sats - MinerPayFee; change >= DustLimit(minerScript) {
		tx.AddTxOut(wire.NewTxOut(change, minerScript))
	} // else the tiny rest goes to the fee
	sig, err := txscript.SignatureScript(tx, 0, prev.PkScript, txscript.SigHashAll, key, true)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	tx.TxIn[0].SignatureScript = sig
	fetcher := txscript.NewCannedPrevOutputFetcher(prev.PkScript, prev.Value)
	vm, err := txscript.NewEngine(prev.PkScript, tx, 0, txscript.StandardVerifyFlags, nil,
		txscript.NewTxSigHashes(tx, fetcher), prev.Value, fetcher)
	if err != nil {
		return nil, fmt.Errorf("verify signature: %w", err)
	}
	if err := vm.Execute(); err != nil {
		return nil, fmt.Errorf("verify signature (is the output the mining key's?): %w", err)
	}
	return tx, nil
}
