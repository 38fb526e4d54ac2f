package chain

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
)

// MinerKeyFile is the name, inside the data directory, of the file that
// holds the regtest mining key (hex, one line).
const MinerKeyFile = "regtest-miner.key"

// DefaultRegtestRPC is btcd's default regtest RPC address.
const DefaultRegtestRPC = "127.0.0.1:18334"

// NodeConfig configures a btcd regtest node started by StartNode.
type NodeConfig struct {
	// Bin is the btcd binary (see FindBtcd).
	Bin string
	// DataDir holds everything of the node: --datadir=DataDir and
	// --logdir=DataDir/logs (btcd adds a "regtest" sub-directory to both,
	// so the log is DataDir/logs/regtest/btcd.log).
	// The node's HOME is set to DataDir too, so btcd's ~/.btcd lands there.
	DataDir string
	// RPCListen is the RPC address (default 127.0.0.1:18334). It must be a
	// loopback address: the node serves RPC without TLS.
	RPCListen string
	// User and Pass are the RPC credentials (required).
	User, Pass string
	// MiningAddr is passed as --miningaddr (a regtest address; see
	// EnsureMiningKey). Without it the node cannot mine (generate fails).
	MiningAddr string
	// Stdout, if set, receives the node's output (its log).
	Stdout io.Writer
	// Args are extra btcd flags, appended last.
	Args []string
	// StartTimeout bounds the wait for RPC to answer (default 60 s).
	StartTimeout time.Duration
}

// Node is a running btcd process started by StartNode.
type Node struct {
	cfg  NodeConfig
	pid  int
	proc *os.Process
	tail *tailBuffer

	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// StartNode starts btcd on regtest with --regtest --datadir --logdir
// --rpcuser --rpcpass --rpclisten --notls --nolisten --txindex
// [--miningaddr] and waits (bounded by ctx and cfg.StartTimeout) until its
// RPC answers. If the process exits first, the error carries the tail of its
// output. ctx bounds only the start: after StartNode returns, the node runs
// until Stop (or until this process dies: on Linux the node is sent SIGTERM
// then).
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.Bin == "" {
		return nil, errors.New("start btcd: no binary given (see FindBtcd)")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("start btcd: no data directory given")
	}
	if cfg.User == "" || cfg.Pass == "" {
		return nil, errors.New("start btcd: RPC user and password are required")
	}
	if cfg.RPCListen == "" {
		cfg.RPCListen = DefaultRegtestRPC
	}
	if err := checkLoopback(cfg.RPCListen); err != nil {
		return nil, fmt.Errorf("start btcd: RPC listens without TLS, so it must be loopback: %w", err)
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start btcd: %w", err)
	}
	cfg.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("start btcd: %w", err)
	}
	args := []string{
		"--regtest",
		"--datadir=" + dataDir,
		"--logdir=" + filepath.Join(dataDir, "logs"),
		"--rpcuser=" + cfg.User,
		"--rpcpass=" + cfg.Pass,
		"--rpclisten=" + cfg.RPCListen,
		"--notls",
		"--nolisten",
		"--txindex",
	}
	if cfg.MiningAddr != "" {
		args = append(args, "--miningaddr="+cfg.MiningAddr)
	}
	args = append(args, cfg.Args...)

	n := &Node{cfg: cfg, tail: newTailBuffer(16 << 10), done: make(chan struct{})}
	var out io.Writer = n.tail
	if cfg.Stdout != nil {
		out = io.MultiWriter(n.tail, cfg.Stdout)
	}
	cmd := exec.Command(cfg.Bin, args...)
	cmd.Dir = dataDir
	cmd.Env = append(os.Environ(), "HOME="+dataDir)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = nodeSysProcAttr()

	// Start and wait on one goroutine locked to its OS thread: on Linux the
	// parent-death signal fires when the *thread* that forked the child
	// exits, so that thread must outlive the child.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			close(n.done)
			return
		}
		started <- nil
		n.waitErr = cmd.Wait()
		close(n.done)
		// The thread stays locked and is discarded when this goroutine ends.
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start btcd %s: %w", cfg.Bin, err)
	}
	n.proc = cmd.Process
	n.pid = cmd.Process.Pid

	if err := n.waitReady(ctx); err != nil {
		_ = n.Stop()
		return nil, err
	}
	return n, nil
}

// waitReady polls the RPC port until the node answers getblockcount.
func (n *Node) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	c, err := Dial(n.RPC())
	if err != nil {
		return err
	}
	defer c.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-n.done:
			return fmt.Errorf("btcd exited during start (%v):\n%s", n.waitErr, n.LogTail())
		case <-ctx.Done():
			return fmt.Errorf("btcd did not answer RPC on %s within %s (last error: %v):\n%s",
				n.cfg.RPCListen, n.cfg.StartTimeout, lastErr, n.LogTail())
		case <-tick.C:
		}
		if !portOpen(n.cfg.RPCListen, 200*time.Millisecond) {
			lastErr = errors.New("RPC port not open yet")
			continue
		}
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := c.BlockCount(cctx)
		ccancel()
		if err == nil {
			return nil
		}
		lastErr = err
	}
}

// RPC returns the client configuration for this node.
func (n *Node) RPC() RPCConfig {
	return RPCConfig{Host: n.cfg.RPCListen, User: n.cfg.User, Pass: n.cfg.Pass, NoTLS: true}
}

// Pid is the node's process id.
func (n *Node) Pid() int { return n.pid }

// Done is closed when the node process has exited.
func (n *Node) Done() <-chan struct{} { return n.done }

// LogTail returns the last lines the node printed.
func (n *Node) LogTail() string { return n.tail.String() }

// Stop asks the node to shut down (SIGINT) and kills it if it has not
// exited within 15 s. It is safe to call more than once and after the node
// has exited on its own.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		select {
		case <-n.done:
			return
		default:
		}
		if err := n.proc.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
			n.stopErr = fmt.Errorf("stop btcd: %w", err)
		}
		select {
		case <-n.done:
			return
		case <-time.After(15 * time.Second):
		}
		if err := n.proc.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			n.stopErr = fmt.Errorf("kill btcd: %w", err)
			return
		}
		select {
		case <-n.done:
		case <-time.After(5 * time.Second):
			n.stopErr = fmt.Errorf("btcd (pid %d) did not exit after SIGKILL", n.pid)
		}
	})
	return n.stopErr
}

// EnsureMiningKey returns the regtest mining key kept in
// dataDir/regtest-miner.key (mode 0600, hex), creating it on first use, and
// its P2PKH regtest address for --miningaddr.
func EnsureMiningKey(dataDir string) (*btcec.PrivateKey, btcutil.Address, error) {
	path := filepath.Join(dataDir, MinerKeyFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		k, err := btcec.NewPrivateKey()
		if err != nil {
			return nil, nil, fmt.Errorf("generate mining key: %w", err)
		}
		if _, err := writeFileOnce(path, []byte(hex.EncodeToString(k.Serialize())+"\n")); err != nil {
			return nil, nil, fmt.Errorf("keep mining key: %w", err)
		}
	} else if err != nil {
		return nil, nil, fmt.Errorf("mining key: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read mining key: %w", err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != 32 {
		return nil, nil, fmt.Errorf("mining key %s: not 32 hex-encoded bytes", path)
	}
	k, _ := btcec.PrivKeyFromBytes(raw)
	addr, err := MinerAddress(k, &chaincfg.RegressionNetParams)
	if err != nil {
		return nil, nil, err
	}
	return k, addr, nil
}

// MinerAddress is the P2PKH address of key (compressed) on params, the form
// btcd accepts for --miningaddr and PayFromMiner spends from.
func MinerAddress(key *btcec.PrivateKey, params *chaincfg.Params) (btcutil.Address, error) {
	a, err := btcutil.NewAddressPubKeyHash(btcutil.Hash160(key.PubKey().SerializeCompressed()), params)
	if err != nil {
		return nil, fmt.Errorf("mining address: %w", err)
	}
	return a, nil
}

// FindBtcd locates the btcd binary: $BTCD_BIN if set, then
// repoDir/bin/btcd (where the Makefile installs it), then PATH.
func FindBtcd(repoDir string) (string, error) {
	if p := os.Getenv("BTCD_BIN"); p != "" {
		if isExecutable(p) {
			return p, nil
		}
		return "", fmt.Errorf("BTCD_BIN=%s is not an executable file", p)
	}
	if repoDir != "" {
		p := filepath.Join(repoDir, "bin", "btcd")
		if isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("btcd"); err == nil {
		return p, nil
	}
	return "", errors.New("btcd not found: set BTCD_BIN, run make (it installs bin/btcd) or go install github.com/btcsuite/btcd@v0.24.2")
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// checkLoopback accepts host:port whose host is localhost or a loopback IP.
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("address %q: %w", hostport, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address", host)
}

// portOpen reports whether a TCP connection to hostport succeeds.
func portOpen(hostport string, timeout time.Duration) bool {
	c, err := net.DialTimeout("tcp", hostport, timeout)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	// Drop a partial first line.
	if len(t.buf) >= t.max {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.TrimRight(s, "\n")
}
