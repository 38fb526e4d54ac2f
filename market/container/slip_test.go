package container

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/ssh"
)

func buyers(t *testing.T) map[string]buyer {
	return map[string]buyer{"ed25519": ed25519Buyer(t, 3), "rsa2048": rsaBuyer(t)}
}

// A slip opens only with the buyer's own key, for both supported key types.
func TestSlipOpensOnlyForBuyer(t *testing.T) {
	s := sealPlain(t, pattern(100))
	stranger := ed25519Buyer(t, 4)
	for name, b := range buyers(t) {
		slip, err := NewSlip(s.key, b.pub)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		key, err := UnwrapSlip(slip, b.id)
		if err != nil || !bytes.Equal(key, s.key) {
			t.Fatalf("%s: buyer cannot unwrap: %v", name, err)
		}
		if err := CheckKey(bytes.NewReader(s.file), s.h, key); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = UnwrapSlip(slip, stranger.id)
		wantErr(t, err, ErrNoIdentity)
	}
	// An RSA identity on an ed25519 slip is a stranger too.
	slip, _ := NewSlip(s.key, ed25519Buyer(t, 3).pub)
	_, err := UnwrapSlip(slip, rsaBuyer(t).id)
	wantErr(t, err, ErrNoIdentity)
}

// Stock age opens slip ‖ container[PayloadOffset():] with the buyer's SSH key:
// the shop is not needed once a buyer has a slip.
func TestSlipStockAgeInterop(t *testing.T) {
	s := sealPlain(t, pattern(2*chunkSize+3))
	for name, b := range buyers(t) {
		slip, err := NewSlip(s.key, b.pub)
		if err != nil {
			t.Fatal(err)
		}
		ageFile := append(bytes.Clone(slip), s.file[s.h.PayloadOffset():]...)
		r, err := age.Decrypt(bytes.NewReader(ageFile), b.id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, s.plain) {
			t.Fatalf("%s: stock age decrypt: %v", name, err)
		}
	}
}

func TestSlipForOtherContainer(t *testing.T) {
	a, b := sealPlain(t, pattern(10)), sealPlain(t, pattern(10))
	buyer := ed25519Buyer(t, 3)
	slip, _ := NewSlip(b.key, buyer.pub)
	key, err := UnwrapSlip(slip, buyer.id)
	if err != nil {
		t.Fatal(err)
	}
	err = CheckKey(bytes.NewReader(a.file), a.h, key)
	wantErr(t, err, ErrKeyMismatch)
	if !strings.Contains(err.Error(), contentIDString(a.h)) {
		t.Fatalf("mismatch message does not name the container: %v", err)
	}
	_, err = Decrypt(io.Discard, bytes.NewReader(a.file), a.h, key)
	wantErr(t, err, ErrKeyMismatch)
	_, _, err = NewReaderAt(bytes.NewReader(a.file), a.h, key)
	wantErr(t, err, ErrKeyMismatch)
	wantErr(t, CheckKey(bytes.NewReader(a.file), a.h, key[:15]), ErrKeyMismatch)
}

func TestSlipUnsupportedKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := ssh.NewPublicKey(&ec.PublicKey)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPub, _ := ssh.NewPublicKey(&small.PublicKey)
	for _, k := range []ssh.PublicKey{ecPub, smallPub} {
		_, err := NewSlip(make([]byte, 16), k)
		wantErr(t, err, ErrUnsupportedKey)
		if !strings.Contains(err.Error(), "use `get`") {
			t.Fatalf("message does not name the fallback: %v", err)
		}
	}
	if _, err := NewSlip(make([]byte, 15), ed25519Buyer(t, 3).pub); err == nil {
		t.Fatal("15-byte file key accepted")
	}
}

// slipWith builds a header for arbitrary stanzas with our own serializer.
func slipWith(t *testing.T, key []byte, rs ...age.Recipient) []byte {
	t.Helper()
	var stanzas []*age.Stanza
	for _, r := range rs {
		s, err := r.Wrap(key)
		if err != nil {
			t.Fatal(err)
		}
		stanzas = append(stanzas, s...)
	}
	hdr, err := marshalAgeHeader(stanzas, key)
	if err != nil {
		t.Fatal(err)
	}
	return hdr
}

func mustRecipient(t *testing.T, k ssh.PublicKey) age.Recipient {
	t.Helper()
	r, err := buyerRecipient(k)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestUnwrapSlipLimits(t *testing.T) {
	key := make([]byte, 16)
	buyer := ed25519Buyer(t, 3)
	scrypt, _ := age.NewScryptRecipient("pw")
	scrypt.SetWorkFactor(1) // only the stanza type matters; keep the test fast
	x := escrowIdentity(t).Recipient()
	good := slipWith(t, key, x)
	five := strings.Replace(string(good), "\n---", strings.Repeat("\n-> X25519 a\nAAAA", 4)+"\n---", 1)
	// The buyer's own stanza, but MACed under another key: damaged, not "not yours".
	wrapped, _ := mustRecipient(t, buyer.pub).Wrap(key)
	badMAC, err := marshalAgeHeader(wrapped, bytes.Repeat([]byte{1}, 16))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"oversized": append(bytes.Clone(good), make([]byte, 4096)...),
		"scrypt":    slipWith(t, key, scrypt),
		"unknown":   []byte("age-encryption.org/v1\n-> plugin-x a\nAAAA\n--- AAAA\n"),
		"5 stanzas": []byte(five),
		"not age":   []byte("hello"),
		"bad MAC":   badMAC,
	}
	for name, slip := range cases {
		_, err := UnwrapSlip(slip, buyer.id)
		if err == nil || errors.Is(err, ErrNoIdentity) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := UnwrapSlip(good); err == nil {
		t.Error("no identities accepted")
	}
}

// Our header serializer must produce exactly what age writes for the same
// stanzas and key, including bodies that end on a full base64 line.
func TestMarshalAgeHeaderMatchesAge(t *testing.T) {
	s := sealPlain(t, pattern(5))
	escrowHdr := s.file[s.h.EnvLen:s.h.PayloadOffset()]
	if err := checkAgeHeader(escrowHdr); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 47, 48, 49, 96, 300} {
		st := &age.Stanza{Type: "test", Args: []string{"a", "b"}, Body: pattern(n)}
		hdr, err := marshalAgeHeader([]*age.Stanza{st}, make([]byte, 16))
		if err != nil {
			t.Fatal(err)
		}
		canon, err := age.ExtractHeader(bytes.NewReader(hdr))
		if err != nil || !bytes.Equal(canon, hdr) {
			t.Fatalf("body %d: age re-marshals our header differently: %v", n, err)
		}
		if _, err := age.DecryptHeader(hdr, age.NewInjectedFileKeyIdentity(make([]byte, 16))); err != nil {
			t.Fatalf("body %d: age refuses our MAC: %v", n, err)
		}
	}
}

func TestSlipIsSmall(t *testing.T) {
	slip, err := NewSlip(make([]byte, 16), ed25519Buyer(t, 3).pub)
	if err != nil || len(slip) > 256 {
		t.Fatalf("ed25519 slip is %d bytes: %v", len(slip), err)
	}
}

func TestParseIdentityFile(t *testing.T) {
	for name, b := range buyers(t) {
		if _, err := ParseIdentityFile(b.pem); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey())})
	if _, err := ParseIdentityFile(pkcs1); err != nil {
		t.Errorf("PEM RSA key: %v", err)
	}
	if _, err := ParseIdentityFile(pemWithPassphrase(t)); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("encrypted key: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPEM, _ := ssh.MarshalPrivateKey(ec, "")
	_, err := ParseIdentityFile(pem.EncodeToMemory(ecPEM))
	wantErr(t, err, ErrUnsupportedKey)
	if _, err := ParseIdentityFile([]byte("not a key")); err == nil {
		t.Error("garbage accepted")
	}
}

// TestStockAgeCLI runs the documented shell recipe against the real age
// binary when one is on PATH (it is not installed on the CI image).
func TestStockAgeCLI(t *testing.T) {
	ageBin, err := exec.LookPath("age")
	if err != nil {
		t.Skip("age CLI not installed")
	}
	keygen := needKeygen(t)
	dir := t.TempDir()
	id := filepath.Join(dir, "id")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", id).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pubText, _ := os.ReadFile(id + ".pub")
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubText)
	if err != nil {
		t.Fatal(err)
	}
	s := sealPlain(t, pattern(2*chunkSize+1))
	slip, _ := NewSlip(s.key, pub)
	os.WriteFile(filepath.Join(dir, "file.shop"), s.file, 0o600)
	os.WriteFile(filepath.Join(dir, "slip"), slip, 0o600)
	script := fmt.Sprintf(`(cat slip; tail -c +$((%d + 1)) file.shop) | %q -d -i id`, s.h.PayloadOffset(), ageBin)
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, s.plain) {
		t.Fatalf("stock age: %v", err)
	}
}
