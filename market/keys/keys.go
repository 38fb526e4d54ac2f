// Package keys loads, or creates once, the shop's long-lived secrets under
// the data directory: the SSH host key (which also signs .shop envelopes),
// the age escrow identity and the key that seals file keys at rest.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/ssh"
)

// HostKey loads the ed25519 host key at path, generating it on first start.
// A file that exists but cannot be read or parsed is an error: a silently
// regenerated host key would show every returning user a MITM warning.
func HostKey(path string) (ssh.Signer, error) {
	data, err := loadOrCreate(path, func() ([]byte, error) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		block, err := ssh.MarshalPrivateKey(priv, "shopfile host key")
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(block), nil
	})
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s exists but cannot be parsed (refusing to replace it): %w", path, err)
	}
	if signer.PublicKey().Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("host key %s is %s; shopfile signs .shop files with ssh-ed25519 keys", path, signer.PublicKey().Type())
	}
	return signer, nil
}

// Escrow loads the X25519 identity every container's age header is also
// wrapped to, so file keys can be recovered from the containers alone.
func Escrow(path string) (*age.X25519Identity, error) {
	data, err := loadOrCreate(path, func() ([]byte, error) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return nil, err
		}
		return []byte(id.String() + "\n"), nil
	})
	if err != nil {
		return nil, fmt.Errorf("escrow identity %s: %w", path, err)
	}
	id, err := age.ParseX25519Identity(strings.TrimSpace(string(data)))
	if err != nil {
		return nil, fmt.Errorf("escrow identity %s exists but cannot be parsed: %w", path, err)
	}
	return id, nil
}

// Sealer encrypts file keys at rest with XChaCha20-Poly1305, bound to the
// shop id so a sealed key cannot be moved to another shop's row.
type Sealer struct{ key []byte }

// SealKey loads the 32-byte sealing key.
func SealKey(path string) (*Sealer, error) {
	data, err := loadOrCreate(path, func() ([]byte, error) {
		k := make([]byte, chacha20poly1305.KeySize)
		_, err := rand.Read(k)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("seal key %s: %w", path, err)
	}
	if len(data) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("seal key %s: want %d bytes, found %d", path, chacha20poly1305.KeySize, len(data))
	}
	return &Sealer{key: data}, nil
}

// Seal encrypts a file key for storage.
func (s *Sealer) Seal(fileKey []byte, shop string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(s.key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(fileKey)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, fileKey, []byte(shop)), nil
}

// Open decrypts a sealed file key.
func (s *Sealer) Open(sealed []byte, shop string) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(s.key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, fmt.Errorf("sealed key of %s is truncated", shop)
	}
	key, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(shop))
	if err != nil {
		return nil, fmt.Errorf("sealed key of %s does not open: %w", shop, err)
	}
	return key, nil
}

// loadOrCreate reads path, or writes make()'s bytes there first. Creation
// goes through a temp file and a hard link, so two servers starting on one
// shared data directory end up with the same key, never two.
func loadOrCreate(path string, make func() ([]byte, error)) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return data, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	fresh, err := make()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(fresh); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return os.ReadFile(path)
		}
		return nil, err
	}
	return fresh, nil
}
