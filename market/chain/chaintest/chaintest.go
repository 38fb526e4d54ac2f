// Package chaintest starts a real btcd regtest node for integration tests
// in any package:
//
//	h := chaintest.Start(t)         // node on free loopback ports in t.TempDir()
//	txid := h.Send(addr, 100_000)   // pay from the miner, left in the mempool
//	h.Mine(1)                       // confirm it
//	h.InvalidateTip()               // reorg: the tx goes back to the mempool
//	h.ActivateSegwit()              // before spending P2WPKH outputs (payouts)
//
// The node mines to a fixed test key (MinerKey), so Pay/Send can spend its
// coinbases. The btcd binary is found with chain.FindBtcd from the module
// root ($BTCD_BIN, ROOT/bin/btcd, PATH); if there is none, it is installed
// once with `go install github.com/btcsuite/btcd@v0.24.2` into the user
// cache directory. The node is stopped by t.Cleanup, also when the test
// fails or panics; on Linux it also dies with the test binary.
//
// Harness methods call t.Fatal on errors, so call them from the test's
// goroutine; use h.Client directly elsewhere.
package chaintest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/shopfile/shopfile/market/chain"
)

// BtcdVersion is the btcd release installed when none is found.
const BtcdVersion = "v0.24.2"

// Harness is a running regtest node and a client for it.
type Harness struct {
	t testing.TB

	// Node is the btcd process.
	Node *chain.Node
	// RPC is how to reach the node (loopback, no TLS).
	RPC chain.RPCConfig
	// Client is connected to the node.
	Client *chain.Client
	// Params are the regtest chain parameters.
	Params *chaincfg.Params
	// MinerKey is the key the node mines to; MinerAddr its P2PKH address.
	MinerKey  *btcec.PrivateKey
	MinerAddr btcutil.Address
	// DataDir is the node's data directory.
	DataDir string
}

// MinerKey returns the fixed test mining key (also usable without a node).
func MinerKey() *btcec.PrivateKey {
	k, _ := btcec.PrivKeyFromBytes(chainhash.HashB([]byte("shopfile chaintest miner v1")))
	return k
}

// Start starts a btcd regtest node for the test and stops it at cleanup.
func Start(t testing.TB) *Harness {
	t.Helper()
	bin := Btcd(t)
	params := &chaincfg.RegressionNetParams
	key := MinerKey()
	addr, err := chain.MinerAddress(key, params)
	if err != nil {
		t.Fatalf("chaintest: %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("chaintest: free port: %v", err)
		}
		dir := filepath.Join(t.TempDir(), "btcd")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		node, err := chain.StartNode(ctx, chain.NodeConfig{
			Bin:        bin,
			DataDir:    dir,
			RPCListen:  net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			User:       "chaintest",
			Pass:       "chaintest",
			MiningAddr: addr.EncodeAddress(),
		})
		cancel()
		if err != nil {
			lastErr = err // most likely the port was taken meanwhile
			continue
		}
		rpc := node.RPC()
		rpc.Timeout = 2 * time.Minute
		client, err := chain.Dial(rpc)
		if err != nil {
			_ = node.Stop()
			t.Fatalf("chaintest: %v", err)
		}
		h := &Harness{t: t, Node: node, RPC: rpc, Client: client, Params: params, MinerKey: key, MinerAddr: addr, DataDir: dir}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("chaintest: btcd log tail:\n%s", node.LogTail())
			}
			h.Stop()
		})
		return h
	}
	t.Fatalf("chaintest: start btcd: %v", lastErr)
	return nil
}

// Stop stops the node (also done at cleanup; safe to call twice).
func (h *Harness) Stop() {
	h.Client.Close()
	if err := h.Node.Stop(); err != nil {
		h.t.Errorf("chaintest: %v", err)
	}
}

func (h *Harness) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// Height returns the node's best height.
func (h *Harness) Height() int64 {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	n, _, err := h.Client.BestBlock(ctx)
	if err != nil {
		h.t.Fatalf("chaintest: height: %v", err)
	}
	return n
}

// Mine mines n blocks and returns their hashes.
func (h *Harness) Mine(n int) []chainhash.Hash {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	hs, err := h.Client.Generate(ctx, uint32(n))
	if err != nil {
		h.t.Fatalf("chaintest: mine %d: %v", n, err)
	}
	return hs
}

// Pay pays sats to addr from the miner and mines one block (PayFromMiner).
func (h *Harness) Pay(addr string, sats int64) string {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	txid, err := chain.PayFromMiner(ctx, h.Client, h.MinerKey, h.Params, addr, sats)
	if err != nil {
		h.t.Fatalf("chaintest: pay %d sats to %s: %v", sats, addr, err)
	}
	return txid
}

// Send pays sats to addr from the miner and leaves the payment in the
// mempool (SendFromMiner).
func (h *Harness) Send(addr string, sats int64) string {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	txid, err := chain.SendFromMiner(ctx, h.Client, h.MinerKey, h.Params, addr, sats)
	if err != nil {
		h.t.Fatalf("chaintest: send %d sats to %s: %v", sats, addr, err)
	}
	return txid
}

// SegwitHeight is the height from which btcd regtest enforces segwit
// (BIP9, 144-block windows: started at 144, locked in at 288, active from
// block 432). Before it, transactions spending witness outputs are refused
// ("has witness data, but segwit isn't active yet"); paying to bech32
// addresses works from genesis.
const SegwitHeight = 432

// ActivateSegwit mines until the next block enforces segwit, so
// transactions spending P2WPKH outputs (payouts) are accepted.
func (h *Harness) ActivateSegwit() {
	h.t.Helper()
	if n := SegwitHeight - 1 - h.Height(); n > 0 {
		h.Mine(int(n))
	}
}

// InvalidateTip invalidates the best block (a one-block reorg: its
// transactions return to the mempool) and returns its hash.
func (h *Harness) InvalidateTip() chainhash.Hash {
	h.t.Helper()
	ctx, cancel := h.ctx()
	defer cancel()
	_, tip, err := h.Client.BestBlock(ctx)
	if err != nil {
		h.t.Fatalf("chaintest: best block: %v", err)
	}
	if err := h.Client.InvalidateBlock(ctx, tip); err != nil {
		h.t.Fatalf("chaintest: invalidate %s: %v", tip, err)
	}
	return tip
}

// Btcd returns a btcd binary: chain.FindBtcd from the module root, else a
// cached `go install github.com/btcsuite/btcd@v0.24.2`.
func Btcd(t testing.TB) string {
	t.Helper()
	root, _ := ModuleRoot()
	if p, err := chain.FindBtcd(root); err == nil {
		return p
	} else if os.Getenv("BTCD_BIN") != "" {
		t.Fatalf("chaintest: %v", err)
	}
	p, err := installBtcd()
	if err != nil {
		t.Fatalf("chaintest: no btcd binary and installing one failed: %v", err)
	}
	return p
}

// ModuleRoot walks up from the working directory to the directory holding
// go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// installBtcd installs btcd into the user cache directory once. The binary
// is built in a private directory and renamed into place, so concurrent test
// binaries never see a partial file.
func installBtcd() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "shopfile", "btcd-"+BtcdVersion)
	bin := filepath.Join(dir, "btcd")
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, "install-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go command not found: %w", err)
	}
	cmd := exec.Command(goBin, "install", "github.com/btcsuite/btcd@"+BtcdVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
	cmd.Dir = tmp // outside the module, so its go.mod plays no part
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install github.com/btcsuite/btcd@%s: %w\n%s", BtcdVersion, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "btcd"), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
