package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/chain"
	"github.com/shopfile/shopfile/store/sqlstore"
)

// regtestNode is what serve records about the regtest node it started, so
// `shopfile regtest pay` can reach it.
type regtestNode struct {
	RPC  string `json:"rpc"`
	User string `json:"user"`
	Pass string `json:"pass"`
}

func regtestNodeFile(data string) string { return filepath.Join(data, "btcd", "shopfile-rpc.json") }

// chainSide is the wallet's on-chain side: deposits in, payouts out.
type chainSide struct {
	deposits *market.Deposits
	payouts  *market.Payouts
	client   *chain.Client
	// devNode: serve started the regtest node itself (--btcd-exec).
	devNode bool
}

// setupChain builds the deposit and payout side for --chain (nothing for
// none). With --btcd-exec on regtest it first starts the node itself and
// mines it past segwit activation; the returned stop func stops it.
func setupChain(ctx context.Context, c *serveConfig, st *sqlstore.DB, events *market.Hub, logger *log.Logger) (*chainSide, func(), error) {
	if c.chain == "none" {
		return nil, func() {}, nil
	}
	params, err := chain.Params(c.chain)
	if err != nil {
		return nil, nil, fmt.Errorf("--chain: %w", err)
	}
	xpub := c.xpub
	if xpub == "" {
		if c.chain != "regtest" {
			return nil, nil, fmt.Errorf("--xpub is required on %s (the account's extended public key; the shop never holds spending keys)", c.chain)
		}
		if xpub, err = chain.EnsureRegtestAccount(c.data); err != nil {
			return nil, nil, fmt.Errorf("regtest account key: %w", err)
		}
	}
	acct, err := chain.ParseAccountKey(xpub, params)
	if err != nil {
		return nil, nil, fmt.Errorf("--xpub: %w", err)
	}
	deriver, err := chain.NewDeriver(acct, params)
	if err != nil {
		return nil, nil, fmt.Errorf("--xpub: %w", err)
	}
	stop := func() {}
	if c.btcdExec != "" {
		if c.chain != "regtest" {
			return nil, nil, errors.New("--btcd-exec starts a regtest node only; use --chain regtest")
		}
		node, err := startRegtestNode(ctx, c, logger)
		if err != nil {
			return nil, nil, err
		}
		stop = func() { _ = node.Stop() }
	}
	client, err := chain.Dial(chain.RPCConfig{Host: c.btcdRPC, User: c.btcdUser, Pass: c.btcdPass, NoTLS: c.btcdNoTLS})
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("btcd RPC: %w", err)
	}
	if c.btcdExec != "" {
		if err := activateSegwit(ctx, client, logger); err != nil {
			client.Close()
			stop()
			return nil, nil, err
		}
	}
	var leader market.Elector
	if st.Shared() {
		leader = st
	}
	dep, err := market.NewDeposits(ctx, st, market.DepositsConfig{Network: c.chain, Deriver: deriver, Source: client,
		Params: params, Confirmations: c.confirmations, Events: events, Logger: logger, Leader: leader})
	if err != nil {
		client.Close()
		stop()
		return nil, nil, err
	}
	pay, err := market.NewPayouts(st, market.PayoutsConfig{Network: c.chain, Params: params, Deriver: deriver, Node: client,
		FeeRate: c.payoutFeeRate, MinPayout: c.minPayout, Confirmations: c.confirmations, Events: events, Logger: logger.WithPrefix("payouts")})
	if err != nil {
		client.Close()
		stop()
		return nil, nil, err
	}
	return &chainSide{deposits: dep, payouts: pay, client: client, devNode: c.btcdExec != ""}, func() { client.Close(); stop() }, nil
}

// startRegtestNode runs btcd with its data under DATA/btcd, mining to the
// regtest key kept in DATA, with RPC credentials made once and kept there.
func startRegtestNode(ctx context.Context, c *serveConfig, logger *log.Logger) (*chain.Node, error) {
	_, minerAddr, err := chain.EnsureMiningKey(c.data)
	if err != nil {
		return nil, fmt.Errorf("regtest mining key: %w", err)
	}
	creds, err := regtestCreds(c)
	if err != nil {
		return nil, err
	}
	logger.Info("starting btcd", "bin", c.btcdExec, "rpc", creds.RPC, "data", filepath.Join(c.data, "btcd"))
	node, err := chain.StartNode(ctx, chain.NodeConfig{Bin: c.btcdExec, DataDir: filepath.Join(c.data, "btcd"),
		RPCListen: creds.RPC, User: creds.User, Pass: creds.Pass, MiningAddr: minerAddr.EncodeAddress()})
	if err != nil {
		return nil, fmt.Errorf("start btcd: %w", err)
	}
	c.btcdRPC, c.btcdUser, c.btcdPass, c.btcdNoTLS = creds.RPC, creds.User, creds.Pass, true
	return node, nil
}

// regtestCreds loads or makes the node's RPC credentials.
func regtestCreds(c *serveConfig) (regtestNode, error) {
	path := regtestNodeFile(c.data)
	var n regtestNode
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &n); err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		n.RPC = c.btcdRPC
	} else {
		secret := make([]byte, 16)
		if _, err := rand.Read(secret); err != nil {
			return n, err
		}
		n = regtestNode{RPC: c.btcdRPC, User: "shopfile", Pass: hex.EncodeToString(secret)}
	}
	if c.btcdUser != "" {
		n.User, n.Pass = c.btcdUser, c.btcdPass
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return n, err
	}
	b, _ := json.Marshal(n)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return n, fmt.Errorf("record regtest node: %w", err)
	}
	return n, nil
}
