package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestHostKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssh", "host_ed25519")
	a, err := HostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HostKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.PublicKey().Marshal(), b.PublicKey().Marshal()) {
		t.Fatal("a second load made a new host key")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("host key mode %v, want 0600", st.Mode().Perm())
	}
}

// A host key that exists but cannot be used must stop the server, not be
// silently replaced (every returning user would see a MITM warning).
func TestHostKeyRefusesDamagedFile(t *testing.T) {
	dir := t.TempDir()
	damaged := filepath.Join(dir, "damaged")
	if err := os.WriteFile(damaged, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := HostKey(damaged); err == nil {
		t.Fatal("a damaged host key was accepted")
	}
	if b, _ := os.ReadFile(damaged); !bytes.Contains(b, []byte("garbage")) {
		t.Fatal("the damaged host key was overwritten")
	}
	unreadable := filepath.Join(dir, "unreadable")
	if err := os.Mkdir(unreadable, 0o700); err != nil { // a directory cannot be read as a key
		t.Fatal(err)
	}
	if _, err := HostKey(unreadable); err == nil {
		t.Fatal("an unreadable host key path was accepted")
	}
}

// Two servers starting at once on one shared data directory agree on one key.
func TestConcurrentCreationYieldsOneKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seal.key")
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := SealKey(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = s.key
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) {
			t.Fatal("concurrent starts made different keys")
		}
	}
}

func TestSealerBindsKeyToShop(t *testing.T) {
	s, err := SealKey(filepath.Join(t.TempDir(), "seal.key"))
	if err != nil {
		t.Fatal(err)
	}
	fileKey := []byte("0123456789abcdef")
	sealed, err := s.Seal(fileKey, "shop-a")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(sealed, "shop-a"); err != nil || !bytes.Equal(got, fileKey) {
		t.Fatalf("open: %v", err)
	}
	if _, err := s.Open(sealed, "shop-b"); err == nil {
		t.Fatal("a sealed key opened for another shop")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed, "shop-a"); err == nil {
		t.Fatal("a tampered sealed key opened")
	}
}

func TestEscrowPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "escrow.age")
	a, err := Escrow(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Escrow(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Recipient().String() != b.Recipient().String() {
		t.Fatal("escrow identity changed across loads")
	}
}
