package upload_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/sshtest"
)

// openssh runs the real OpenSSH clients against an in-process shop. The
// tests skip only when the binaries are missing.
type openssh struct {
	t    *testing.T
	s    *sshtest.Shop
	dir  string
	opts []string
}

func newOpenSSH(t *testing.T, s *sshtest.Shop) *openssh {
	t.Helper()
	for _, bin := range []string{"scp", "sftp", "ssh"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("OpenSSH %s not installed", bin)
		}
	}
	return &openssh{t: t, s: s, dir: t.TempDir(), opts: []string{"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-P", s.Port}}
}

// run runs an OpenSSH client as key; it returns its combined output and
// whether it exited 0.
func (o *openssh) run(key *sshtest.Key, bin string, args ...string) (string, bool) {
	o.t.Helper()
	cmd := exec.Command(bin, append(append(append([]string{}, o.opts...), "-i", key.Path), args...)...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			o.t.Fatalf("%s: %v", bin, err)
		}
	}
	return string(out), err == nil
}

func (o *openssh) scp(key *sshtest.Key, args ...string) (string, bool) {
	o.t.Helper()
	return o.run(key, "scp", append([]string{"-q"}, args...)...)
}

// sftpBatch runs sftp with a batch of commands (it stops at the first
// failure and exits non-zero).
func (o *openssh) sftpBatch(key *sshtest.Key, commands ...string) (string, bool) {
	o.t.Helper()
	batch := filepath.Join(o.dir, "batch")
	if err := os.WriteFile(batch, []byte(strings.Join(commands, "\n")+"\n"), 0o600); err != nil {
		o.t.Fatal(err)
	}
	return o.run(key, "sftp", "-b", batch, "127.0.0.1")
}

func (o *openssh) write(name string, data []byte) string {
	o.t.Helper()
	p := filepath.Join(o.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		o.t.Fatal(err)
	}
	return p
}

func (o *openssh) read(name string) []byte {
	o.t.Helper()
	b, err := os.ReadFile(filepath.Join(o.dir, name))
	if err != nil {
		o.t.Fatal(err)
	}
	return b
}

func (o *openssh) exists(name string) bool {
	_, err := os.Stat(filepath.Join(o.dir, name))
	return err == nil
}

// Uploads with scp (SFTP mode), scp -O and sftp each make a shop exactly
// like `upload`; downloads are byte for byte in every mode.
func TestOpenSSHUploadAndDownload(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	o := newOpenSSH(t, s)
	alice, bob := sshtest.NewKey(t, "alice"), sshtest.NewKey(t, "bob")
	files := map[string][]byte{
		"track one.flac": randomBytes(t, 900_000), // default SFTP mode, a name with a space
		"track2.flac":    randomBytes(t, 700_000), // scp -O
		"notes.txt":      randomBytes(t, 65_536),  // sftp put
	}
	for name, data := range files {
		o.write(name, data)
	}
	if out, ok := o.scp(alice, "track one.flac", "127.0.0.1:"); !ok {
		t.Fatalf("scp (SFTP mode) upload: %s", out)
	}
	if out, ok := o.scp(alice, "-O", "track2.flac", "127.0.0.1:"); !ok {
		t.Fatalf("scp -O upload: %s", out)
	}
	if out, ok := o.sftpBatch(alice, "put notes.txt"); !ok {
		t.Fatalf("sftp put: %s", out)
	}
	ref := uploadCmd(t, s, alice, "reference.bin", files["notes.txt"])

	byTitle := map[string]lsLine{}
	for _, l := range mine(t, s, alice) {
		byTitle[l.Title] = l
	}
	if len(byTitle) != 4 {
		t.Fatalf("alice's shops: %+v", byTitle)
	}
	for name, data := range files {
		l, ok := byTitle[name]
		if !ok || l.Size != int64(len(data)) || l.PriceSats != byTitle["reference.bin"].PriceSats {
			t.Fatalf("%s: shop %+v, want title = file name and the default price like `upload`", name, l)
		}
		if got := s.MustRun(t, alice, nil, "get "+l.Shop); !bytes.Equal(got, data) {
			t.Fatalf("%s: the shop's plaintext differs from the uploaded file", name)
		}
	}
	_ = ref

	// Downloads: the container for anyone, the plaintext for the owner,
	// in every mode, byte for byte.
	id := byTitle["track one.flac"].Shop
	enc := s.MustRun(t, bob, nil, "fetch "+id)
	modes := map[string]func(key *sshtest.Key, remote, local string) (string, bool){
		"scp":    func(k *sshtest.Key, r, l string) (string, bool) { return o.scp(k, "127.0.0.1:"+r, l) },
		"scp -O": func(k *sshtest.Key, r, l string) (string, bool) { return o.scp(k, "-O", "127.0.0.1:"+r, l) },
		"sftp":   func(k *sshtest.Key, r, l string) (string, bool) { return o.sftpBatch(k, "get "+r+" "+l) },
	}
	for mode, get := range modes {
		local := strings.ReplaceAll(mode, " ", "") + "-"
		if out, ok := get(bob, id+".shop", local+"c.shop"); !ok || !bytes.Equal(o.read(local+"c.shop"), enc) {
			t.Fatalf("%s: container for a stranger: %s", mode, out)
		}
		if out, ok := get(alice, id, local+"plain"); !ok || !bytes.Equal(o.read(local+"plain"), files["track one.flac"]) {
			t.Fatalf("%s: plaintext for the uploader: %s", mode, out)
		}
		if out, ok := get(bob, id, local+"stolen"); ok || o.exists(local+"stolen") && len(o.read(local+"stolen")) > 0 {
			t.Fatalf("%s: a stranger got the plaintext: %s", mode, out)
		}
	}
	// A buyer gets it in every mode.
	s.Fund(t, s.Account(t, bob.Signer.PublicKey()), 1000)
	s.MustRun(t, bob, nil, "buy "+id)
	for mode, get := range modes {
		local := strings.ReplaceAll(mode, " ", "") + "-bought"
		if out, ok := get(bob, id, local); !ok || !bytes.Equal(o.read(local), files["track one.flac"]) {
			t.Fatalf("%s: plaintext for a buyer: %s", mode, out)
		}
	}
	// sftp's ls shows what bob may open.
	if out, ok := o.sftpBatch(bob, "ls -l"); !ok || !strings.Contains(out, id+".shop") {
		t.Fatalf("sftp ls: %s", out)
	}
	s.CheckLedger(t)
}

// Traversal, bad names and oversized files are refused in every mode,
// and nothing is created anywhere.
func TestOpenSSHRefusals(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true, Market: market.Config{MaxUpload: 300_000}})
	o := newOpenSSH(t, s)
	alice := sshtest.NewKey(t, "alice")
	o.write("ok.bin", randomBytes(t, 1000))
	o.write("big.bin", randomBytes(t, 400_000))
	victim := t.TempDir()
	target := "../../../../../../../../.." + victim + "/pwned"
	attempts := map[string]func() (string, bool){
		"scp traversal":    func() (string, bool) { return o.scp(alice, "ok.bin", "127.0.0.1:"+target) },
		"scp -O traversal": func() (string, bool) { return o.scp(alice, "-O", "ok.bin", "127.0.0.1:"+target) },
		"sftp traversal":   func() (string, bool) { return o.sftpBatch(alice, "put ok.bin "+target) },
		"scp subdir":       func() (string, bool) { return o.scp(alice, "ok.bin", "127.0.0.1:sub/dir/x") },
		"scp -O subdir":    func() (string, bool) { return o.scp(alice, "-O", "ok.bin", "127.0.0.1:sub/dir/x") },
		"scp oversize":     func() (string, bool) { return o.scp(alice, "big.bin", "127.0.0.1:") },
		"scp -O oversize":  func() (string, bool) { return o.scp(alice, "-O", "big.bin", "127.0.0.1:") },
		"sftp oversize":    func() (string, bool) { return o.sftpBatch(alice, "put big.bin") },
		"scp -r":           func() (string, bool) { return o.scp(alice, "-O", "-r", o.dir, "127.0.0.1:") },
		"sftp rm":          func() (string, bool) { return o.sftpBatch(alice, "rm x.shop") },
		"sftp mkdir":       func() (string, bool) { return o.sftpBatch(alice, "mkdir d") },
	}
	for name, try := range attempts {
		if out, ok := try(); ok {
			t.Errorf("%s was accepted: %s", name, out)
		}
	}
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Fatalf("traversal wrote into %s", victim)
	}
	if got := mine(t, s, alice); len(got) != 0 {
		t.Fatalf("refused uploads made shops: %+v", got)
	}
	tmpEmpty(t, s)
}

// A download that fails halfway (a damaged chunk) fails in every mode;
// no client reports success.
func TestOpenSSHMidStreamFailure(t *testing.T) {
	s := sshtest.Start(t, sshtest.Options{NoTUI: true})
	o := newOpenSSH(t, s)
	alice := sshtest.NewKey(t, "alice")
	id := uploadCmd(t, s, alice, "x.bin", randomBytes(t, 1<<20))
	blob := filepath.Join(s.DataDir, "blobs", id[:2], id+".shop")
	raw, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x10
	if err := os.WriteFile(blob, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, ok := o.scp(alice, "127.0.0.1:"+id, "a"); ok {
		t.Errorf("scp reported success on a damaged file: %s", out)
	}
	if out, ok := o.scp(alice, "-O", "127.0.0.1:"+id, "b"); ok {
		t.Errorf("scp -O reported success on a damaged file: %s", out)
	}
	if out, ok := o.sftpBatch(alice, "get "+id+" c"); ok {
		t.Errorf("sftp reported success on a damaged file: %s", out)
	}
}
