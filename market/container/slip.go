package container

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

const (
	minRSABits      = 2048
	maxRSABits      = 8192 // RSA-OAEP decryption cost grows fast; 8192 is plenty
	maxIdentityFile = 64 << 10
)

// rsaBits returns the modulus size of an ssh-rsa public key.
func rsaBits(k ssh.PublicKey) (int, error) {
	ck, ok := k.(ssh.CryptoPublicKey)
	if !ok {
		return 0, errors.New("ssh-rsa key without a crypto key")
	}
	pk, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
	if !ok {
		return 0, errors.New("ssh-rsa key is not RSA")
	}
	return pk.N.BitLen(), nil
}

func unsupportedKey(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrUnsupportedKey)
}

// buyerRecipient maps a buyer's SSH key to the agessh recipient, refusing
// what agessh or our limits cannot serve.
func buyerRecipient(buyer ssh.PublicKey) (age.Recipient, error) {
	switch t := buyer.Type(); t {
	case ssh.KeyAlgoED25519:
		return agessh.NewEd25519Recipient(buyer)
	case ssh.KeyAlgoRSA:
		bits, err := rsaBits(buyer)
		if err != nil {
			return nil, err
		}
		if bits < minRSABits || bits > maxRSABits {
			return nil, unsupportedKey("ssh-rsa key of %d bits (need %d to %d)", bits, minRSABits, maxRSABits)
		}
		return agessh.NewRSARecipient(buyer)
	default:
		return nil, unsupportedKey("key type %s cannot receive a key slip (an SSH agent or security key can sign but not decrypt)", t)
	}
}

// NewSlip returns a key slip: a complete age v1 header whose single stanza
// wraps fileKey to the buyer's SSH key, MACed under the same file key. The
// slip followed by a container's bytes from PayloadOffset() is an ordinary
// age file that `age -d -i ~/.ssh/id_ed25519` opens.
func NewSlip(fileKey []byte, buyer ssh.PublicKey) ([]byte, error) {
	if len(fileKey) != fileKeySize {
		return nil, fmt.Errorf("key slip: file key is %d bytes, want %d", len(fileKey), fileKeySize)
	}
	if buyer == nil {
		return nil, errors.New("key slip: no buyer key")
	}
	rcpt, err := buyerRecipient(buyer)
	if err != nil {
		return nil, fmt.Errorf("key slip: %w", err)
	}
	stanzas, err := rcpt.Wrap(fileKey)
	if err != nil {
		return nil, fmt.Errorf("key slip: wrapping file key: %w", err)
	}
	return marshalAgeHeader(stanzas, fileKey)
}

// checkSlipStanzas refuses slips we never issue before age does any work:
// scrypt would make the buyer spend seconds of CPU, and unknown types could
// reach plugins.
func checkSlipStanzas(slip []byte) error {
	if len(slip) > maxAgeHeader {
		return fmt.Errorf("key slip is %d bytes, limit %d", len(slip), maxAgeHeader)
	}
	types, err := stanzaTypes(slip)
	if err != nil {
		return fmt.Errorf("key slip is not an age header: %w", err)
	}
	for _, t := range types {
		switch t {
		case stanzaSSHEd, stanzaSSHRSA, stanzaX25519:
		case stanzaScrypt:
			return errors.New("key slip uses a passphrase (scrypt) stanza, which shopfile never issues")
		default:
			return fmt.Errorf("key slip has an unsupported %q stanza", t)
		}
	}
	return nil
}

// UnwrapSlip recovers the file key from a key slip with the buyer's identity.
// A slip for someone else's key is ErrNoIdentity. Whether the key opens a
// given container is CheckKey's job.
func UnwrapSlip(slip []byte, ids ...age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, errors.New("key slip: no identity given")
	}
	if err := checkSlipStanzas(slip); err != nil {
		return nil, err
	}
	canon, err := age.ExtractHeader(bytes.NewReader(slip))
	if err != nil {
		return nil, fmt.Errorf("key slip is not a valid age header: %w", err)
	}
	key, err := age.DecryptHeader(canon, ids...)
	var noMatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &noMatch):
		return nil, fmt.Errorf("%w (it is for another %s key)", ErrNoIdentity, strings.Join(noMatch.StanzaTypes, "/"))
	case err != nil:
		return nil, fmt.Errorf("key slip is damaged or forged: %w", err)
	case len(key) != fileKeySize:
		return nil, fmt.Errorf("key slip holds a %d-byte key, want %d", len(key), fileKeySize)
	}
	return key, nil
}

// ParseIdentityFile reads an unencrypted SSH private key (OpenSSH or PEM) as
// an age identity, the same way agessh.ParseIdentity does, but with our key
// type and size limits and a clear message for passphrase-protected keys.
func ParseIdentityFile(pemBytes []byte) (age.Identity, error) {
	if len(pemBytes) > maxIdentityFile {
		return nil, fmt.Errorf("identity file is %d bytes, not an SSH private key", len(pemBytes))
	}
	k, err := ssh.ParseRawPrivateKey(pemBytes)
	var pm *ssh.PassphraseMissingError
	if errors.As(err, &pm) {
		return nil, errors.New("identity file is protected by a passphrase, which shopfile open cannot use yet; " +
			"use an unencrypted copy of the key (ssh-keygen -p -N '' -f COPY)")
	}
	if err != nil {
		return nil, fmt.Errorf("identity file is not an SSH private key: %w", err)
	}
	switch k := k.(type) {
	case *ed25519.PrivateKey:
		return agessh.NewEd25519Identity(*k)
	case ed25519.PrivateKey:
		return agessh.NewEd25519Identity(k)
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return nil, unsupportedKey("ssh-rsa identity of %d bits", bits)
		}
		return agessh.NewRSAIdentity(k)
	default:
		return nil, unsupportedKey("identity of type %T", k)
	}
}
