package container

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// SSHSIG as specified in OpenSSH PROTOCOL.sshsig: the blob is
//
//	"SSHSIG" | uint32 1 | string publickey | string namespace | string reserved |
//	string hash_algorithm | string signature
//
// and the signer signs "SSHSIG" | string namespace | string reserved |
// string hash_algorithm | string H(message). We always use sha512 and an
// empty reserved field, and verify exactly that (no alternatives accepted),
// which keeps the envelope canonical.
const (
	sshsigMagic   = "SSHSIG"
	sshsigVersion = 1
	sshsigHash    = "sha512"
	ed25519SigLen = 64
)

func appendSSHString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func sshsigSignedData(namespace string, msg []byte) []byte {
	h := sha512.Sum512(msg)
	b := []byte(sshsigMagic)
	b = appendSSHString(b, []byte(namespace))
	b = appendSSHString(b, nil)
	b = appendSSHString(b, []byte(sshsigHash))
	return appendSSHString(b, h[:])
}

func marshalSSHSIG(pub []byte, namespace string, sig *ssh.Signature) []byte {
	b := []byte(sshsigMagic)
	b = binary.BigEndian.AppendUint32(b, sshsigVersion)
	b = appendSSHString(b, pub)
	b = appendSSHString(b, []byte(namespace))
	b = appendSSHString(b, nil)
	b = appendSSHString(b, []byte(sshsigHash))
	return appendSSHString(b, ssh.Marshal(sig))
}

// ed25519SSHSIGLen is the exact blob size for an ed25519 signer, which is what
// lets Seal reserve the envelope before the plaintext size is known.
func ed25519SSHSIGLen(pub []byte) int {
	sig := &ssh.Signature{Format: ssh.KeyAlgoED25519, Blob: make([]byte, ed25519SigLen)}
	return len(marshalSSHSIG(pub, Namespace, sig))
}

func signSSHSIG(s ssh.Signer, namespace string, msg []byte) ([]byte, error) {
	sig, err := s.Sign(rand.Reader, sshsigSignedData(namespace, msg))
	if err != nil {
		return nil, fmt.Errorf("signing envelope: %w", err)
	}
	return marshalSSHSIG(s.PublicKey().Marshal(), namespace, sig), nil
}

type sshReader struct {
	b   []byte
	err error
}

func (r *sshReader) str() []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < 4 {
		r.err = errors.New("short string length")
		return nil
	}
	n := binary.BigEndian.Uint32(r.b)
	if uint64(n) > uint64(len(r.b)-4) {
		r.err = errors.New("string runs past the end")
		return nil
	}
	s := r.b[4 : 4+n]
	r.b = r.b[4+n:]
	return s
}

func badSig(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSignature, fmt.Sprintf(format, args...))
}

// verifySSHSIG checks that blob is an SSHSIG by exactly key, in exactly
// namespace, with sha512, over msg.
func verifySSHSIG(key ssh.PublicKey, namespace string, msg, blob []byte) error {
	if !bytes.HasPrefix(blob, []byte(sshsigMagic)) || len(blob) < len(sshsigMagic)+4 {
		return badSig("not an SSHSIG blob")
	}
	if v := binary.BigEndian.Uint32(blob[len(sshsigMagic):]); v != sshsigVersion {
		return badSig("SSHSIG version %d", v)
	}
	r := &sshReader{b: blob[len(sshsigMagic)+4:]}
	pub, ns, reserved, hash, sigBytes := r.str(), r.str(), r.str(), r.str(), r.str()
	if r.err != nil {
		return badSig("malformed SSHSIG: %v", r.err)
	}
	if len(r.b) != 0 {
		return badSig("trailing bytes after SSHSIG")
	}
	switch {
	case !bytes.Equal(pub, key.Marshal()):
		return badSig("signed by a different key than the envelope's shop_host_key")
	case string(ns) != namespace:
		return badSig("namespace %q, want %q", ns, namespace)
	case len(reserved) != 0:
		return badSig("non-empty reserved field")
	case string(hash) != sshsigHash:
		return badSig("hash %q, want %q", hash, sshsigHash)
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(sigBytes, &sig); err != nil {
		return badSig("malformed signature: %v", err)
	}
	if sig.Format != key.Type() || len(sig.Rest) != 0 || len(sig.Blob) != ed25519SigLen {
		return badSig("unexpected signature format %q", sig.Format)
	}
	if err := key.Verify(sshsigSignedData(namespace, msg), &sig); err != nil {
		return badSig("%v", err)
	}
	return nil
}
