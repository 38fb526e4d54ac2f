package chain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"
	"github.com/btcsuite/btcd/wire"
)

// ErrUnreachable is wrapped by Client errors when the node cannot be
// reached at all (connection refused, or a call timed out).
var ErrUnreachable = errors.New("btcd node unreachable")

// maxMempoolFetch bounds how many new mempool transactions one Mempool call
// fetches; the rest are fetched by later calls.
const maxMempoolFetch = 2000

// RPCConfig says how to reach btcd's JSON-RPC server.
type RPCConfig struct {
	// Host is host:port, e.g. 127.0.0.1:18334.
	Host string
	// User and Pass are the RPC credentials.
	User, Pass string
	// NoTLS talks plain HTTP. Allowed only to a loopback host.
	NoTLS bool
	// CertFile is the PEM certificate of btcd's self-signed RPC cert (its
	// rpc.cert) when TLS is used; empty trusts the system roots.
	CertFile string
	// Timeout bounds each call (default 60 s). A call that times out marks
	// the node unreachable.
	Timeout time.Duration
}

// Client is a btcd RPC client for the watcher and the regtest tools. It
// wraps rpcclient in HTTP POST mode and adds what rpcclient lacks there:
// a context and a timeout per call, and a fast failure when the node is
// down (rpcclient alone retries a refused connection 10 times over about
// 22 s). It is safe for concurrent use. Client satisfies Source.
type Client struct {
	cfg     RPCConfig
	connCfg rpcclient.ConnConfig

	mu   sync.Mutex
	rpc  *rpcclient.Client
	down bool // the last call could not reach the node
	shut bool

	mpMu    sync.Mutex
	mempool map[chainhash.Hash]*wire.MsgTx // cache of the last mempool seen
}

var _ Source = (*Client)(nil)

// Dial prepares a client for cfg. It does not contact the node (calls do).
// It refuses NoTLS to a host that is not loopback: RPC credentials and the
// shop's addresses would cross the network in clear text.
func Dial(cfg RPCConfig) (*Client, error) {
	if cfg.Host == "" {
		return nil, errors.New("btcd rpc: no host given")
	}
	host, port, err := net.SplitHostPort(cfg.Host)
	if err != nil || host == "" || port == "" {
		return nil, fmt.Errorf("btcd rpc: address %q must be host:port", cfg.Host)
	}
	if cfg.NoTLS {
		if err := checkLoopback(cfg.Host); err != nil {
			return nil, fmt.Errorf("btcd rpc: refusing plain-text (no TLS) RPC to %s: only loopback hosts may be used without TLS; enable TLS on btcd or tunnel the port: %w", cfg.Host, err)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	cc := rpcclient.ConnConfig{
		Host:         cfg.Host,
		User:         cfg.User,
		Pass:         cfg.Pass,
		HTTPPostMode: true,
		DisableTLS:   cfg.NoTLS,
	}
	if !cfg.NoTLS && cfg.CertFile != "" {
		pem, err := os.ReadFile(cfg.CertFile)
		if err != nil {
			return nil, fmt.Errorf("btcd rpc: read certificate: %w", err)
		}
		cc.Certificates = pem
	}
	rc, err := rpcclient.New(&cc, nil)
	if err != nil {
		return nil, fmt.Errorf("btcd rpc: %w", err)
	}
	return &Client{cfg: cfg, connCfg: cc, rpc: rc, mempool: map[chainhash.Hash]*wire.MsgTx{}}, nil
}

// Close releases the client. Calls after Close fail.
func (c *Client) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		return
	}
	c.shut = true
	c.rpc.Shutdown()
}

// current returns the rpcclient to use and whether the node was down at
// the last call.
func (c *Client) current() (*rpcclient.Client, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		return nil, false, errors.New("btcd rpc: client closed")
	}
	return c.rpc, c.down, nil
}

// setDown records whether the last call reached the node.
func (c *Client) setDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

// replace swaps in a fresh rpcclient after a call was abandoned: rpcclient
// sends HTTP requests one at a time from a single goroutine, which may stay
// stuck on the abandoned call.
func (c *Client) replace(stuck *rpcclient.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stuck != c.rpc || c.shut {
		return
	}
	stuck.Shutdown()
	cc := c.connCfg
	if rc, err := rpcclient.New(&cc, nil); err == nil {
		c.rpc = rc
	}
}

// call runs one rpcclient call with ctx and the configured timeout.
func call[T any](ctx context.Context, c *Client, what string, f func(*rpcclient.Client) (T, error)) (T, error) {
	return callProbe(ctx, c, what, false, f)
}

// callProbe is call; with probe set (used by BestBlock, the first call of
// every watcher pass) a plain-HTTP (loopback) node's port is checked first,
// so a stopped node is reported at once, not after rpcclient's retries.
// Over TLS the probe is skipped (btcd would log a failed handshake for each
// probe) and only done while the node is known to be down.
func callProbe[T any](ctx context.Context, c *Client, what string, probe bool, f func(*rpcclient.Client) (T, error)) (T, error) {
	var zero T
	rc, down, err := c.current()
	if err != nil {
		return zero, err
	}
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("btcd %s: %w", what, err)
	}
	if (down || (probe && c.cfg.NoTLS)) && !portOpen(c.cfg.Host, 2*time.Second) {
		c.setDown(true)
		// Still down: fail at once instead of entering rpcclient's retries.
		return zero, fmt.Errorf("btcd %s: %w: nothing answers on %s", what, ErrUnreachable, c.cfg.Host)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f(rc)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			if isConnError(r.err) {
				c.setDown(true)
				return zero, fmt.Errorf("btcd %s: %w: %v", what, ErrUnreachable, r.err)
			}
			c.setDown(false)
			return zero, fmt.Errorf("btcd %s: %w", what, r.err)
		}
		c.setDown(false)
		return r.v, nil
	case <-ctx.Done():
		c.replace(rc)
		if parent.Err() == nil { // our own timeout, not the caller's context
			c.setDown(true)
			return zero, fmt.Errorf("btcd %s: %w: no answer from %s within %s", what, ErrUnreachable, c.cfg.Host, c.cfg.Timeout)
		}
		return zero, fmt.Errorf("btcd %s: %w", what, parent.Err())
	}
}

// isConnError reports transport failures (as opposed to an RPC error
// answered by the node).
func isConnError(err error) bool {
	var rpcErr *btcjson.RPCError
	if errors.As(err, &rpcErr) {
		return false
	}
	if errors.Is(err, rpcclient.ErrClientShutdown) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "invalid http POST response") ||
		strings.Contains(s, "EOF") || strings.Contains(s, "connection reset")
}

// isRPCCode reports whether err is an RPC error with the given code.
func isRPCCode(err error, code btcjson.RPCErrorCode) bool {
	var rpcErr *btcjson.RPCError
	return errors.As(err, &rpcErr) && rpcErr.Code == code
}

// BlockCount returns the height of the best chain.
func (c *Client) BlockCount(ctx context.Context) (int64, error) {
	return call(ctx, c, "getblockcount", func(rc *rpcclient.Client) (int64, error) {
		return rc.GetBlockCount()
	})
}

// BestBlock returns the height and hash of the node's best block.
func (c *Client) BestBlock(ctx context.Context) (int64, chainhash.Hash, error) {
	type best struct {
		h    int64
		hash chainhash.Hash
	}
	b, err := callProbe(ctx, c, "getbestblock", true, func(rc *rpcclient.Client) (best, error) {
		hash, h, err := rc.GetBestBlock()
		if err != nil {
			return best{}, err
		}
		return best{int64(h), *hash}, nil
	})
	return b.h, b.hash, err
}

// Tip is BestBlock (Source).
func (c *Client) Tip(ctx context.Context) (int64, chainhash.Hash, error) { return c.BestBlock(ctx) }

// BlockHash returns the hash of the best-chain block at height.
func (c *Client) BlockHash(ctx context.Context, height int64) (chainhash.Hash, error) {
	return call(ctx, c, fmt.Sprintf("getblockhash %d", height), func(rc *rpcclient.Client) (chainhash.Hash, error) {
		h, err := rc.GetBlockHash(height)
		if err != nil {
			return chainhash.Hash{}, err
		}
		return *h, nil
	})
}

// Block returns the block with the given hash.
func (c *Client) Block(ctx context.Context, hash chainhash.Hash) (*wire.MsgBlock, error) {
	return call(ctx, c, "getblock "+hash.String(), func(rc *rpcclient.Client) (*wire.MsgBlock, error) {
		return rc.GetBlock(&hash)
	})
}

// MempoolTxs returns the transactions in the node's mempool
// (getrawmempool, then getrawtransaction for each). Transactions already
// fetched by an earlier call are served from a cache, and at most 2000 new
// ones are fetched per call (the rest come with later calls), so polling a
// large mempool stays cheap. A transaction that leaves the mempool between
// the two calls is skipped.
func (c *Client) MempoolTxs(ctx context.Context) ([]*wire.MsgTx, error) {
	ids, err := call(ctx, c, "getrawmempool", func(rc *rpcclient.Client) ([]*chainhash.Hash, error) {
		return rc.GetRawMempool()
	})
	if err != nil {
		return nil, err
	}
	c.mpMu.Lock()
	old := c.mempool
	c.mpMu.Unlock()
	next := make(map[chainhash.Hash]*wire.MsgTx, len(ids))
	txs := make([]*wire.MsgTx, 0, len(ids))
	fetched := 0
	for _, id := range ids {
		if tx, ok := old[*id]; ok {
			next[*id] = tx
			txs = append(txs, tx)
			continue
		}
		if fetched >= maxMempoolFetch {
			continue
		}
		fetched++
		id := *id
		tx, err := call(ctx, c, "getrawtransaction "+id.String(), func(rc *rpcclient.Client) (*wire.MsgTx, error) {
			t, err := rc.GetRawTransaction(&id)
			if err != nil {
				return nil, err
			}
			return t.MsgTx(), nil
		})
		if err != nil {
			if isRPCCode(err, btcjson.ErrRPCNoTxInfo) {
				continue // mined or evicted meanwhile
			}
			return nil, err
		}
		next[id] = tx
		txs = append(txs, tx)
	}
	c.mpMu.Lock()
	c.mempool = next
	c.mpMu.Unlock()
	return txs, nil
}

// Mempool is MempoolTxs (Source).
func (c *Client) Mempool(ctx context.Context) ([]*wire.MsgTx, error) { return c.MempoolTxs(ctx) }

// SendRawTransaction submits tx to the node (high fees refused) and returns
// its txid.
func (c *Client) SendRawTransaction(ctx context.Context, tx *wire.MsgTx) (chainhash.Hash, error) {
	return call(ctx, c, "sendrawtransaction", func(rc *rpcclient.Client) (chainhash.Hash, error) {
		h, err := rc.SendRawTransaction(tx, false)
		if err != nil {
			return chainhash.Hash{}, err
		}
		return *h, nil
	})
}

// Generate mines n blocks (regtest/simnet; the node needs --miningaddr) and
// returns their hashes.
func (c *Client) Generate(ctx context.Context, n uint32) ([]chainhash.Hash, error) {
	return call(ctx, c, fmt.Sprintf("generate %d", n), func(rc *rpcclient.Client) ([]chainhash.Hash, error) {
		hs, err := rc.Generate(n)
		if err != nil {
			return nil, err
		}
		out := make([]chainhash.Hash, len(hs))
		for i, h := range hs {
			out[i] = *h
		}
		return out, nil
	})
}

// InvalidateBlock marks a block invalid, so the node reorganises away from
// it; its transactions return to the mempool.
func (c *Client) InvalidateBlock(ctx context.Context, hash chainhash.Hash) error {
	_, err := call(ctx, c, "invalidateblock "+hash.String(), func(rc *rpcclient.Client) (struct{}, error) {
		return struct{}{}, rc.InvalidateBlock(&hash)
	})
	return err
}

// TxOut returns an unspent output (nil if it is spent or unknown; with
// includeMempool, spends in the mempool count). Note the JSON Value field is
// a float: read amounts from the transaction itself.
func (c *Client) TxOut(ctx context.Context, op wire.OutPoint, includeMempool bool) (*btcjson.GetTxOutResult, error) {
	return call(ctx, c, "gettxout "+op.String(), func(rc *rpcclient.Client) (*btcjson.GetTxOutResult, error) {
		return rc.GetTxOut(&op.Hash, op.Index, includeMempool)
	})
}
