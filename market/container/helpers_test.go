package container

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// Keys come from fixed seeds so fuzz corpora stay meaningful across runs.
func seedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func hostSigner(t testing.TB, seed byte) ssh.Signer {
	t.Helper()
	s, err := ssh.NewSignerFromKey(seedKey(seed))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// buyer is an SSH key pair as the shop (public half) and the buyer (age identity) see it.
type buyer struct {
	pub ssh.PublicKey
	id  age.Identity
	pem []byte // OpenSSH private key file
}

func ed25519Buyer(t testing.TB, seed byte) buyer {
	t.Helper()
	k := seedKey(seed)
	pub, err := ssh.NewPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	id, err := agessh.NewEd25519Identity(k)
	if err != nil {
		t.Fatal(err)
	}
	return buyer{pub: pub, id: id, pem: pemOf(t, k)}
}

// rsaKey is generated once per test binary: RSA key generation is slow.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func rsaBuyer(t testing.TB) buyer {
	t.Helper()
	k := rsaKey()
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := agessh.NewRSAIdentity(k)
	if err != nil {
		t.Fatal(err)
	}
	return buyer{pub: pub, id: id, pem: pemOf(t, k)}
}

func pemOf(t testing.TB, k any) []byte {
	t.Helper()
	blk, err := ssh.MarshalPrivateKey(k, "test")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(blk)
}

func testMeta() Meta {
	return Meta{
		ItemID:    [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		PayAddr:   "ssh://shop.example:2222",
		PriceHint: 1000,
		CreatedAt: time.Unix(1_800_000_000, 0),
		Title:     "Film — director's cut",
	}
}

func escrowIdentity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// memFile is an in-memory io.WriteSeeker standing in for a temp file.
type memFile struct {
	b   []byte
	off int64
}

func (m *memFile) Write(p []byte) (int, error) {
	end := m.off + int64(len(p))
	if end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.off:], p)
	m.off = end
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += m.off
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	m.off = off
	return off, nil
}

// sealed is one container with everything needed to open it.
type sealed struct {
	h     *Header
	file  []byte
	key   []byte
	plain []byte
}

func sealPlain(t testing.TB, plain []byte) sealed {
	t.Helper()
	var f memFile
	h, key, err := Seal(&f, bytes.NewReader(plain), testMeta(), hostSigner(t, 7), escrowIdentity(t).Recipient(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.off != int64(len(f.b)) || h.Size() != int64(len(f.b)) {
		t.Fatalf("seal left offset %d, size %d, header size %d", f.off, len(f.b), h.Size())
	}
	return sealed{h: h, file: f.b, key: key, plain: plain}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>16)
	}
	return b
}

// openAll runs the full reader path: header, key check, streaming decrypt.
func openAll(file, key []byte) ([]byte, error) {
	h, err := ReadHeader(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	_, err = Decrypt(&out, bytes.NewReader(file), h, key)
	return out.Bytes(), err
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}
