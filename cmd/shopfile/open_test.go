package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/ssh/sshtest"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// openWorld: alice sells a file for 700 sats; bob has its .shop file,
// copied somewhere, and 5000 sats in his wallet (a real ledger transfer;
// the acceptance check does the same with a btcd regtest deposit).
type openWorld struct {
	s          *sshtest.Shop
	alice, bob *sshtest.Key
	data       []byte
	shop       string
	file       string
	dir        string
	dials      atomic.Int64
}

func newOpenWorld(t *testing.T) *openWorld {
	t.Helper()
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	w := &openWorld{s: s, alice: sshtest.NewKey(t, "alice"), bob: sshtest.NewKey(t, "bob"), dir: t.TempDir()}
	w.data = make([]byte, 300_001)
	if _, err := rand.Read(w.data); err != nil {
		t.Fatal(err)
	}
	var up struct{ Shop string }
	if err := json.Unmarshal(s.MustRun(t, w.alice, bytes.NewReader(w.data), "upload song.flac --price 700 --json"), &up); err != nil {
		t.Fatal(err)
	}
	w.shop = up.Shop
	s.Fund(t, s.Account(t, w.bob.Signer.PublicKey()), 5000)
	w.file = filepath.Join(w.dir, w.shop+".shop")
	if err := os.WriteFile(w.file, s.MustRun(t, w.bob, nil, "fetch "+w.shop), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// opener for key; it must not ask anything unless the test says so.
func (w *openWorld) opener(t *testing.T, key *sshtest.Key) (*opener, *bytes.Buffer) {
	var errb bytes.Buffer
	o := &opener{stderr: &errb, home: t.TempDir(), yes: true,
		confirm:    func(q string) (bool, error) { t.Errorf("asked %q", q); return false, errors.New("no") },
		passphrase: func(p string) ([]byte, error) { t.Errorf("asked %q", p); return nil, errors.New("no") },
		dial: func(n, a string, c *gossh.ClientConfig) (*gossh.Client, error) {
			w.dials.Add(1)
			return gossh.Dial(n, a, c)
		}}
	if key != nil {
		o.identity = key.Path
	}
	return o, &errb
}

func (w *openWorld) balance(t *testing.T, k *sshtest.Key) int64 {
	t.Helper()
	var v struct {
		BalanceSats int64 `json:"balance_sats"`
	}
	if err := json.Unmarshal(w.s.MustRun(t, k, nil, "whoami --json"), &v); err != nil {
		t.Fatal(err)
	}
	return v.BalanceSats
}

// assertNoOutput: neither the output nor a partial file is left.
func (w *openWorld) assertNoOutput(t *testing.T, out string) {
	t.Helper()
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists after a failed open", out)
	}
	ents, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".partial") {
			t.Fatalf("partial file %s left behind", e.Name())
		}
	}
}

func (w *openWorld) assertOpened(t *testing.T, out string) {
	t.Helper()
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, w.data) {
		t.Fatalf("%s differs from what was sold", out)
	}
}

// The file is its own shop: the command line alone buys and opens it.
func TestOpenBuysTheFileItWasHanded(t *testing.T) {
	w := newOpenWorld(t)
	out := filepath.Join(w.dir, "song.flac")
	cmd := openCmd()
	var errb bytes.Buffer
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{w.file, "--identity", w.bob.Path, "--yes", "-o", out})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("open: %v\n%s", err, errb.String())
	}
	w.assertOpened(t, out)
	for _, want := range []string{"signature ok", w.s.Addr, gossh.FingerprintSHA256(w.s.HostKey), "700 sats", "bought for 700 sats"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if bal := w.balance(t, w.bob); bal != 4300 {
		t.Fatalf("bob's balance %d, want 4300", bal)
	}
	if bal := w.balance(t, w.alice); bal != 700 {
		t.Fatalf("alice's balance %d, want 700", bal)
	}

	// Opening it again, or as its seller, charges nothing and asks nothing.
	for _, k := range []*sshtest.Key{w.bob, w.alice} {
		o, errb := w.opener(t, k)
		o.yes = false
		out2 := filepath.Join(w.dir, "again-"+filepath.Base(k.Path))
		if err := o.run(context.Background(), w.file, out2); err != nil {
			t.Fatalf("%s again: %v\n%s", filepath.Base(k.Path), err, errb)
		}
		w.assertOpened(t, out2)
		if !strings.Contains(errb.String(), "already own") {
			t.Errorf("stderr: %s", errb)
		}
	}
	if bal := w.balance(t, w.bob); bal != 4300 {
		t.Fatalf("opening again charged: balance %d", bal)
	}
	w.s.CheckLedger(t)
}

func TestOpenAsksBeforeBuying(t *testing.T) {
	w := newOpenWorld(t)
	out := filepath.Join(w.dir, "out")
	var asked []string
	answer := func(yes bool, err error) func(string) (bool, error) {
		return func(q string) (bool, error) { asked = append(asked, q); return yes, err }
	}

	o, _ := w.opener(t, w.bob)
	o.yes, o.confirm = false, answer(false, nil)
	if err := o.run(context.Background(), w.file, out); err == nil || !strings.Contains(err.Error(), "not bought") {
		t.Fatalf("declined: %v", err)
	}
	o.confirm = answer(false, errors.New("no terminal to ask on"))
	var ee exitError
	if err := o.run(context.Background(), w.file, out); !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("no terminal: %v", err)
	}
	w.assertNoOutput(t, out)
	if bal := w.balance(t, w.bob); bal != 5000 {
		t.Fatalf("charged without a yes: balance %d", bal)
	}
	o.confirm = answer(true, nil)
	if err := o.run(context.Background(), w.file, out); err != nil {
		t.Fatal(err)
	}
	w.assertOpened(t, out)
	if len(asked) != 3 || asked[0] != "buy for 700 sats? [y/N] " {
		t.Fatalf("questions %q", asked)
	}
	if bal := w.balance(t, w.bob); bal != 4300 {
		t.Fatalf("balance %d", bal)
	}
}

// The price shown is the most that is charged, and it is the live one.
func TestOpenShowsTheLivePrice(t *testing.T) {
	w := newOpenWorld(t)
	w.s.MustRun(t, w.alice, nil, "price "+w.shop+" 900")
	o, errb := w.opener(t, w.bob)
	o.yes = false
	o.confirm = func(q string) (bool, error) {
		if q != "buy for 900 sats? [y/N] " {
			t.Errorf("asked %q", q)
		}
		return true, nil
	}
	out := filepath.Join(w.dir, "out")
	if err := o.run(context.Background(), w.file, out); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	if bal := w.balance(t, w.bob); bal != 4100 {
		t.Fatalf("balance %d, want 4100", bal)
	}
}

func TestOpenInsufficientFunds(t *testing.T) {
	w := newOpenWorld(t)
	carol := sshtest.NewKey(t, "carol")
	w.s.Fund(t, w.s.Account(t, carol.Signer.PublicKey()), 100)
	o, _ := w.opener(t, carol)
	out := filepath.Join(w.dir, "out")
	err := o.run(context.Background(), w.file, out)
	if err == nil || !strings.Contains(err.Error(), "insufficient funds") || !strings.Contains(err.Error(), "wallet") {
		t.Fatalf("open without the money: %v", err)
	}
	w.assertNoOutput(t, out)
	if bal := w.balance(t, carol); bal != 100 {
		t.Fatalf("balance %d", bal)
	}
	w.s.CheckLedger(t)
}

// Nothing in a file is used, and nobody is dialled, before its signature
// checks out.
func TestOpenRefusesForgedFilesBeforeConnecting(t *testing.T) {
	w := newOpenWorld(t)
	raw, err := os.ReadFile(w.file)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(w.file)
	h, err := container.ReadHeader(f, int64(len(raw)))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string]func([]byte) []byte{
		"flipped envelope byte": func(b []byte) []byte { b[h.EnvLen/2] ^= 1; return b },
		"flipped age header":    func(b []byte) []byte { b[h.EnvLen+5] ^= 1; return b },
		"truncated":             func(b []byte) []byte { return b[:len(b)-1] },
		"extended":              func(b []byte) []byte { return append(b, 0) },
		"not a shop file":       func([]byte) []byte { return []byte("hello") },
	}
	for name, f := range damage {
		p := filepath.Join(w.dir, "bad.shop")
		if err := os.WriteFile(p, f(append([]byte(nil), raw...)), 0o644); err != nil {
			t.Fatal(err)
		}
		o, _ := w.opener(t, w.bob)
		out := filepath.Join(w.dir, "out")
		if err := o.run(context.Background(), p, out); err == nil {
			t.Fatalf("%s: opened", name)
		}
		w.assertNoOutput(t, out)
	}
	if n := w.dials.Load(); n != 0 {
		t.Fatalf("dialled the shop %d times for forged files", n)
	}
	if bal := w.balance(t, w.bob); bal != 5000 {
		t.Fatalf("balance %d", bal)
	}
}

// seal makes a container for the shop's item, signed by host, sold at the
// real shop's address.
func (w *openWorld) seal(t *testing.T, host gossh.Signer) string {
	t.Helper()
	item, ok := ids.ParseShop(w.shop)
	if !ok {
		t.Fatal("bad shop id")
	}
	escrow, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(w.dir, "other.shop")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	meta := container.Meta{ItemID: item, PayAddr: "ssh://" + w.s.Addr, PriceHint: 1, Title: "song.flac"}
	if _, _, err := container.Seal(f, bytes.NewReader(w.data), meta, host, escrow.Recipient(), 1<<30); err != nil {
		t.Fatal(err)
	}
	return p
}

// A shop answering with another host key than the file's is not trusted
// with anything: the warning names both keys, and nothing is bought.
func TestOpenHostKeyMismatchAborts(t *testing.T) {
	w := newOpenWorld(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	impostor, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p := w.seal(t, impostor) // a copy re-signed by someone else, pointing at this shop
	o, _ := w.opener(t, w.bob)
	err = o.run(context.Background(), p, filepath.Join(w.dir, "out"))
	var hk *hostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("err %v, want a host key mismatch", err)
	}
	msg := err.Error()
	for _, want := range []string{"WARNING", gossh.FingerprintSHA256(impostor.PublicKey()), gossh.FingerprintSHA256(w.s.HostKey), w.s.Addr} {
		if !strings.Contains(msg, want) {
			t.Errorf("warning lacks %q: %s", want, msg)
		}
	}
	w.assertNoOutput(t, filepath.Join(w.dir, "out"))
	if bal := w.balance(t, w.bob); bal != 5000 {
		t.Fatalf("balance %d", bal)
	}
}

// A genuine but outdated edition (another content id) is not bought: the
// slip the shop issues would not open it.
func TestOpenRefusesAnotherEdition(t *testing.T) {
	w := newOpenWorld(t)
	p := w.seal(t, w.s.Env.Host)
	o, _ := w.opener(t, w.bob)
	err := o.run(context.Background(), p, filepath.Join(w.dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "another edition") || !strings.Contains(err.Error(), "scp -P "+w.s.Port) {
		t.Fatalf("err %v", err)
	}
	if bal := w.balance(t, w.bob); bal != 5000 {
		t.Fatalf("balance %d", bal)
	}
}

// startAgent serves an ssh-agent holding keys on a unix socket.
func startAgent(t *testing.T, keys ...*sshtest.Key) string {
	t.Helper()
	kr := agent.NewKeyring()
	for _, k := range keys {
		raw, err := gossh.ParseRawPrivateKey(mustRead(t, k.Path))
		if err != nil {
			t.Fatal(err)
		}
		if err := kr.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _ = agent.ServeAgent(kr, c) }()
		}
	}()
	return sock
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// homeWith makes a home directory whose ~/.ssh holds key as name.
func homeWith(t *testing.T, k *sshtest.Key, name string) string {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), mustRead(t, k.Path), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pub"), mustRead(t, k.PubPath), 0o644); err != nil {
		t.Fatal(err)
	}
	return home
}

// Without --identity, the agent logs in; the slip is opened with the
// matching key file in ~/.ssh, or, with none, the shop decrypts.
func TestOpenWithAgent(t *testing.T) {
	w := newOpenWorld(t)
	sock := startAgent(t, w.bob)

	o, errb := w.opener(t, nil)
	o.agentSock, o.home = sock, homeWith(t, w.bob, "work_key")
	out := filepath.Join(w.dir, "via-slip")
	if err := o.run(context.Background(), w.file, out); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	w.assertOpened(t, out)
	if strings.Contains(errb.String(), "instead") {
		t.Fatalf("fell back although the key file was there: %s", errb)
	}

	o, errb = w.opener(t, nil)
	o.agentSock = sock // and an empty home
	out = filepath.Join(w.dir, "via-get")
	if err := o.run(context.Background(), w.file, out); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	w.assertOpened(t, out)
	if !strings.Contains(errb.String(), "not open a key slip") || !strings.Contains(errb.String(), "downloading the plaintext from the shop instead") {
		t.Fatalf("stderr %s", errb)
	}
	if bal := w.balance(t, w.bob); bal != 4300 {
		t.Fatalf("balance %d, want one purchase", bal)
	}
}

// With neither --identity nor an agent, ~/.ssh/id_ed25519 is the key, and
// a passphrase is asked for.
func TestOpenDefaultKeyWithPassphrase(t *testing.T) {
	w := newOpenWorld(t)
	raw, err := gossh.ParseRawPrivateKey(mustRead(t, w.bob.Path))
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKeyWithPassphrase(raw, "", []byte("sesame"))
	if err != nil {
		t.Fatal(err)
	}
	home := homeWith(t, w.bob, "id_ed25519")
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	o, errb := w.opener(t, nil)
	o.home = home
	o.passphrase = func(string) ([]byte, error) { return []byte("wrong"), nil }
	if err := o.run(context.Background(), w.file, filepath.Join(w.dir, "x")); err == nil {
		t.Fatal("opened with a wrong passphrase")
	}
	asked := 0
	o.passphrase = func(p string) ([]byte, error) {
		asked++
		if !strings.Contains(p, "id_ed25519") {
			t.Errorf("prompt %q", p)
		}
		return []byte("sesame"), nil
	}
	out := filepath.Join(w.dir, "out")
	if err := o.run(context.Background(), w.file, out); err != nil {
		t.Fatalf("%v\n%s", err, errb)
	}
	w.assertOpened(t, out)
	if asked != 1 {
		t.Fatalf("asked %d times", asked)
	}
	o, _ = w.opener(t, nil) // no key anywhere
	var ee exitError
	if err := o.run(context.Background(), w.file, out); !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "--identity") {
		t.Fatalf("no key: %v", err)
	}
}

// An interrupt during the write leaves no output and no partial file.
func TestWriteOutInterrupted(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	o := &opener{stderr: io.Discard}
	err := o.writeOut(ctx, out, 100, func(w io.Writer) (int64, error) {
		if _, err := w.Write([]byte("half")); err != nil {
			return 0, err
		}
		cancel()
		n, err := w.Write([]byte("rest"))
		return int64(4 + n), err
	})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", ents)
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := newProgressBar(&buf, "song.flac", 4<<20, true)
	p.nowFunc = func() time.Time { return now }
	p.start = now
	for range 4 {
		now = now.Add(time.Second)
		p.add(1 << 20)
	}
	p.finish(true)
	s := buf.String()
	if !strings.Contains(s, "\rsong.flac [") || !strings.Contains(s, "100%  4 MiB / 4 MiB") || !strings.HasSuffix(s, "\n") ||
		!strings.Contains(s, "1 MiB/s") {
		t.Fatalf("progress %q", s)
	}
	buf.Reset()
	off := newProgressBar(&buf, "x", 10, false)
	off.add(10)
	off.finish(true)
	if buf.Len() != 0 {
		t.Fatalf("drew without a terminal: %q", buf.String())
	}
}

func TestPublicHTTPURL(t *testing.T) {
	addr := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	cases := []struct{ explicit, host, listen, want string }{
		{"", "127.0.0.1:2222", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", "shop.example", "0.0.0.0:8080", "http://shop.example:8080"},
		{"", "shop.example:2222", "[::]:80", "http://shop.example"},
		{"", "[::1]:2222", "[::1]:8080", "http://[::1]:8080"},
		{"https://shop.example/", "x", "127.0.0.1:8080", "https://shop.example"},
		{"https://cdn.example/shop", "x", "127.0.0.1:8080", "https://cdn.example/shop"},
	}
	for _, c := range cases {
		if got, err := publicHTTPURL(c.explicit, c.host, addr(c.listen)); err != nil || got != c.want {
			t.Errorf("publicHTTPURL(%q, %q, %s) = %q, %v; want %q", c.explicit, c.host, c.listen, got, err, c.want)
		}
	}
	for _, bad := range []string{"ftp://x", "shop.example", "http://", "http://x/?q=1"} {
		if got, err := publicHTTPURL(bad, "h", addr("127.0.0.1:1")); err == nil {
			t.Errorf("--http-url %q accepted as %q", bad, got)
		}
	}
}

func TestDialAddr(t *testing.T) {
	good := map[string]string{"ssh://shop.example": "shop.example:22", "ssh://shop.example:2222": "shop.example:2222",
		"ssh://127.0.0.1:2222": "127.0.0.1:2222", "ssh://[::1]:2222": "[::1]:2222", "ssh://[::1]": "[::1]:22"}
	for in, want := range good {
		if got, err := dialAddr(in); err != nil || got != want {
			t.Errorf("dialAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ssh://", "http://x", "shop.example"} {
		if _, err := dialAddr(bad); err == nil {
			t.Errorf("dialAddr(%q) accepted", bad)
		}
	}
}
