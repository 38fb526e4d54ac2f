package chain

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/btcutil/hdkeychain"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/txscript"
)

// RegtestXprvFile is the name, inside the data directory, of the file that
// holds the generated regtest account extended private key.
const RegtestXprvFile = "regtest.xprv"

// ErrPrivateKey is returned (wrapped) by ParseAccountKey when it is given an
// extended private key.
var ErrPrivateKey = errors.New("a private key was given; the server needs only the account's extended public key")

// Params maps a network name to its chain parameters: "regtest", "signet",
// "testnet" (or "testnet3") and "mainnet".
func Params(net string) (*chaincfg.Params, error) {
	switch strings.ToLower(strings.TrimSpace(net)) {
	case "regtest":
		return &chaincfg.RegressionNetParams, nil
	case "signet":
		return &chaincfg.SigNetParams, nil
	case "testnet", "testnet3":
		return &chaincfg.TestNet3Params, nil
	case "mainnet":
		return &chaincfg.MainNetParams, nil
	}
	return nil, fmt.Errorf("unknown chain %q (want regtest, signet, testnet or mainnet)", net)
}

// hdVersion describes one registered serialization of an extended key
// (BIP32 and SLIP-132 version bytes).
type hdVersion struct {
	prefix  string // what the base58 string starts with
	private bool
	mainnet bool   // false: the test networks (testnet, signet, regtest)
	purpose string // "" for plain BIP32, otherwise the script kind it promises
}

// lookupVersion describes the version bytes we recognise. Only the plain BIP32
// ones and the native segwit SLIP-132 ones (zpub/vpub) are accepted as account
// keys; the others are recognised so that they are refused with a clear message.
func lookupVersion(v [4]byte) (hdVersion, bool) {
	switch v {
	case [4]byte{0x04, 0x88, 0xb2, 0x1e}:
		return hdVersion{prefix: "xpub", mainnet: true}, true
	case [4]byte{0x04, 0x88, 0xad, 0xe4}:
		return hdVersion{prefix: "xprv", private: true, mainnet: true}, true
	case [4]byte{0x04, 0x35, 0x87, 0xcf}:
		return hdVersion{prefix: "tpub"}, true
	case [4]byte{0x04, 0x35, 0x83, 0x94}:
		return hdVersion{prefix: "tprv", private: true}, true
	case [4]byte{0x04, 0x9d, 0x7c, 0xb2}:
		return hdVersion{prefix: "ypub", mainnet: true, purpose: "BIP49 nested segwit"}, true
	case [4]byte{0x04, 0x9d, 0x78, 0x78}:
		return hdVersion{prefix: "yprv", private: true, mainnet: true, purpose: "BIP49 nested segwit"}, true
	case [4]byte{0x04, 0x4a, 0x52, 0x62}:
		return hdVersion{prefix: "upub", purpose: "BIP49 nested segwit"}, true
	case [4]byte{0x04, 0x4a, 0x4e, 0x28}:
		return hdVersion{prefix: "uprv", private: true, purpose: "BIP49 nested segwit"}, true
	case [4]byte{0x04, 0xb2, 0x47, 0x46}:
		return hdVersion{prefix: "zpub", mainnet: true, purpose: "native segwit"}, true
	case [4]byte{0x04, 0xb2, 0x43, 0x0c}:
		return hdVersion{prefix: "zprv", private: true, mainnet: true, purpose: "native segwit"}, true
	case [4]byte{0x04, 0x5f, 0x1c, 0xf6}:
		return hdVersion{prefix: "vpub", purpose: "native segwit"}, true
	case [4]byte{0x04, 0x5f, 0x18, 0xbc}:
		return hdVersion{prefix: "vprv", private: true, purpose: "native segwit"}, true
	case [4]byte{0x02, 0x95, 0xb4, 0x3f}:
		return hdVersion{prefix: "Ypub", mainnet: true, purpose: "multisig"}, true
	case [4]byte{0x02, 0x95, 0xb0, 0x05}:
		return hdVersion{prefix: "Yprv", private: true, mainnet: true, purpose: "multisig"}, true
	case [4]byte{0x02, 0xaa, 0x7e, 0xd3}:
		return hdVersion{prefix: "Zpub", mainnet: true, purpose: "multisig"}, true
	case [4]byte{0x02, 0xaa, 0x7a, 0x99}:
		return hdVersion{prefix: "Zprv", private: true, mainnet: true, purpose: "multisig"}, true
	case [4]byte{0x02, 0x42, 0x89, 0xef}:
		return hdVersion{prefix: "Upub", purpose: "multisig"}, true
	case [4]byte{0x02, 0x42, 0x85, 0xb5}:
		return hdVersion{prefix: "Uprv", private: true, purpose: "multisig"}, true
	case [4]byte{0x02, 0x57, 0x54, 0x83}:
		return hdVersion{prefix: "Vpub", purpose: "multisig"}, true
	case [4]byte{0x02, 0x57, 0x50, 0x48}:
		return hdVersion{prefix: "Vprv", private: true, purpose: "multisig"}, true
	}
	return hdVersion{}, false
}

// isMainnet reports whether params is Bitcoin mainnet (the only network whose
// extended keys use the x/y/z version bytes).
func isMainnet(p *chaincfg.Params) bool { return p.Net == chaincfg.MainNetParams.Net }

// wantPublic names the account key forms accepted on a network family.
func wantPublic(mainnet bool) string {
	if mainnet {
		return "xpub or zpub"
	}
	return "tpub or vpub"
}

// netLabel names the network family of an extended key's version bytes.
func netLabel(mainnet bool) string {
	if mainnet {
		return "mainnet"
	}
	return "a test network (testnet, signet or regtest)"
}

// parseExtendedKey decodes an extended key and checks its version bytes
// against params. It accepts private and public keys; callers decide.
func parseExtendedKey(s string, p *chaincfg.Params) (*hdkeychain.ExtendedKey, hdVersion, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, hdVersion{}, errors.New("no extended key given")
	}
	k, err := hdkeychain.NewKeyFromString(s)
	if err != nil {
		return nil, hdVersion{}, fmt.Errorf("not a valid extended key (expected an xpub, tpub, zpub or vpub string): %w", err)
	}
	var ver [4]byte
	copy(ver[:], k.Version())
	v, ok := lookupVersion(ver)
	if !ok {
		// Unknown version bytes: still refuse a private key clearly.
		if k.IsPrivate() {
			return nil, hdVersion{private: true}, ErrPrivateKey
		}
		return nil, hdVersion{}, fmt.Errorf("unknown extended key version %x (expected an xpub, tpub, zpub or vpub)", ver)
	}
	if v.private != k.IsPrivate() {
		return nil, hdVersion{}, fmt.Errorf("malformed extended key: %s version bytes but the key data does not match", v.prefix)
	}
	if v.mainnet != isMainnet(p) {
		return nil, v, fmt.Errorf("the %s key is for %s, but the server runs on %s", v.prefix, netLabel(v.mainnet), p.Name)
	}
	return k, v, nil
}

// ParseAccountKey parses the account extended public key that deposit
// addresses are derived from. It accepts the plain BIP32 serialization
// (xpub on mainnet, tpub on the test networks) and the SLIP-132 native
// segwit one (zpub, vpub), and returns the key re-versioned to the standard
// BIP32 bytes of p (so String() gives an xpub/tpub). It refuses any private
// key (the error wraps ErrPrivateKey), keys for another network (a mainnet
// xpub on regtest, a tpub on mainnet), BIP49 (ypub/upub) and multisig
// (Zpub/Vpub…) keys, and anything that does not decode.
//
// Addresses are derived at KEY/0/i, so the key should be the BIP84 account
// key m/84'/coin'/0' exported by the signer or hardware wallet.
func ParseAccountKey(s string, p *chaincfg.Params) (*hdkeychain.ExtendedKey, error) {
	k, v, err := parseExtendedKey(s, p)
	if err != nil {
		if v.private {
			return nil, ErrPrivateKey
		}
		return nil, err
	}
	if v.private {
		return nil, ErrPrivateKey
	}
	switch v.purpose {
	case "", "native segwit":
	default:
		return nil, fmt.Errorf("a %s (%s) key was given; give the BIP84 native segwit account key (%s)",
			v.prefix, v.purpose, wantPublic(v.mainnet))
	}
	if !bytes.Equal(k.Version(), p.HDPublicKeyID[:]) {
		k, err = k.CloneWithVersion(p.HDPublicKeyID[:])
		if err != nil {
			return nil, fmt.Errorf("convert %s to %s version: %w", v.prefix, p.Name, err)
		}
	}
	return k, nil
}

// LoadAccountXprv reads an account extended private key (xprv/tprv, or
// zprv/vprv) from a one-line text file, for a signer. The key must be for the
// network of p. It is returned with the standard BIP32 version bytes of p.
func LoadAccountXprv(path string, p *chaincfg.Params) (*hdkeychain.ExtendedKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read account key: %w", err)
	}
	k, err := parseAccountXprv(string(b), p)
	if err != nil {
		return nil, fmt.Errorf("account key %s: %w", path, err)
	}
	return k, nil
}

func parseAccountXprv(s string, p *chaincfg.Params) (*hdkeychain.ExtendedKey, error) {
	k, v, err := parseExtendedKey(s, p)
	if err != nil {
		return nil, err
	}
	if !v.private {
		return nil, fmt.Errorf("a public key (%s) was given; a signer needs the extended private key", v.prefix)
	}
	switch v.purpose {
	case "", "native segwit":
	default:
		return nil, fmt.Errorf("a %s (%s) key was given; want a BIP84 account key", v.prefix, v.purpose)
	}
	if !bytes.Equal(k.Version(), p.HDPrivateKeyID[:]) {
		k, err = k.CloneWithVersion(p.HDPrivateKeyID[:])
		if err != nil {
			return nil, fmt.Errorf("convert %s to %s version: %w", v.prefix, p.Name, err)
		}
	}
	return k, nil
}

// EnsureRegtestAccount returns the regtest account extended public key
// (tpub) kept in dataDir. On the first call it generates a random seed,
// derives the BIP84 account key m/84'/1'/0' and stores the account xprv in
// dataDir/regtest.xprv (mode 0600, one line); later calls reuse that file.
// Concurrent first calls agree on one key (the file is created atomically
// and never overwritten).
func EnsureRegtestAccount(dataDir string) (xpub string, err error) {
	p := &chaincfg.RegressionNetParams
	path := filepath.Join(dataDir, RegtestXprvFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		seed, err := hdkeychain.GenerateSeed(hdkeychain.RecommendedSeedLen)
		if err != nil {
			return "", fmt.Errorf("generate regtest seed: %w", err)
		}
		master, err := hdkeychain.NewMaster(seed, p)
		if err != nil {
			return "", fmt.Errorf("regtest master key: %w", err)
		}
		acct, err := deriveAccount(master, p)
		if err != nil {
			return "", err
		}
		if _, err := writeFileOnce(path, []byte(acct.String()+"\n")); err != nil {
			return "", fmt.Errorf("keep regtest account key: %w", err)
		}
	} else if err != nil {
		return "", fmt.Errorf("regtest account key: %w", err)
	}
	acct, err := LoadAccountXprv(path, p)
	if err != nil {
		return "", err
	}
	pub, err := acct.Neuter()
	if err != nil {
		return "", fmt.Errorf("neuter regtest account key: %w", err)
	}
	return pub.String(), nil
}

// deriveAccount derives the BIP84 account key m/84'/coin'/0' from a master key.
func deriveAccount(master *hdkeychain.ExtendedKey, p *chaincfg.Params) (*hdkeychain.ExtendedKey, error) {
	k := master
	for _, i := range []uint32{84, p.HDCoinType, 0} {
		var err error
		k, err = k.Derive(hdkeychain.HardenedKeyStart + i)
		if err != nil {
			return nil, fmt.Errorf("derive account key m/84'/%d'/0': %w", p.HDCoinType, err)
		}
	}
	return k, nil
}

// Deriver derives BIP84 (P2WPKH, bech32) addresses from an account
// extended public key: receive addresses at m/84'/coin'/0'/0/i, change
// addresses at …/1/i. It holds only public keys and is safe for concurrent
// use.
type Deriver struct {
	params   *chaincfg.Params
	receive  *hdkeychain.ExtendedKey // account/0
	internal *hdkeychain.ExtendedKey // account/1
}

// NewDeriver prepares a Deriver for the account key acct (as returned by
// ParseAccountKey). A private key is neutered first, so the Deriver never
// holds secrets.
func NewDeriver(acct *hdkeychain.ExtendedKey, params *chaincfg.Params) (*Deriver, error) {
	if acct == nil || params == nil {
		return nil, errors.New("new deriver: nil account key or params")
	}
	pub, err := acct.Neuter()
	if err != nil {
		return nil, fmt.Errorf("new deriver: %w", err)
	}
	recv, err := pub.Derive(0)
	if err != nil {
		return nil, fmt.Errorf("derive receive chain: %w", err)
	}
	chg, err := pub.Derive(1)
	if err != nil {
		return nil, fmt.Errorf("derive change chain: %w", err)
	}
	return &Deriver{params: params, receive: recv, internal: chg}, nil
}

// Address returns the receive address m/84'/coin'/0'/0/index (bech32
// P2WPKH: bc1… on mainnet, tb1… on testnet/signet, bcrt1… on regtest) and
// its output script, which is what the watcher matches. index must be below
// 2^31. In the astronomically rare case that an index yields no valid key
// (hdkeychain.ErrInvalidChild) the error wraps it and the caller should skip
// that index.
func (d *Deriver) Address(index uint32) (addr string, pkScript []byte, err error) {
	a, s, err := d.derive(d.receive, index)
	if err != nil {
		return "", nil, fmt.Errorf("derive address %d: %w", index, err)
	}
	return a, s, nil
}

// ChangeAddress is Address on the internal (change) chain …/1/index.
func (d *Deriver) ChangeAddress(index uint32) (addr string, pkScript []byte, err error) {
	a, s, err := d.derive(d.internal, index)
	if err != nil {
		return "", nil, fmt.Errorf("derive change address %d: %w", index, err)
	}
	return a, s, nil
}

func (d *Deriver) derive(chain *hdkeychain.ExtendedKey, index uint32) (string, []byte, error) {
	if index >= hdkeychain.HardenedKeyStart {
		return "", nil, fmt.Errorf("index %d out of range (must be below 2^31)", index)
	}
	child, err := chain.Derive(index)
	if err != nil {
		return "", nil, err
	}
	pub, err := child.ECPubKey()
	if err != nil {
		return "", nil, err
	}
	a, err := btcutil.NewAddressWitnessPubKeyHash(btcutil.Hash160(pub.SerializeCompressed()), d.params)
	if err != nil {
		return "", nil, err
	}
	script, err := txscript.PayToAddrScript(a)
	if err != nil {
		return "", nil, err
	}
	return a.EncodeAddress(), script, nil
}

// DecodeAddress parses an address for the network of p and returns it with
// its output script. It refuses addresses of other networks (a bc1 address
// on regtest, a tb1 address on mainnet).
func DecodeAddress(s string, p *chaincfg.Params) (btcutil.Address, []byte, error) {
	s = strings.TrimSpace(s)
	a, err := btcutil.DecodeAddress(s, p)
	if err != nil {
		return nil, nil, fmt.Errorf("address %q: %w", s, err)
	}
	if !a.IsForNet(p) {
		return nil, nil, fmt.Errorf("address %q is not for %s", s, p.Name)
	}
	script, err := txscript.PayToAddrScript(a)
	if err != nil {
		return nil, nil, fmt.Errorf("address %q: %w", s, err)
	}
	return a, script, nil
}
