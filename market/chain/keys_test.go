package chain_test

import (
	"crypto/pbkdf2"
	"crypto/sha512"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"

	"github.com/shopfile/shopfile/market/chain"
)

// BIP84 test vectors (bips/bip-0084.mediawiki).
const (
	bip84Mnemonic = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
	bip84Zpub     = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
	bip84Zprv     = "zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE"
	bip84Recv0    = "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
	bip84Recv1    = "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"
	bip84Change0  = "bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el"
)

var (
	zpubVersion = []byte{0x04, 0xb2, 0x47, 0x46}
	vpubVersion = []byte{0x04, 0x5f, 0x1c, 0xf6}
)

// bip39Seed turns a mnemonic into its BIP39 seed (empty passphrase).
func bip39Seed(t *testing.T, mnemonic string) []byte {
	t.Helper()
	seed, err := pbkdf2.Key(sha512.New, mnemonic, []byte("mnemonic"), 2048, 64)
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

func account(t *testing.T, seed []byte, p *chaincfg.Params) *hdkeychain.ExtendedKey {
	t.Helper()
	k, err := hdkeychain.NewMaster(seed, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []uint32{84, p.HDCoinType, 0} {
		if k, err = k.Derive(hdkeychain.HardenedKeyStart + i); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func TestParams(t *testing.T) {
	for net, name := range map[string]string{"regtest": "regtest", "signet": "signet", "testnet": "testnet3", "mainnet": "mainnet"} {
		p, err := chain.Params(net)
		if err != nil || p.Name != name {
			t.Errorf("Params(%q) = %v, %v; want %s", net, p, err, name)
		}
	}
	if _, err := chain.Params("litecoin"); err == nil {
		t.Error("Params(litecoin): no error")
	}
}

func TestBIP84Vector(t *testing.T) {
	main := &chaincfg.MainNetParams
	// The mnemonic's account key, serialized as a zpub, is the vector.
	acct := account(t, bip39Seed(t, bip84Mnemonic), main)
	pub, err := acct.Neuter()
	if err != nil {
		t.Fatal(err)
	}
	z, err := pub.CloneWithVersion(zpubVersion)
	if err != nil {
		t.Fatal(err)
	}
	if z.String() != bip84Zpub {
		t.Fatalf("account zpub = %s, want %s", z, bip84Zpub)
	}

	for _, in := range []string{bip84Zpub, pub.String(), "  " + bip84Zpub + "\n"} {
		k, err := chain.ParseAccountKey(in, main)
		if err != nil {
			t.Fatalf("ParseAccountKey(%s): %v", in, err)
		}
		if !strings.HasPrefix(k.String(), "xpub") {
			t.Errorf("parsed key %s is not re-versioned to xpub", k)
		}
		d, err := chain.NewDeriver(k, main)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{bip84Recv0, bip84Recv1} {
			addr, script, err := d.Address(uint32(i))
			if err != nil || addr != want {
				t.Errorf("Address(%d) = %s, %v; want %s", i, addr, err, want)
			}
			if len(script) != 22 || script[0] != 0x00 || script[1] != 0x14 {
				t.Errorf("Address(%d) script %x is not P2WPKH", i, script)
			}
			_, s2, err := chain.DecodeAddress(addr, main)
			if err != nil || string(s2) != string(script) {
				t.Errorf("DecodeAddress(%s) = %x, %v; want %x", addr, s2, err, script)
			}
		}
		if addr, _, err := d.ChangeAddress(0); err != nil || addr != bip84Change0 {
			t.Errorf("ChangeAddress(0) = %s, %v; want %s", addr, err, bip84Change0)
		}
	}
	if _, _, err := func() (string, []byte, error) {
		k, _ := chain.ParseAccountKey(bip84Zpub, main)
		d, _ := chain.NewDeriver(k, main)
		return d.Address(hdkeychain.HardenedKeyStart)
	}(); err == nil {
		t.Error("Address(2^31): no error")
	}
}

func TestRegtestAddresses(t *testing.T) {
	reg := &chaincfg.RegressionNetParams
	acct := account(t, bip39Seed(t, bip84Mnemonic), reg)
	pub, _ := acct.Neuter()
	vpub, _ := pub.CloneWithVersion(vpubVersion)
	var first string
	for _, in := range []string{pub.String(), vpub.String()} {
		k, err := chain.ParseAccountKey(in, reg)
		if err != nil {
			t.Fatalf("ParseAccountKey(%s): %v", in[:4], err)
		}
		if k.String() != pub.String() {
			t.Errorf("%s parsed to %s, want the tpub", in[:4], k)
		}
		d, _ := chain.NewDeriver(k, reg)
		addr, _, err := d.Address(0)
		if err != nil || !strings.HasPrefix(addr, "bcrt1q") {
			t.Fatalf("regtest address %q, %v", addr, err)
		}
		if first == "" {
			first = addr
		} else if addr != first {
			t.Errorf("vpub and tpub derive different addresses: %s vs %s", addr, first)
		}
	}
	// The same tpub on testnet gives tb1 addresses.
	tn := &chaincfg.TestNet3Params
	k, err := chain.ParseAccountKey(pub.String(), tn)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := chain.NewDeriver(k, tn)
	if addr, _, _ := d.Address(0); !strings.HasPrefix(addr, "tb1q") {
		t.Errorf("testnet address %s", addr)
	}
	// A mainnet address is refused on regtest.
	if _, _, err := chain.DecodeAddress(bip84Recv0, reg); err == nil {
		t.Error("DecodeAddress(mainnet address, regtest): no error")
	}
}

func TestParseAccountKeyRefusals(t *testing.T) {
	main, reg := &chaincfg.MainNetParams, &chaincfg.RegressionNetParams
	seed := bip39Seed(t, bip84Mnemonic)
	mainAcct := account(t, seed, main)
	regAcct := account(t, seed, reg)
	regPub, _ := regAcct.Neuter()
	mainPub, _ := mainAcct.Neuter()
	vprv, _ := regAcct.CloneWithVersion([]byte{0x04, 0x5f, 0x18, 0xbc})
	ypub, _ := mainPub.CloneWithVersion([]byte{0x04, 0x9d, 0x7c, 0xb2})
	broken := []byte(bip84Zpub)
	broken[50] ^= 1 // checksum no longer matches

	private := []struct {
		name, key string
		p         *chaincfg.Params
	}{
		{"xprv", mainAcct.String(), main},
		{"zprv", bip84Zprv, main},
		{"tprv", regAcct.String(), reg},
		{"vprv", vprv.String(), reg},
		{"xprv on regtest", mainAcct.String(), reg},
	}
	for _, c := range private {
		_, err := chain.ParseAccountKey(c.key, c.p)
		if !errors.Is(err, chain.ErrPrivateKey) {
			t.Errorf("%s: err = %v, want ErrPrivateKey", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), "a private key was given; the server needs only the account's extended public key") {
			t.Errorf("%s: message %q", c.name, err)
		}
	}

	others := []struct {
		name, key string
		p         *chaincfg.Params
		want      string
	}{
		{"mainnet xpub on regtest", mainPub.String(), reg, "mainnet"},
		{"mainnet zpub on regtest", bip84Zpub, reg, "regtest"},
		{"tpub on mainnet", regPub.String(), main, "test network"},
		{"ypub", ypub.String(), main, "BIP49"},
		{"garbage", "hello world", reg, "not a valid extended key"},
		{"empty", "  ", reg, "no extended key"},
		{"address", bip84Recv0, main, "not a valid extended key"},
		{"bad checksum", string(broken), main, "not a valid extended key"},
	}
	for _, c := range others {
		_, err := chain.ParseAccountKey(c.key, c.p)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if errors.Is(err, chain.ErrPrivateKey) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %q, want it to mention %q", c.name, err, c.want)
		}
	}
}

func TestEnsureRegtestAccount(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	xpub, err := chain.EnsureRegtestAccount(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := chain.EnsureRegtestAccount(dir)
	if err != nil || again != xpub {
		t.Fatalf("second call = %s, %v; want %s", again, err, xpub)
	}
	path := filepath.Join(dir, chain.RegtestXprvFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if s := string(raw); !strings.HasPrefix(s, "tprv") || strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("file content %q is not one tprv line", s)
	}
	reg := &chaincfg.RegressionNetParams
	prv, err := chain.LoadAccountXprv(path, reg)
	if err != nil {
		t.Fatal(err)
	}
	if !prv.IsPrivate() || prv.Depth() != 3 || prv.ChildIndex() != hdkeychain.HardenedKeyStart {
		t.Errorf("account key: private=%v depth=%d child=%x", prv.IsPrivate(), prv.Depth(), prv.ChildIndex())
	}
	pub, _ := prv.Neuter()
	if pub.String() != xpub || !strings.HasPrefix(xpub, "tpub") {
		t.Errorf("xpub %s, neutered file key %s", xpub, pub)
	}
	k, err := chain.ParseAccountKey(xpub, reg)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := chain.NewDeriver(k, reg)
	if a, _, err := d.Address(0); err != nil || !strings.HasPrefix(a, "bcrt1q") {
		t.Errorf("address %s, %v", a, err)
	}
	// The xprv is not a mainnet key, and a public key is no signer key.
	if _, err := chain.LoadAccountXprv(path, &chaincfg.MainNetParams); err == nil {
		t.Error("LoadAccountXprv(regtest key, mainnet): no error")
	}
	pubFile := filepath.Join(dir, "pub")
	os.WriteFile(pubFile, []byte(xpub+"\n"), 0o600)
	if _, err := chain.LoadAccountXprv(pubFile, reg); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Errorf("LoadAccountXprv(tpub) = %v", err)
	}
	// Another data dir gets another key.
	other, _ := chain.EnsureRegtestAccount(t.TempDir())
	if other == xpub {
		t.Error("two data dirs share a key")
	}
}

func TestEnsureMiningKey(t *testing.T) {
	dir := t.TempDir()
	k1, a1, err := chain.EnsureMiningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, a2, err := chain.EnsureMiningKey(dir)
	if err != nil || a1.EncodeAddress() != a2.EncodeAddress() || !k1.Key.Equals(&k2.Key) {
		t.Fatalf("second call differs: %v %v %v", a1, a2, err)
	}
	if s := a1.EncodeAddress(); s[0] != 'm' && s[0] != 'n' {
		t.Errorf("mining address %s is not a regtest P2PKH address", s)
	}
	if !a1.IsForNet(&chaincfg.RegressionNetParams) {
		t.Error("mining address not for regtest")
	}
	st, _ := os.Stat(filepath.Join(dir, chain.MinerKeyFile))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
}

func TestFindBtcd(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "mybtcd")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	t.Setenv("BTCD_BIN", exe)
	if p, err := chain.FindBtcd("/nonexistent"); err != nil || p != exe {
		t.Errorf("FindBtcd with BTCD_BIN = %s, %v", p, err)
	}
	t.Setenv("BTCD_BIN", filepath.Join(dir, "missing"))
	if _, err := chain.FindBtcd(""); err == nil {
		t.Error("FindBtcd with a missing BTCD_BIN: no error")
	}
	t.Setenv("BTCD_BIN", "")
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, "bin"), 0o755)
	os.WriteFile(filepath.Join(repo, "bin", "btcd"), []byte("#!/bin/sh\n"), 0o755)
	if p, err := chain.FindBtcd(repo); err != nil || p != filepath.Join(repo, "bin", "btcd") {
		t.Errorf("FindBtcd(repo) = %s, %v", p, err)
	}
}

func TestDialRefusesPlainRemote(t *testing.T) {
	for _, host := range []string{"10.1.2.3:18334", "node.example:18334"} {
		if _, err := chain.Dial(chain.RPCConfig{Host: host, User: "u", Pass: "p", NoTLS: true}); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("Dial(%s, NoTLS) = %v", host, err)
		}
	}
	for _, host := range []string{"127.0.0.1:18334", "localhost:1", "[::1]:18334"} {
		c, err := chain.Dial(chain.RPCConfig{Host: host, User: "u", Pass: "p", NoTLS: true})
		if err != nil {
			t.Errorf("Dial(%s) = %v", host, err)
			continue
		}
		c.Close()
	}
	if _, err := chain.Dial(chain.RPCConfig{Host: "127.0.0.1", NoTLS: true}); err == nil {
		t.Error("Dial without port: no error")
	}
	c, err := chain.Dial(chain.RPCConfig{Host: "node.example:8334", User: "u", Pass: "p"})
	if err != nil {
		t.Errorf("Dial(remote, TLS) = %v", err)
	} else {
		c.Close()
	}
}
