// Package receipt makes and checks shopfile receipts: compact tokens,
// signed by a shop's Ed25519 host key, saying that an account bought a shop.
// A publisher checks one offline with nothing but the host's public key.
//
// A receipt is three dot-separated parts:
//
//	sfr1.<payload>.<signature>
//
// payload is the unpadded base64url encoding of a JSON object
//
//	{"v":1,"shop":"…","account":"SHA256:…","purchase":"…","price_sats":250,"at":"2026-11-01T12:00:00Z"}
//
// and signature is the unpadded base64url encoding of the 64-byte Ed25519
// signature of the ASCII bytes "sfr1.<payload>" (everything before the last
// dot). The "sfr1." prefix is part of what is signed: the host key signs
// nothing else that begins with it (SSH handshakes sign a hash, .shop
// envelopes an SSHSIG blob), so a receipt can never be mistaken for, or
// made from, another of the key's signatures.
//
// A receipt is bound to one shop and one buyer; Claims.For refuses it for
// any other. It carries no secret, but it is proof of payment: whoever
// holds it may fetch the content it names from the shop's HTTP face, so a
// page should treat it like a session token.
package receipt

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Prefix starts every receipt and, with the dot after it, every signed
// message: the domain separator.
const Prefix = "sfr1"

// MaxLen bounds a receipt token; longer strings are refused unread.
const MaxLen = 2048

// ErrInvalid is what every refusal wraps: a malformed token, a bad
// signature, or a receipt for another shop or buyer.
var ErrInvalid = errors.New("invalid receipt")

// Claims is what a receipt says.
type Claims struct {
	V         int    `json:"v"`
	Shop      string `json:"shop"`
	Account   string `json:"account"`  // the buyer's SHA256: fingerprint
	Purchase  string `json:"purchase"` // the purchase id
	PriceSats int64  `json:"price_sats"`
	At        string `json:"at"` // the purchase time, RFC 3339, UTC
}

// Time is At parsed.
func (c Claims) Time() time.Time {
	t, _ := time.Parse(time.RFC3339, c.At)
	return t
}

// For checks that the receipt is for this shop and, when account is not
// empty, this buyer. A receipt for shop A never opens shop B.
func (c Claims) For(shop, account string) error {
	if c.Shop != shop {
		return fmt.Errorf("the receipt is for shop %s, not %s: %w", c.Shop, shop, ErrInvalid)
	}
	if account != "" && c.Account != account {
		return fmt.Errorf("the receipt is for another buyer: %w", ErrInvalid)
	}
	return nil
}

func (c Claims) validate() error {
	if c.V != 1 {
		return fmt.Errorf("version %d: %w", c.V, ErrInvalid)
	}
	if !token(c.Shop) || !token(c.Purchase) || !strings.HasPrefix(c.Account, "SHA256:") || !token(strings.TrimPrefix(c.Account, "SHA256:")) {
		return fmt.Errorf("malformed fields: %w", ErrInvalid)
	}
	if c.PriceSats < 0 {
		return fmt.Errorf("negative price: %w", ErrInvalid)
	}
	if _, err := time.Parse(time.RFC3339, c.At); err != nil {
		return fmt.Errorf("time %q: %w", c.At, ErrInvalid)
	}
	return nil
}

// token: an id or a base64 fingerprint body, bounded and printable.
func token(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_+/=", r)) {
			return false
		}
	}
	return true
}

// SignFunc signs a message with an Ed25519 key and returns the 64-byte
// signature.
type SignFunc func(msg []byte) ([]byte, error)

// Ed25519 signs with a raw private key.
func Ed25519(priv ed25519.PrivateKey) SignFunc {
	return func(msg []byte) ([]byte, error) { return ed25519.Sign(priv, msg), nil }
}

// SSH signs with an ssh-ed25519 host key (an ssh.Signer signs the message
// itself with pure Ed25519, so the signature verifies with crypto/ed25519).
func SSH(s ssh.Signer) SignFunc {
	return func(msg []byte) ([]byte, error) {
		if s.PublicKey().Type() != ssh.KeyAlgoED25519 {
			return nil, fmt.Errorf("receipts need an ssh-ed25519 host key, not %s", s.PublicKey().Type())
		}
		sig, err := s.Sign(nil, msg)
		if err != nil {
			return nil, fmt.Errorf("sign receipt: %w", err)
		}
		if sig.Format != ssh.KeyAlgoED25519 || len(sig.Blob) != ed25519.SignatureSize {
			return nil, fmt.Errorf("sign receipt: unexpected %s signature", sig.Format)
		}
		return sig.Blob, nil
	}
}

var b64 = base64.RawURLEncoding.Strict()

// Sign makes a receipt.
func Sign(sign SignFunc, c Claims) (string, error) {
	c.V = 1
	if err := c.validate(); err != nil {
		return "", err
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("receipt: %w", err)
	}
	signed := Prefix + "." + b64.EncodeToString(body)
	sig, err := sign([]byte(signed))
	if err != nil {
		return "", err
	}
	return signed + "." + b64.EncodeToString(sig), nil
}

// Verify checks a receipt's signature with the host's public key and
// returns what it says. Check the shop and buyer with Claims.For.
func Verify(pub ed25519.PublicKey, tok string) (Claims, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Claims{}, fmt.Errorf("host key: want %d bytes, have %d: %w", ed25519.PublicKeySize, len(pub), ErrInvalid)
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > MaxLen {
		return Claims{}, fmt.Errorf("longer than %d bytes: %w", MaxLen, ErrInvalid)
	}
	dot := strings.LastIndexByte(tok, '.')
	if dot < 0 || !strings.HasPrefix(tok, Prefix+".") || strings.Count(tok, ".") != 2 {
		return Claims{}, fmt.Errorf("not a %s receipt: %w", Prefix, ErrInvalid)
	}
	signed, sigPart := tok[:dot], tok[dot+1:]
	sig, err := b64.DecodeString(sigPart)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Claims{}, fmt.Errorf("malformed signature: %w", ErrInvalid)
	}
	if !ed25519.Verify(pub, []byte(signed), sig) {
		return Claims{}, fmt.Errorf("bad signature (forged, altered, or from another shop): %w", ErrInvalid)
	}
	body, err := b64.DecodeString(signed[len(Prefix)+1:])
	if err != nil {
		return Claims{}, fmt.Errorf("malformed payload: %w", ErrInvalid)
	}
	var c Claims
	if err := json.Unmarshal(body, &c); err != nil {
		return Claims{}, fmt.Errorf("payload: %w: %w", ErrInvalid, err)
	}
	if err := c.validate(); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// EncodeKey renders a public key as receipts' key form: the unpadded
// base64url of its 32 bytes.
func EncodeKey(pub ed25519.PublicKey) string { return b64.EncodeToString(pub) }

// SSHKey returns the Ed25519 key of an ssh-ed25519 public key.
func SSHKey(pk ssh.PublicKey) (ed25519.PublicKey, error) {
	cpk, ok := pk.(ssh.CryptoPublicKey)
	if !ok {
		return nil, fmt.Errorf("host key %s: %w", pk.Type(), ErrInvalid)
	}
	pub, ok := cpk.CryptoPublicKey().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("host key is %s, not ssh-ed25519: %w", pk.Type(), ErrInvalid)
	}
	return pub, nil
}

// ParseKey reads a host public key in any form a publisher may have it:
// an authorized_keys line ("ssh-ed25519 AAAA…"), the 32 bytes in base64url
// or standard base64 (as /.well-known/shopfile.json gives it), 64 hex
// digits, or the name of a file holding one of those.
func ParseKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if k, err := parseKeyText(s); err == nil {
		return k, nil
	}
	if s != "" && !strings.ContainsAny(s, "\n") {
		if data, err := os.ReadFile(s); err == nil {
			if k, err := parseKeyText(strings.TrimSpace(string(data))); err == nil {
				return k, nil
			}
			return nil, fmt.Errorf("host key file %s: not an ssh-ed25519 public key: %w", s, ErrInvalid)
		}
	}
	return nil, fmt.Errorf("host key %q: want ssh-ed25519 AAAA…, 32 bytes in base64url, or a file: %w", short(s), ErrInvalid)
}

func parseKeyText(s string) (ed25519.PublicKey, error) {
	if strings.HasPrefix(s, "ssh-") {
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s))
		if err != nil {
			return nil, err
		}
		return SSHKey(pk)
	}
	for _, dec := range []func(string) ([]byte, error){b64.DecodeString, base64.URLEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.StdEncoding.DecodeString, hex.DecodeString} {
		if b, err := dec(s); err == nil && len(b) == ed25519.PublicKeySize {
			return ed25519.PublicKey(b), nil
		}
	}
	return nil, ErrInvalid
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Fingerprint is the SHA256 fingerprint of an Ed25519 key as ssh-keygen
// prints it, to show which host key a receipt was checked against.
func Fingerprint(pub ed25519.PublicKey) string {
	pk, err := ssh.NewPublicKey(pub)
	if err != nil {
		sum := sha256.Sum256(pub)
		return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
	}
	return ssh.FingerprintSHA256(pk)
}
