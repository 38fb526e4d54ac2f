package receipt_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market/receipt"
	"golang.org/x/crypto/ssh"
)

func key(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

var claims = receipt.Claims{Shop: "0123456789abcdefghjkmnpqrs", Account: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
	Purchase: "p0123456789abcdefghjkmnpqrs", PriceSats: 250, At: "2026-11-01T12:00:00Z"}

func TestSignVerify(t *testing.T) {
	pub, priv := key(t)
	tok, err := receipt.Sign(receipt.Ed25519(priv), claims)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "sfr1.") || strings.Count(tok, ".") != 2 || len(tok) > 400 {
		t.Fatalf("token %q", tok)
	}
	c, err := receipt.Verify(pub, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := claims
	want.V = 1
	if c != want {
		t.Fatalf("claims %+v, want %+v", c, want)
	}
	if err := c.For(claims.Shop, claims.Account); err != nil {
		t.Fatal(err)
	}
	// Bound to its shop and its buyer.
	if err := c.For("anothershop", ""); !errors.Is(err, receipt.ErrInvalid) {
		t.Fatalf("another shop: %v", err)
	}
	if err := c.For(claims.Shop, "SHA256:someoneelse"); !errors.Is(err, receipt.ErrInvalid) {
		t.Fatalf("another buyer: %v", err)
	}
	// The few lines docs/receipts.md shows, done by hand.
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("the documented check fails")
	}
}

func TestForgeries(t *testing.T) {
	pub, priv := key(t)
	_, other := key(t)
	tok, err := receipt.Sign(receipt.Ed25519(priv), claims)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	// A payload rewritten to another shop or buyer, with the old signature.
	c2 := claims
	c2.Account = "SHA256:AAAAztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
	other2, _ := receipt.Sign(receipt.Ed25519(priv), c2)
	swapped := parts[0] + "." + strings.Split(other2, ".")[1] + "." + parts[2]
	byOther, _ := receipt.Sign(receipt.Ed25519(other), claims)
	flip := []byte(tok)
	flip[len(flip)-5] ^= 1
	for name, bad := range map[string]string{
		"empty": "", "garbage": "hello", "two parts": parts[0] + "." + parts[1], "four parts": tok + ".x",
		"wrong prefix": "sfr2." + parts[1] + "." + parts[2], "swapped payload": swapped, "other key": byOther,
		"flipped bit": string(flip), "huge": "sfr1." + strings.Repeat("A", 5000) + "." + parts[2],
		"unsigned": parts[0] + "." + parts[1] + ".",
	} {
		if _, err := receipt.Verify(pub, bad); !errors.Is(err, receipt.ErrInvalid) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
	}
	// The signature covers the prefix: the same signature over the bare
	// payload (another protocol's message) does not verify.
	if ed25519.Verify(pub, []byte(parts[1]), mustB64(t, parts[2])) {
		t.Fatal("signature is not domain-separated")
	}
	// Signing refuses nonsense.
	bad := claims
	bad.Shop = "../etc"
	if _, err := receipt.Sign(receipt.Ed25519(priv), bad); err == nil {
		t.Fatal("signed a bad shop id")
	}
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSSHSignerAndKeyForms(t *testing.T) {
	pub, priv := key(t)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := receipt.Sign(receipt.SSH(signer), claims)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	file := filepath.Join(t.TempDir(), "host.pub")
	if err := os.WriteFile(file, []byte(line+" comment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{line, receipt.EncodeKey(pub), base64.StdEncoding.EncodeToString(pub), hex.EncodeToString(pub), file} {
		k, err := receipt.ParseKey(form)
		if err != nil {
			t.Fatalf("%q: %v", form, err)
		}
		if _, err := receipt.Verify(k, tok); err != nil {
			t.Fatalf("%q: %v", form, err)
		}
	}
	if _, err := receipt.ParseKey("ssh-rsa AAAA"); err == nil {
		t.Fatal("accepted a bad key")
	}
	if fp := receipt.Fingerprint(pub); fp != ssh.FingerprintSHA256(signer.PublicKey()) {
		t.Fatalf("fingerprint %s", fp)
	}
}

func FuzzVerify(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok, _ := receipt.Sign(receipt.Ed25519(priv), claims)
	f.Add(tok)
	f.Add("sfr1..")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := receipt.Verify(pub, s)
		if err == nil && s != tok && strings.TrimSpace(s) != tok {
			t.Fatalf("accepted %q as %+v", s, c)
		}
	})
}
