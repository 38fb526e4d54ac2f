package container

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// openCase lays out a container, a slip and an identity in a fresh directory
// the way `shopfile open` finds them.
type openCase struct {
	dir, shop, slip, id, out string
}

func newOpenCase(t *testing.T, file, slip, identity []byte) openCase {
	t.Helper()
	d := t.TempDir()
	c := openCase{dir: d, shop: filepath.Join(d, "f.shop"), slip: filepath.Join(d, "f.slip"),
		id: filepath.Join(d, "id"), out: filepath.Join(d, "out", "plain.bin")}
	for p, b := range map[string][]byte{c.shop: file, c.slip: slip, c.id: identity} {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Dir(c.out), 0o700); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c openCase) run() error { return OpenFile(c.shop, c.slip, c.id, c.out) }

// assertNoOutput checks the failure left nothing behind, not even a temp file.
func (c openCase) assertNoOutput(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(c.out))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("failed open left %d file(s), first %s", len(ents), ents[0].Name())
	}
}

func TestOpenFile(t *testing.T) {
	s := sealPlain(t, pattern(2*chunkSize+99))
	b := ed25519Buyer(t, 3)
	slip, err := NewSlip(s.key, b.pub)
	if err != nil {
		t.Fatal(err)
	}
	c := newOpenCase(t, s.file, slip, b.pem)
	if err := c.run(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(c.out)
	if err != nil || !bytes.Equal(got, s.plain) {
		t.Fatalf("output differs: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(c.out)); len(ents) != 1 {
		t.Fatalf("%d files beside the output, want only it", len(ents))
	}
}

func TestOpenFileFailuresLeaveNothing(t *testing.T) {
	s := sealPlain(t, pattern(2*chunkSize+99))
	b := ed25519Buyer(t, 3)
	slip, _ := NewSlip(s.key, b.pub)
	other := sealPlain(t, pattern(10))
	otherSlip, _ := NewSlip(other.key, b.pub)
	encID := pemWithPassphrase(t)
	lastChunk := s.h.Size() - 100
	cases := map[string]struct{ file, slip, id []byte }{
		"wrong identity":       {s.file, slip, ed25519Buyer(t, 4).pem},
		"slip for other file":  {s.file, otherSlip, b.pem},
		"flipped payload byte": {flipped(s.file, lastChunk), slip, b.pem},
		"flipped header byte":  {flipped(s.file, 40), slip, b.pem},
		"truncated":            {s.file[:len(s.file)-1], slip, b.pem},
		"trailing data":        {append(bytes.Clone(s.file), 0), slip, b.pem},
		"substituted body":     {forgeBody(t, s, pattern(len(s.plain) + 1)[1:]), slip, b.pem},
		"encrypted identity":   {s.file, slip, encID},
	}
	for name, k := range cases {
		c := newOpenCase(t, k.file, k.slip, k.id)
		if err := c.run(); err == nil {
			t.Fatalf("%s: opened", name)
		}
		c.assertNoOutput(t)
	}
}

// pemWithPassphrase is an OpenSSH key encrypted with a passphrase. Its bcrypt
// KDF is slow under -race, so it is built once per test binary.
func pemWithPassphrase(t *testing.T) []byte {
	t.Helper()
	b, err := encryptedKey()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var encryptedKey = sync.OnceValues(func() ([]byte, error) {
	blk, err := ssh.MarshalPrivateKeyWithPassphrase(seedKey(3), "", []byte("pw"))
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(blk), nil
})
