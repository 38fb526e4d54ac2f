// Package chain connects the shop to Bitcoin: watch-only deposit addresses,
// a block-following deposit watcher that survives reorgs and crashes, a btcd
// RPC client, and regtest tooling (running a node, paying from its mining
// key). The shop never holds spending keys: it derives addresses from the
// account's extended public key. Amounts are int64 satoshis taken from
// wire.TxOut.Value, never floats.
//
// # Keys and addresses (keys.go)
//
//	Params(net string) (*chaincfg.Params, error)           // regtest | signet | testnet | mainnet
//	ParseAccountKey(s string, p) (*hdkeychain.ExtendedKey, error)
//	NewDeriver(acct, p) (*Deriver, error)
//	(*Deriver).Address(i uint32) (addr string, pkScript []byte, err error)       // m/84'/coin'/0'/0/i, P2WPKH bech32
//	(*Deriver).ChangeAddress(i uint32) (addr string, pkScript []byte, err error) // …/1/i
//	EnsureRegtestAccount(dataDir string) (xpub string, err error)                // DATA/regtest.xprv
//	LoadAccountXprv(path string, p) (*hdkeychain.ExtendedKey, error)             // for a signer
//	DecodeAddress(s string, p) (btcutil.Address, []byte, error)                  // address of net p + its script
//
// ParseAccountKey accepts xpub/zpub on mainnet and tpub/vpub on the test
// networks (SLIP-132 keys are re-versioned to xpub/tpub) and refuses, each
// with a clear message: private keys (wrapping ErrPrivateKey: "a private key
// was given; the server needs only the account's extended public key"), keys
// of the other network family (a mainnet xpub on regtest), BIP49 ypub/upub
// and multisig Zpub/Vpub keys, and anything that does not decode. Regtest,
// testnet and signet share the tpub version bytes; the bech32 prefix of the
// derived addresses (bcrt1, tb1) is what tells them apart. Address index i
// must be below 2^31; an index that yields no key (probability ~2^-127)
// returns an error wrapping hdkeychain.ErrInvalidChild: skip it.
//
// On regtest with no --xpub, EnsureRegtestAccount generates a random seed
// once, keeps the account xprv m/84'/1'/0' in DATA/regtest.xprv (0600, one
// line, created atomically, never overwritten) and returns its tpub; a
// signer reads it back with LoadAccountXprv.
//
// # Node (node.go) and RPC (rpc.go)
//
//	FindBtcd(repoDir string) (string, error)            // $BTCD_BIN, repoDir/bin/btcd, PATH
//	EnsureMiningKey(dataDir string) (*btcec.PrivateKey, btcutil.Address, error) // DATA/regtest-miner.key, P2PKH
//	MinerAddress(key, params) (btcutil.Address, error)  // the P2PKH --miningaddr of a key
//	StartNode(ctx, NodeConfig) (*Node, error)           // btcd --regtest … --notls --nolisten --txindex
//	(*Node).Stop() error; RPC() RPCConfig; Done() <-chan struct{}; LogTail() string; Pid() int
//	Dial(RPCConfig) (*Client, error)
//	(*Client).BestBlock / Tip / BlockCount / BlockHash / Block / MempoolTxs / Mempool /
//	          SendRawTransaction / Generate / InvalidateBlock / TxOut / Close
//
// StartNode waits until RPC answers (bounded by ctx and
// NodeConfig.StartTimeout); if btcd exits first, the error carries the tail
// of its output. ctx bounds only the start; Stop sends SIGINT and kills
// after 15 s. On Linux the node also gets SIGTERM if the starting process
// dies. The node's HOME is its data directory (btcd creates ~/.btcd).
//
// The Client wraps rpcclient in HTTP POST mode. Every method takes a
// context and has a per-call timeout (RPCConfig.Timeout, default 60 s);
// errors that mean the node could not be reached wrap ErrUnreachable.
// rpcclient retries a refused connection 10 times over ~22 s, so the client
// checks the port before BestBlock on a loopback node, and before every call
// once the node is known to be down: a stopped node is reported at once.
// A call abandoned on timeout or cancellation replaces the underlying
// rpcclient (whose single sender goroutine may be stuck on it); the
// abandoned call's goroutine may linger until its HTTP request ends.
// Dial refuses NoTLS to a non-loopback host. Mempool keeps a cache of the
// transactions it has fetched, so polling it each second costs one
// getrawmempool plus one getrawtransaction per new transaction (at most
// 2000 per call).
//
// # Regtest payments (pay.go)
//
//	PayFromMiner(ctx, c, key, params, to string, sats int64) (txid string, err error) // send + mine 1 block
//	SendFromMiner(ctx, c, key, params, to string, sats int64) (txid string, err error) // leaves it in the mempool
//	DustLimit(pkScript []byte) int64
//
// Regtest only. btcd has no wallet RPCs, so the miner's coins are found by
// scanning the chain from the tip down for unspent outputs paying the
// miner's P2PKH script (mature coinbases, or change of earlier payments),
// checked with gettxout (mempool included). With none, 101 blocks are mined
// first. The fee is fixed (MinerPayFee = 1000 sats, > 4 sat/vB); amounts
// below the dust limit of the destination, or above one coinbase (50 BTC),
// are refused.
//
// # Watcher (watcher.go)
//
//	NewWatcher(src Source, st Store, params, confirmations int, logger *log.Logger) *Watcher
//	(*Watcher).Sync(ctx) error    // one pass
//	(*Watcher).Run(ctx) error     // Sync every ~1 s or on Notify(); backoff 1 s → 30 s on errors; returns ctx.Err()
//	(*Watcher).Notify()           // sync now (e.g. a deposit address was just issued)
//	(*Watcher).Status() Status    // {Reachable, Height, Tip, LastError, Since, LastSync}
//
//	type Source interface { Tip; BlockHash; Block; Mempool }   // *Client satisfies it; tests use fakes
//	type Store interface {                                   // the shop implements it in SQL
//		Cursor(ctx) ([]Cursor, error)                        // newest first, up to 100; empty on a fresh shop
//		Watched(pkScript []byte) bool                        // cheap: an in-memory set of issued deposit scripts
//		ConnectBlock(ctx, c Cursor, outs []Output, confirmations int) error // ONE transaction; idempotent
//		DisconnectBlock(ctx, c Cursor) error                 // ONE transaction; reversals, never deletes
//		SeenMempool(ctx, outs []Output) error                // pending, never credited; idempotent
//	}
//	type Cursor struct { Height int64; Hash chainhash.Hash }
//	type Output struct { TxID chainhash.Hash; Vout uint32; PkScript []byte; Amount int64 }
//
// The watcher follows the node's best chain and drives a Store (see the
// Store interface for the exact contract of each method).
// One Sync pass:
//
//  1. Read the node's tip and the stored cursor (newest first).
//  2. Reorg check: walk the cursor from the newest entry down until an entry
//     whose hash is still the node's block at that height (entries above the
//     node's tip count as gone). Each newer entry is disconnected, newest
//     first (DisconnectBlock reverses its credits). If no entry matches, the
//     reorg is deeper than the window the store keeps: Sync returns an error
//     wrapping ErrDeepReorg and changes nothing (an operator must look).
//  3. Connect each block from the ancestor + 1 to the tip, oldest first, in
//     its own ConnectBlock call (which records the watched outputs, credits
//     deposits reaching the confirmation count and moves the cursor, in one
//     transaction). Each block's PrevBlock must be the block connected just
//     before; if not, the chain changed meanwhile and the pass starts over.
//  4. Report watched outputs of mempool transactions with SeenMempool
//     (pending, never credited). Each outpoint is reported once while it
//     stays in the mempool, and again if it leaves and comes back.
//
// Because the cursor moves in the same transaction as the credits, a crash
// anywhere leaves the store at a block boundary and the next Sync (by this
// or a new Watcher) continues from there: every block is connected exactly
// once. On a fresh shop (empty cursor) Sync starts FreshStartDepth (100)
// blocks below the tip, or at genesis: deposit addresses are issued only
// after the shop first runs, so older blocks cannot pay them.
//
// Policy notes: outputs of coinbase transactions paying a deposit address
// are ignored (they cannot be spent for 100 blocks and vanish with their
// block). With confirmations > 1, a reorg that removes only blocks above the
// deposit's block does not reverse its credit (DisconnectBlock reverses
// deposits confirmed in the removed block only), matching the Store contract.
//
// # Tests
//
// The chaintest sub-package starts a real btcd regtest node for
// integration tests in any package: chaintest.Start(t) returns a Harness
// with RPC, Client, MinerKey/MinerAddr, Mine(n), Pay(addr, sats) (mines a
// block), Send(addr, sats) (mempool only), InvalidateTip(), Height(),
// ActivateSegwit() (btcd regtest enforces segwit only from block 432: needed
// before spending P2WPKH deposits, e.g. payouts) and Stop (also at cleanup).
package chain
