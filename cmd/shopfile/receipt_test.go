package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market/receipt"
	gossh "golang.org/x/crypto/ssh"
)

func runReceipt(t *testing.T, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := receiptCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(append([]string{"verify"}, args...))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.Execute()
	var ee exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.code
	}
	return out.String(), 1
}

func TestReceiptVerify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	c := receipt.Claims{Shop: "shop0123456789", Account: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", Purchase: "w0123456789abcdef",
		PriceSats: 120, At: "2026-11-01T12:00:00Z"}
	tok, err := receipt.Sign(receipt.Ed25519(priv), c)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, _ := gossh.NewPublicKey(pub)
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub)))
	keyFile := filepath.Join(t.TempDir(), "host.pub")
	if err := os.WriteFile(keyFile, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{line, receipt.EncodeKey(pub), keyFile} {
		out, code := runReceipt(t, "", tok, "--host-key", key, "--json")
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["valid"] != true || v["shop"] != c.Shop ||
			v["account"] != c.Account || v["purchase"] != c.Purchase || v["at"] != c.At {
			t.Fatalf("key %q: exit %d %s", key, code, out)
		}
	}
	if out, code := runReceipt(t, tok+"\n", "-", "--host-key", line); code != 0 || !strings.Contains(out, "valid receipt") {
		t.Fatalf("stdin: %d %s", code, out)
	}
	forged, _ := receipt.Sign(receipt.Ed25519(other), c)
	for name, args := range map[string][]string{
		"other key":     {forged, "--host-key", line, "--json"},
		"altered":       {tok[:len(tok)-3] + "AAA", "--host-key", line, "--json"},
		"another shop":  {tok, "--host-key", line, "--shop", "othershop", "--json"},
		"another buyer": {tok, "--host-key", line, "--account", "SHA256:someoneelse", "--json"},
	} {
		out, code := runReceipt(t, "", args...)
		var v map[string]any
		if code != 1 || json.Unmarshal([]byte(out), &v) != nil || v["valid"] != false {
			t.Fatalf("%s: exit %d %s", name, code, out)
		}
	}
	if _, code := runReceipt(t, "", tok); code != 2 {
		t.Fatalf("no key: exit %d", code)
	}
	if _, code := runReceipt(t, "", tok, "--host-key", "nonsense"); code != 2 {
		t.Fatalf("bad key: exit %d", code)
	}
}
