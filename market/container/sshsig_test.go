package container

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func needKeygen(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed")
	}
	return p
}

// armorSSHSIG wraps a blob the way `ssh-keygen -Y sign` writes it.
func armorSSHSIG(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b bytes.Buffer
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n-----END SSH SIGNATURE-----\n")
	return b.Bytes()
}

func dearmorSSHSIG(t *testing.T, armored []byte) []byte {
	t.Helper()
	s := strings.TrimSpace(string(armored))
	s = strings.TrimPrefix(s, "-----BEGIN SSH SIGNATURE-----")
	s = strings.TrimSuffix(s, "-----END SSH SIGNATURE-----")
	blob, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

// OpenSSH must accept the signature of every envelope we write.
func TestSSHSIGVerifiedByKeygen(t *testing.T) {
	keygen := needKeygen(t)
	h := sealPlain(t, pattern(10)).h
	n := int(binary.BigEndian.Uint16(h.Raw[12:14]))
	dir := t.TempDir()
	sigPath := filepath.Join(dir, "env.sig")
	if err := os.WriteFile(sigPath, armorSSHSIG(h.sig), 0o600); err != nil {
		t.Fatal(err)
	}
	check := func(msg []byte, ns string) error {
		cmd := exec.Command(keygen, "-Y", "check-novalidate", "-n", ns, "-s", sigPath)
		cmd.Stdin = bytes.NewReader(msg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(string(out))
		}
		return nil
	}
	if err := check(h.Raw[:14+n], Namespace); err != nil {
		t.Fatalf("ssh-keygen refused our SSHSIG: %v", err)
	}
	if check(h.Raw[:14+n], "other") == nil || check(h.Raw[:13+n], Namespace) == nil {
		t.Fatal("ssh-keygen accepted a wrong namespace or message: the check proves nothing")
	}
}

// And we must accept what OpenSSH signs, which pins our encoding to theirs.
func TestSSHSIGFromKeygen(t *testing.T) {
	keygen := needKeygen(t)
	dir := t.TempDir()
	keyPath, msgPath := filepath.Join(dir, "id"), filepath.Join(dir, "msg")
	if err := os.WriteFile(keyPath, pemOf(t, seedKey(9)), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := []byte("the signed part of an envelope")
	if err := os.WriteFile(msgPath, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-Y", "sign", "-f", keyPath, "-n", Namespace, msgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v: %s", err, out)
	}
	armored, err := os.ReadFile(msgPath + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	blob := dearmorSSHSIG(t, armored)
	pub := hostSigner(t, 9).PublicKey()
	if err := verifySSHSIG(pub, Namespace, msg, blob); err != nil {
		t.Fatalf("our verifier refused ssh-keygen's signature: %v", err)
	}
	if len(blob) != ed25519SSHSIGLen(pub.Marshal()) {
		t.Fatalf("ssh-keygen blob is %d bytes, we reserve %d", len(blob), ed25519SSHSIGLen(pub.Marshal()))
	}
	mine, err := signSSHSIG(hostSigner(t, 9), Namespace, msg)
	if err != nil || !bytes.Equal(mine, blob) {
		t.Fatal("ed25519 is deterministic: our blob should equal ssh-keygen's byte for byte")
	}
}

func TestSSHSIGRejects(t *testing.T) {
	signer := hostSigner(t, 7)
	msg := []byte("m")
	good, err := signSSHSIG(signer, Namespace, msg)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := signSSHSIG(hostSigner(t, 8), Namespace, msg)
	otherNS, _ := signSSHSIG(signer, "git", msg)
	cases := map[string]struct {
		key  ssh.PublicKey
		blob []byte
		msg  []byte
	}{
		"other key":     {signer.PublicKey(), other, msg},
		"other ns":      {signer.PublicKey(), otherNS, msg},
		"other message": {signer.PublicKey(), good, []byte("n")},
		"trailing byte": {signer.PublicKey(), append(bytes.Clone(good), 0), msg},
		"truncated":     {signer.PublicKey(), good[:len(good)-1], msg},
		"empty":         {signer.PublicKey(), nil, msg},
	}
	for name, c := range cases {
		if err := verifySSHSIG(c.key, Namespace, c.msg, c.blob); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
