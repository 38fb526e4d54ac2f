package ssh_test

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopfile/shopfile/ssh/sshtest"
	gossh "golang.org/x/crypto/ssh"
)

// tuiClient is one PTY session from the Go client, which (unlike a real
// terminal) never answers terminal queries.
type tuiClient struct {
	conn *gossh.Client
	sess *gossh.Session
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (c *tuiClient) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *tuiClient) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func openTUI(t testing.TB, s *sshtest.Shop, k *sshtest.Key, conn *gossh.Client) *tuiClient {
	t.Helper()
	if conn == nil {
		var err error
		if conn, err = s.Dial(k); err != nil {
			t.Fatal(err)
		}
	}
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	c := &tuiClient{conn: conn, sess: sess, done: make(chan struct{})}
	sess.Stdout = c
	sess.Stderr = c
	if _, err := sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() { sess.Wait(); close(c.done) }()
	return c
}

// waitFirstFrame waits until the TUI has drawn something.
func (c *tuiClient) waitFirstFrame(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(c.output()) > 64 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no first frame in 10 s; got %q", c.output())
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func threads(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func TestFirstFrameDoesNotWaitOnASilentClient(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{})
	c := openTUI(t, s, sshtest.NewKey(t, "k"), nil)
	defer c.conn.Close()
	c.waitFirstFrame(t)
	if strings.Contains(c.output(), "\x1b]11;?") {
		t.Fatal("the server asked the terminal for its colours: a client that never answers waits for its first frame")
	}
}

// soft-serve v0.8.5 leaks ~2 goroutines and an OS thread per closed TUI
// session; here everything must return to the idle level.
func TestTUISessionsLeaveNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of sessions")
	}
	s := sshtest.Start(t, sshtest.Options{})
	k := sshtest.NewKey(t, "k")
	cycle := func() {
		c := openTUI(t, s, k, nil)
		c.waitFirstFrame(t)
		c.sess.Close()
		c.conn.Close()
		<-c.done
	}
	for i := 0; i < 5; i++ { // warm up pools and lazily started goroutines
		cycle()
	}
	waitFor(t, "warm-up sessions to end", 10*time.Second, func() bool { return s.Server.ActiveSessions() == 0 })
	baseG, baseT, baseH := runtime.NumGoroutine(), threads(t), heapInUse()
	const n = 200
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer wg.Done(); defer func() { <-sem }(); cycle() }()
	}
	wg.Wait()
	waitFor(t, "sessions to end", 10*time.Second, func() bool { return s.Server.ActiveSessions() == 0 })
	waitFor(t, "goroutines to return to the idle level", 10*time.Second, func() bool { return runtime.NumGoroutine() <= baseG+2 })
	if subs := s.Market.Events().Subscribers(); subs != 0 {
		t.Errorf("%d event subscriptions outlived their sessions", subs)
	}
	if th := threads(t); th > baseT+8 {
		t.Errorf("threads grew from %d to %d over %d sessions", baseT, th, n)
	}
	if h := heapInUse(); h > baseH+16<<20 {
		t.Errorf("heap in use grew from %d to %d bytes over %d sessions", baseH, h, n)
	}
}

// A TUI inside a multiplexed connection must end with its channel, not
// with the connection.
func TestClosingTheChannelEndsItsTUI(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{})
	k := sshtest.NewKey(t, "k")
	conn, err := s.Dial(k)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := openTUI(t, s, k, conn)
	c.waitFirstFrame(t)
	if got := s.Server.ActiveSessions(); got != 1 {
		t.Fatalf("%d active sessions, want 1", got)
	}
	c.sess.Close()
	waitFor(t, "the TUI to end with its channel", 5*time.Second, func() bool { return s.Server.ActiveSessions() == 0 })
	res, err := sshtest.RunOn(conn, nil, "whoami --json")
	if err != nil || res.Code != 0 {
		t.Fatalf("the connection did not survive its channel: %v %+v", err, res)
	}
}

func TestShutdownEndsOpenSessionsWithinItsTimeout(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{})
	k := sshtest.NewKey(t, "k")
	var clients []*tuiClient
	for i := 0; i < 5; i++ {
		c := openTUI(t, s, k, nil)
		c.waitFirstFrame(t)
		clients = append(clients, c)
	}
	idle, err := s.Dial(k) // a connection with no session at all
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Server.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown did not finish cleanly: %v", err)
	}
	for _, c := range clients {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Fatal("a TUI session outlived shutdown")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openIdleTUIs opens n TUI sessions and waits until each has drawn its
// first frame and its loads have settled.
func openIdleTUIs(t testing.TB, n int) []*tuiClient {
	s := sshtest.Start(t, sshtest.Options{})
	k := sshtest.NewKey(t, "k")
	var clients []*tuiClient
	for i := 0; i < n; i++ {
		clients = append(clients, openTUI(t, s, k, nil))
	}
	for _, c := range clients {
		c.waitFirstFrame(t)
		t.Cleanup(func() { c.conn.Close() })
	}
	time.Sleep(500 * time.Millisecond) // let loads settle
	return clients
}

// An idle TUI draws nothing: frames are sent on change, never on a ticker
// (what makes an idle session cheap; BenchmarkIdleTUISession measures it).
func TestIdleTUISessionsDrawNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("watches idle sessions for a second")
	}
	clients := openIdleTUIs(t, 10)
	before := make([]int, len(clients))
	for i, c := range clients {
		before[i] = len(c.output())
	}
	time.Sleep(time.Second)
	for i, c := range clients {
		if len(c.output()) != before[i] {
			t.Fatalf("an idle session kept drawing: %d bytes", len(c.output())-before[i])
		}
	}
}

// BenchmarkIdleTUISession reports the process's CPU time per idle TUI
// session and second of wall time (soft-serve v0.8.5 was noted at ~1.2
// ms/s on this machine class; not measured here, so only a pointer).
//
//	go test -run '^$' -bench IdleTUISession -benchtime 3x ./ssh
func BenchmarkIdleTUISession(b *testing.B) {
	const n = 30
	openIdleTUIs(b, n)
	const window = time.Second
	b.ResetTimer()
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		start := cpuTime()
		time.Sleep(window)
		cpu += cpuTime() - start
	}
	perSession := float64(cpu) / float64(time.Millisecond) / (window.Seconds() * float64(b.N)) / n
	b.ReportMetric(perSession, "cpu-ms/s/session")
}
