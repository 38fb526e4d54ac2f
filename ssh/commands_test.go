package ssh_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/sshtest"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not one JSON value: %v: %q", err, b)
	}
	return v
}

// keysOf returns the object's field names, to check JSON shapes exactly.
func keysOf(t testing.TB, b []byte) map[string]bool {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %q", err, b)
	}
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func requireKeys(t testing.TB, b []byte, want ...string) {
	t.Helper()
	have := keysOf(t, b)
	for _, k := range want {
		if !have[k] {
			t.Errorf("JSON %s lacks %q", b, k)
		}
	}
}

func expectCode(t testing.TB, s *sshtest.Shop, k *sshtest.Key, stdin io.Reader, cmd string, code int) sshtest.Result {
	t.Helper()
	res, err := s.Run(k, stdin, cmd)
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if res.Code != code {
		t.Fatalf("%s: exit %d, want %d (stderr %q)", cmd, res.Code, code, res.Stderr)
	}
	if code != 0 && (res.Stderr == "" || strings.Count(strings.TrimSpace(res.Stderr), "\n") != 0) {
		t.Fatalf("%s: want one line on stderr, got %q", cmd, res.Stderr)
	}
	return res
}

func TestCatalogueCommands(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	alice, bob := sshtest.NewKey(t, "alice"), sshtest.NewKey(t, "bob")
	data := randomBytes(t, 150_000)

	who := s.MustRun(t, alice, nil, "whoami --json")
	requireKeys(t, who, "account", "roles", "balance_sats")
	if w := decode[struct{ Account string }](t, who); w.Account != alice.ID {
		t.Fatalf("whoami %s, want %s", w.Account, alice.ID)
	}

	up := s.MustRun(t, alice, bytes.NewReader(data), "upload song.mp3 --price 500 --title Test Song --description A b c --json")
	requireKeys(t, up, "shop", "size", "price_sats", "content_hash")
	u := decode[struct {
		Shop      string
		Size      int64
		PriceSats int64 `json:"price_sats"`
		Title     string
	}](t, up)
	if u.Size != int64(len(data)) || u.PriceSats != 500 || u.Title != "Test Song" {
		t.Fatalf("upload %+v", u)
	}

	ls := s.MustRun(t, bob, nil, "ls --json")
	var lines []map[string]any
	if err := json.Unmarshal(ls, &lines); err != nil || len(lines) != 1 {
		t.Fatalf("ls: %v %s", err, ls)
	}
	for _, k := range []string{"shop", "title", "price_sats", "size", "payee"} {
		if _, ok := lines[0][k]; !ok {
			t.Errorf("ls line lacks %q", k)
		}
	}
	if got := s.MustRun(t, bob, nil, "ls test song --json"); !bytes.Contains(got, []byte(u.Shop)) {
		t.Fatalf("search by two words missed the shop: %s", got)
	}
	if got := s.MustRun(t, bob, nil, "ls nothing-like-it --json"); strings.TrimSpace(string(got)) != "[]" {
		t.Fatalf("search with no hit: %s", got)
	}

	show := s.MustRun(t, bob, nil, "show "+u.Shop+" --json")
	requireKeys(t, show, "shop", "title", "description", "price_sats", "size", "payee", "sales")
	sh := decode[struct {
		Payee       string
		Description string
	}](t, show)
	if sh.Payee != alice.ID || sh.Description != "A b c" {
		t.Fatalf("show %s", show)
	}

	price := s.MustRun(t, alice, nil, "price "+u.Shop+" 700 --json")
	requireKeys(t, price, "shop", "price_sats")

	got := s.MustRun(t, alice, nil, "get "+u.Shop)
	if !bytes.Equal(got, data) {
		t.Fatal("get returned other bytes")
	}
	enc := s.MustRun(t, bob, nil, "fetch "+u.Shop)
	if len(enc) < len(data) || bytes.Contains(enc, data[:256]) {
		t.Fatal("fetch is not the encrypted container")
	}
	// Human output works too.
	if out := s.MustRun(t, bob, nil, "show "+u.Shop); !bytes.Contains(out, []byte("700 sats")) {
		t.Fatalf("human show: %s", out)
	}
}

func TestRefusalsAndExitCodes(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true, Market: market.Config{MaxUpload: 64 << 10}})
	alice, bob := sshtest.NewKey(t, "alice"), sshtest.NewKey(t, "bob")
	shop := decode[struct{ Shop string }](t, s.MustRun(t, alice, bytes.NewReader([]byte("hello")), "upload a.txt --price 500 --json")).Shop

	expectCode(t, s, bob, nil, "price "+shop+" 1", 1)
	expectCode(t, s, alice, nil, "price "+shop+" -5", 1)
	expectCode(t, s, alice, nil, "price "+shop+" 0", 1)
	expectCode(t, s, alice, nil, "price "+shop+" ten", 1)
	expectCode(t, s, alice, nil, "price "+shop+" 1.5", 1)
	expectCode(t, s, bob, nil, "get "+shop, 1)
	expectCode(t, s, bob, nil, "licence "+shop, 1)
	expectCode(t, s, bob, nil, "show nosuchshop --json", 1)
	expectCode(t, s, bob, nil, "get nosuchshop", 1)
	expectCode(t, s, bob, nil, "show", 2)
	expectCode(t, s, bob, nil, "frobnicate", 2)
	expectCode(t, s, bob, nil, "ls --no-such-flag", 2)
	expectCode(t, s, bob, nil, "price "+shop, 2)
	expectCode(t, s, alice, bytes.NewReader(nil), "upload", 2)
	expectCode(t, s, alice, bytes.NewReader([]byte("x")), "upload x --price -3", 1)
	expectCode(t, s, alice, bytes.NewReader([]byte("x")), "upload ../../etc/passwd", 1)

	res := expectCode(t, s, alice, bytes.NewReader(randomBytes(t, 65<<10)), "upload big.bin", 1)
	if !strings.Contains(res.Stderr, "limit") {
		t.Errorf("oversize message %q does not name the limit", res.Stderr)
	}
	if show := s.MustRun(t, bob, nil, "show "+shop+" --json"); !bytes.Contains(show, []byte(`"price_sats":500`)) {
		t.Fatalf("refused reprices changed the price: %s", show)
	}
	if ls := s.MustRun(t, bob, nil, "ls --json"); bytes.Count(ls, []byte(`"shop"`)) != 1 {
		t.Fatalf("refused uploads left shops: %s", ls)
	}
	assertOnlyBlobs(t, s.DataDir, 1)
}

// assertOnlyBlobs checks the blob dir holds exactly n containers and no
// temp files.
func assertOnlyBlobs(t *testing.T, dir string, n int) {
	t.Helper()
	var found []string
	filepath.Walk(filepath.Join(dir, "blobs"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			found = append(found, p)
		}
		return nil
	})
	if len(found) != n {
		t.Fatalf("blobs on disk: %v, want %d containers", found, n)
	}
}

func TestPasswordAndKeyboardInteractiveRefused(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	for name, auth := range map[string]gossh.AuthMethod{
		"password": gossh.Password("hunter2"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"hunter2"}, nil
		}),
	} {
		c, err := gossh.Dial("tcp", s.Addr, &gossh.ClientConfig{User: "x", Auth: []gossh.AuthMethod{auth},
			HostKeyCallback: gossh.FixedHostKey(s.HostKey), Timeout: 5 * time.Second})
		if err == nil {
			c.Close()
			t.Fatalf("%s login accepted", name)
		}
	}
}

// refusingAgent lists two keys but will not sign with the first: OpenSSH
// offers that key, the server says it would accept it, the agent refuses,
// and the client authenticates with the second key. The soft-serve auth
// bypass was an identity taken from such an offered key.
type refusingAgent struct {
	agent.Agent
	refuse gossh.PublicKey
}

func (a refusingAgent) Sign(key gossh.PublicKey, data []byte) (*gossh.Signature, error) {
	if bytes.Equal(key.Marshal(), a.refuse.Marshal()) {
		return nil, errors.New("refused")
	}
	return a.Agent.Sign(key, data)
}

func (a refusingAgent) SignWithFlags(key gossh.PublicKey, data []byte, flags agent.SignatureFlags) (*gossh.Signature, error) {
	if bytes.Equal(key.Marshal(), a.refuse.Marshal()) {
		return nil, errors.New("refused")
	}
	return a.Agent.(agent.ExtendedAgent).SignWithFlags(key, data, flags)
}

func TestOfferedButUnsignedKeyGivesNoIdentity(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("OpenSSH client not installed")
	}
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	admin, mallory := sshtest.NewKey(t, "admin"), sshtest.NewKey(t, "mallory")
	if err := s.Market.Grant(context.Background(), admin.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	for _, k := range []*sshtest.Key{admin, mallory} {
		raw, err := os.ReadFile(k.Path)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := gossh.ParseRawPrivateKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = agent.ServeAgent(refusingAgent{Agent: keyring, refuse: admin.Signer.PublicKey()}, c)
			}()
		}
	}()
	cmd := exec.Command(sshBin, "-p", s.Port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-v", "-o", "BatchMode=yes", "-o", "LogLevel=DEBUG1", "-o", "IdentitiesOnly=no", "-F", "/dev/null", "127.0.0.1", "whoami", "--json")
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock, "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh: %v\n%s", err, stderr.String())
	}
	// Make sure the scenario happened: the admin key was offered, accepted
	// for signing, and the agent refused to sign.
	if !strings.Contains(stderr.String(), "Server accepts key: ") || !strings.Contains(stderr.String(), "agent refused") {
		t.Fatalf("the admin key was not offered-then-refused:\n%s", stderr.String())
	}
	w := decode[struct {
		Account string
		Roles   []string
	}](t, out)
	if w.Account != mallory.ID || len(w.Roles) != 0 {
		t.Fatalf("identity %s roles %v: the offered admin key leaked into the session", w.Account, w.Roles)
	}
}

// Tens of commands at once from one address are all served.
func TestManyConcurrentCommandsFromOneAddress(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	k := sshtest.NewKey(t, "busy")
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Run(k, nil, "whoami --json")
			if err == nil && res.Code != 0 {
				err = io.ErrUnexpectedEOF
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a concurrent command failed: %v", err)
		}
	}
}

func TestRestartKeepsHostKeyAndShops(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	k := sshtest.NewKey(t, "k")
	shop := decode[struct{ Shop string }](t, s.MustRun(t, k, strings.NewReader("data"), "upload a --price 9 --json")).Shop
	host := s.HostKey
	s.Stop()
	s2 := sshtest.Start(t, sshtest.Options{NoTUI: true, DataDir: s.DataDir})
	if !bytes.Equal(s2.HostKey.Marshal(), host.Marshal()) {
		t.Fatal("host key changed across a restart")
	}
	if show := s2.MustRun(t, k, nil, "show "+shop+" --json"); !bytes.Contains(show, []byte(`"price_sats":9`)) {
		t.Fatalf("shop lost across a restart: %s", show)
	}
}

// Channels multiplexed on one connection (OpenSSH ControlMaster, bench
// clients) each get the connection's identity; none may run as nobody.
func TestManyChannelsOnOneConnection(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	k := sshtest.NewKey(t, "k")
	c, err := s.Dial(k)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := sshtest.RunOn(c, nil, "whoami --json")
			if err != nil || res.Code != 0 || !bytes.Contains(res.Stdout, []byte(k.ID)) {
				errs <- fmt.Sprintf("err=%v code=%d stdout=%q stderr=%q", err, res.Code, res.Stdout, res.Stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
