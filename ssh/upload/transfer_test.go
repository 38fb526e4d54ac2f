package upload_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/pkg/sftp"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/sshtest"
	gossh "golang.org/x/crypto/ssh"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

type lsLine struct {
	Shop      string `json:"shop"`
	Title     string `json:"title"`
	PriceSats int64  `json:"price_sats"`
	Size      int64  `json:"size"`
}

func mine(t *testing.T, s *sshtest.Shop, k *sshtest.Key) []lsLine {
	t.Helper()
	var out []lsLine
	if err := json.Unmarshal(s.MustRun(t, k, nil, "ls --mine --json"), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// uploadCmd uploads with the `upload` command, the reference for scp.
func uploadCmd(t *testing.T, s *sshtest.Shop, k *sshtest.Key, name string, data []byte) string {
	t.Helper()
	var v struct{ Shop string }
	if err := json.Unmarshal(s.MustRun(t, k, bytes.NewReader(data), "upload "+name+" --json"), &v); err != nil {
		t.Fatal(err)
	}
	return v.Shop
}

func sftpClient(t *testing.T, s *sshtest.Shop, k *sshtest.Key) (*sftp.Client, *gossh.Client) {
	t.Helper()
	conn, err := s.Dial(k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sftp.NewClient(conn)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); conn.Close() })
	return c, conn
}

func tmpEmpty(t *testing.T, s *sshtest.Shop) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.DataDir, "blobs", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("stray temp file %s", e.Name())
	}
}

// Over the sftp subsystem each session is its own key's account, and the
// market decides who may read what.
func TestSFTPIdentityAndAuthorization(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	alice, bob, carol := sshtest.NewKey(t, "alice"), sshtest.NewKey(t, "bob"), sshtest.NewKey(t, "carol")
	data := randomBytes(t, 150_000)
	ac, _ := sftpClient(t, s, alice)
	w, err := ac.Create("/song one.flac")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	shops := mine(t, s, alice)
	if len(shops) != 1 || shops[0].Title != "song one.flac" || shops[0].PriceSats != 100 || shops[0].Size != int64(len(data)) {
		t.Fatalf("after an sftp upload alice has %+v", shops)
	}
	id := shops[0].Shop
	if len(mine(t, s, bob)) != 0 {
		t.Fatal("alice's upload is bob's")
	}
	ref := s.MustRun(t, bob, nil, "fetch "+id)

	bc, _ := sftpClient(t, s, bob)
	get := func(c *sftp.Client, name string) ([]byte, error) {
		f, err := c.Open("/" + name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	if got, err := get(bc, id+".shop"); err != nil || !bytes.Equal(got, ref) {
		t.Fatalf("bob's container: %d bytes, %v", len(got), err)
	}
	if _, err := get(bc, id); !errors.Is(err, os.ErrPermission) {
		t.Fatalf("bob's plaintext before buying: %v, want permission denied", err)
	}
	if fi, err := bc.Stat("/" + id); err != nil || fi.Size() != int64(len(data)) || fi.Mode().Perm() != 0 {
		t.Fatalf("bob's stat of the plaintext: %v %v", fi, err)
	}
	if got, err := get(ac, id); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("alice's plaintext: %d bytes, %v", len(got), err)
	}

	// Buying opens it to bob (his session is still the same connection).
	s.Fund(t, s.Account(t, bob.Signer.PublicKey()), 1000)
	s.MustRun(t, bob, nil, "buy "+id)
	if got, err := get(bc, id); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("bob's plaintext after buying: %d bytes, %v", len(got), err)
	}
	ls, err := bc.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Name() != id || ls[1].Name() != id+".shop" || ls[0].Mode().Perm() != 0o400 ||
		ls[1].Size() != int64(len(ref)) {
		t.Fatalf("bob's listing: %v", names(ls))
	}
	if ls, err := sftpList(t, s, carol); err != nil || len(ls) != 0 {
		t.Fatalf("carol's listing: %v %v", ls, err)
	}
	if _, err := bc.Stat("/no-such-file"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat of a missing name: %v", err)
	}
	s.CheckLedger(t)
}

func sftpList(t *testing.T, s *sshtest.Shop, k *sshtest.Key) ([]os.FileInfo, error) {
	c, _ := sftpClient(t, s, k)
	return c.ReadDir("/")
}

func names(fis []os.FileInfo) []string {
	var out []string
	for _, fi := range fis {
		out = append(out, fmt.Sprintf("%s %v %d", fi.Name(), fi.Mode(), fi.Size()))
	}
	return out
}

// Names are refused inside the subsystem, which no middleware guards.
func TestSFTPRefusesBadNames(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	alice := sshtest.NewKey(t, "alice")
	c, _ := sftpClient(t, s, alice)
	pwned := filepath.Join(t.TempDir(), "pwned")
	bad := []string{
		"../../../../../../.." + pwned, pwned, "dir/file", "a\x01b", "a\nb", "bad\x7f", "\xff\xfe",
		strings.Repeat("n", 256),
	}
	for _, name := range bad {
		w, err := c.Create(name)
		if err == nil {
			_, _ = w.Write([]byte("x"))
			err = w.Close()
		}
		if err == nil {
			t.Errorf("upload to %q accepted", name)
		}
	}
	if _, err := os.Stat(pwned); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file appeared at %s", pwned)
	}
	if got := mine(t, s, alice); len(got) != 0 {
		t.Fatalf("refused names made shops: %+v", got)
	}
	tmpEmpty(t, s)
}

// The size cap holds inside the subsystem: the upload fails as soon as it
// passes the cap, and leaves nothing.
func TestSFTPRefusesOversize(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true, Market: market.Config{MaxUpload: 200_000}})
	alice := sshtest.NewKey(t, "alice")
	c, _ := sftpClient(t, s, alice)
	w, err := c.Create("/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.ReadFrom(bytes.NewReader(randomBytes(t, 300_000)))
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("an upload over the cap was accepted")
	}
	// Exactly at the cap is fine.
	w, err = c.Create("/fits.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadFrom(bytes.NewReader(randomBytes(t, 200_000))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := mine(t, s, alice)
	if len(got) != 1 || got[0].Title != "fits.bin" {
		t.Fatalf("shops %+v", got)
	}
	tmpEmpty(t, s)
}

// A client that vanishes mid-upload leaves no shop.
func TestSFTPDroppedConnection(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	alice := sshtest.NewKey(t, "alice")
	c, conn := sftpClient(t, s, alice)
	w, err := c.Create("/half.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(randomBytes(t, 400_000)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for s.Server.ActiveSessions() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Server.ActiveSessions(); n != 0 {
		t.Fatalf("%d sessions still active", n)
	}
	if got := mine(t, s, alice); len(got) != 0 {
		t.Fatalf("a dropped upload became a shop: %+v", got)
	}
	tmpEmpty(t, s)
}

// An idle sftp session does not hold up shutdown.
func TestShutdownEndsIdleSFTPSessions(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	alice := sshtest.NewKey(t, "alice")
	c, _ := sftpClient(t, s, alice)
	if _, err := c.ReadDir("/"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.Stop()
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("shutdown took %v with an idle sftp session", took)
	}
}

// scpLegacy runs `scp -t`/`scp -f` by hand, as a hostile client may.
func scpLegacy(t *testing.T, s *sshtest.Shop, k *sshtest.Key, cmd string, input io.Reader) (stdout []byte, stderr string, code int, took time.Duration) {
	t.Helper()
	start := time.Now()
	res, err := s.Run(k, input, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return res.Stdout, res.Stderr, res.Code, time.Since(start)
}

// The legacy protocol declares the size up front: it is checked before a
// byte of data is read, and a stream that ends short makes nothing.
func TestLegacySCPRefusals(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true, Market: market.Config{MaxUpload: 100_000}})
	alice := sshtest.NewKey(t, "alice")

	// 10 GB declared, no data sent and stdin left open: the refusal must
	// not wait for data.
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = io.WriteString(pw, "C0644 10000000000 huge.bin\n") }()
	_, stderr, code, took := scpLegacy(t, s, alice, "scp -t .", pr)
	if code != 1 || !strings.Contains(stderr, "upload limit") || took > 5*time.Second {
		t.Fatalf("oversized declaration: exit %d after %v, %q", code, took, stderr)
	}

	cases := map[string]struct{ cmd, input, want string }{
		"short stream": {"scp -t .", "C0644 50000 short.bin\n" + strings.Repeat("x", 20000), "short"},
		"traversal":    {"scp -t ../../../tmp/x", "C0644 5 a.bin\nhello\x00", "leaves"},
		"bad name":     {"scp -t .", "C0644 5 ../a.bin\nhello\x00", "plain name"},
		"subdirectory": {"scp -t tmp/x", "C0644 5 a.bin\nhello\x00", "subdirectories"},
		"recursive":    {"scp -r -t .", "D0755 0 dir\nC0644 5 a.bin\nhello\x00E\n", "flat directory"},
		"download dir": {"scp -r -f .", "\x00", "flat directory"},
		"not a shop":   {"scp -f nosuchshop", "\x00", "no such shop"},
		"traversal -f": {"scp -f ../../etc/passwd", "\x00", "leaves"},
	}
	for name, c := range cases {
		_, stderr, code, _ := scpLegacy(t, s, alice, c.cmd, strings.NewReader(c.input))
		if code != 1 || !strings.Contains(stderr, c.want) || !strings.HasSuffix(stderr, "\n") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", name, code, stderr, c.want)
		}
	}
	if got := mine(t, s, alice); len(got) != 0 {
		t.Fatalf("refused legacy uploads made shops: %+v", got)
	}
	tmpEmpty(t, s)

	// And the protocol works by hand too.
	out, stderr, code, _ := scpLegacy(t, s, alice, "scp -t .", strings.NewReader("C0644 5 hello.txt\nhello\x00"))
	if code != 0 || !bytes.Equal(out, []byte{0, 0, 0, 0}) || !strings.Contains(stderr, "hello.txt") {
		t.Fatalf("legacy upload: exit %d, out %q, stderr %q", code, out, stderr)
	}
}

// `show --json` names the container's magnet link, and its .torrent when
// the shop serves HTTP.
func TestShowHasMagnetAndTorrent(t *testing.T) {
	const base = "http://shop.example:8080"
	s := sshtest.Start(t, sshtest.Options{NoTUI: true, Market: market.Config{HTTPURL: base}})
	alice := sshtest.NewKey(t, "alice")
	id := uploadCmd(t, s, alice, "x.bin", randomBytes(t, 50_000))
	var v struct {
		Magnet  string `json:"magnet"`
		Torrent string `json:"torrent"`
	}
	if err := json.Unmarshal(s.MustRun(t, alice, nil, "show "+id+" --json"), &v); err != nil {
		t.Fatal(err)
	}
	if v.Torrent != base+"/s/"+id+".torrent" {
		t.Fatalf("torrent %q", v.Torrent)
	}
	m, err := metainfo.ParseMagnetV2Uri(v.Magnet)
	if err != nil || !m.InfoHash.Ok || m.Params.Get("ws") != base+"/s/"+id+".shop" {
		t.Fatalf("magnet %q: %+v %v", v.Magnet, m, err)
	}

	plain := sshtest.Start(t, sshtest.Options{NoTUI: true})
	id2 := uploadCmd(t, plain, alice, "y.bin", randomBytes(t, 10))
	raw := plain.MustRun(t, alice, nil, "show "+id2+" --json")
	if err := json.Unmarshal(raw, &v); err != nil || v.Torrent != "" || !strings.HasPrefix(v.Magnet, "magnet:?xt=urn:btih:") {
		t.Fatalf("without HTTP: %s", raw)
	}
}
