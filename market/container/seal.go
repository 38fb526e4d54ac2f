package container

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"github.com/zeebo/blake3"
	"golang.org/x/crypto/ssh"
)

// keyCapture is the age.Recipient given to age.Encrypt: it sees the fresh
// random file key, keeps a copy for the caller, and delegates the stanza to
// the escrow recipient, so the container's header holds the escrow stanza.
type keyCapture struct {
	escrow age.Recipient
	key    []byte
}

func (c *keyCapture) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	s, _, err := c.WrapWithLabels(fileKey)
	return s, err
}

// WrapWithLabels passes labels through, so post-quantum escrow recipients keep working.
func (c *keyCapture) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	c.key = bytes.Clone(fileKey)
	if l, ok := c.escrow.(age.RecipientWithLabels); ok {
		return l.WrapWithLabels(fileKey)
	}
	s, err := c.escrow.Wrap(fileKey)
	return s, nil, err
}

// sealSink is what age writes the age file into: it forwards to dst, feeds
// the content_id hash and records where the age header ends.
type sealSink struct {
	dst    io.Writer
	pipe   *hashPipe
	hdr    []byte
	hdrLen int
}

func (s *sealSink) Write(p []byte) (int, error) {
	if s.hdrLen == 0 {
		s.hdr = append(s.hdr, p...)
		if end := ageHeaderEnd(s.hdr); end > 0 {
			s.hdrLen, s.hdr = end, s.hdr[:end]
		}
		if s.hdrLen == 0 && len(s.hdr) > maxAgeHeader {
			return 0, fmt.Errorf("escrow recipient produced an age header over %d bytes", maxAgeHeader)
		}
	}
	n, err := s.dst.Write(p)
	if err != nil {
		return n, fmt.Errorf("writing container: %w", err)
	}
	return s.pipe.Write(p)
}

func checkMeta(m *Meta) error {
	if m.ItemID == [16]byte{} {
		return errors.New("item id is all zeros")
	}
	if err := checkPayAddr(m.PayAddr); err != nil {
		return err
	}
	if m.PriceHint < 0 {
		return fmt.Errorf("negative price hint %d", m.PriceHint)
	}
	if m.CreatedAt.Unix() < 0 {
		return fmt.Errorf("created_at %v before 1970", m.CreatedAt)
	}
	return checkTitle(m.Title)
}

// Seal encrypts plaintext into dst (positioned at offset 0, e.g. a fresh temp
// *os.File) as a .shop v1 container in one streaming pass: it reserves the
// envelope (its size does not depend on the plaintext), streams age.Encrypt
// after it while hashing, then writes the signed envelope over the
// reservation and leaves dst positioned at the end. maxPlaintext > 0 bounds
// the plaintext (more bytes → ErrTooLarge, before any of them is written);
// MaxPlaintext always applies. It returns the header and the 16-byte age file
// key, which the caller must keep sealed. On error dst holds garbage; discard it.
func Seal(dst io.WriteSeeker, plaintext io.Reader, meta Meta, hostKey ssh.Signer, escrow age.Recipient, maxPlaintext int64) (*Header, []byte, error) {
	if hostKey == nil || escrow == nil {
		return nil, nil, errors.New("seal: host key and escrow recipient are required")
	}
	if t := hostKey.PublicKey().Type(); t != ssh.KeyAlgoED25519 {
		return nil, nil, fmt.Errorf("seal: host key is %s, v1 containers are signed with ssh-ed25519", t)
	}
	if meta.CreatedAt.IsZero() {
		meta.CreatedAt = time.Now()
	}
	if err := checkMeta(&meta); err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	if maxPlaintext <= 0 || maxPlaintext > MaxPlaintext {
		maxPlaintext = MaxPlaintext
	}
	h := &Header{Version: version, ItemID: meta.ItemID, HostKey: hostKey.PublicKey(), PayAddr: meta.PayAddr,
		PriceHint: meta.PriceHint, CreatedAt: time.Unix(meta.CreatedAt.Unix(), 0).UTC(), Title: meta.Title}
	sigLen := ed25519SSHSIGLen(h.HostKey.Marshal())
	// Every field is fixed width or known now, so env_len is too.
	placeholder, err := signedPart(h.fields(), sigLen)
	if err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	envLen := int64(len(placeholder) + 2 + sigLen)
	start, err := dst.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	if _, err := dst.Write(make([]byte, envLen)); err != nil {
		return nil, nil, fmt.Errorf("seal: reserving envelope: %w", err)
	}
	key, sink, err := encryptBody(dst, plaintext, escrow, maxPlaintext, h)
	if err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	if err := finishHeader(h, sink); err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	out, err := signEnvelope(h, hostKey, sigLen, envLen)
	if err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	if err := writeEnvelope(dst, out, start); err != nil {
		return nil, nil, fmt.Errorf("seal: %w", err)
	}
	return out, key, nil
}

// encryptBody streams the age file and returns the captured file key. It
// fills h.PlaintextSize; sink knows the header and hash.
func encryptBody(dst io.Writer, plaintext io.Reader, escrow age.Recipient, limit int64, h *Header) ([]byte, *sealSink, error) {
	capture := &keyCapture{escrow: escrow}
	sink := &sealSink{dst: dst, pipe: newHashPipe()}
	defer sink.pipe.stop()
	w, err := age.Encrypt(sink, capture)
	if err != nil {
		return nil, nil, fmt.Errorf("starting encryption: %w", err)
	}
	buf := make([]byte, chunkSize)
	for {
		n, rerr := plaintext.Read(buf)
		if int64(n) > limit-h.PlaintextSize {
			return nil, nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if n > 0 {
			h.PlaintextSize += int64(n)
			if _, err := w.Write(buf[:n]); err != nil {
				return nil, nil, fmt.Errorf("encrypting: %w", err)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, nil, fmt.Errorf("reading plaintext: %w", rerr)
		}
	}
	if err := w.Close(); err != nil {
		return nil, nil, fmt.Errorf("encrypting: %w", err)
	}
	if len(capture.key) != fileKeySize {
		return nil, nil, errors.New("age did not hand a 16-byte file key to the recipient")
	}
	return capture.key, sink, nil
}

// finishHeader fills the size and hash fields from what was written.
func finishHeader(h *Header, sink *sealSink) error {
	if sink.hdrLen == 0 {
		return errors.New("age header end not found")
	}
	if err := checkAgeHeader(sink.hdr); err != nil {
		return fmt.Errorf("escrow produced an unusable age header: %w", err)
	}
	var written int64
	h.ContentID, written = sink.pipe.sum()
	h.AgeHeaderLen = int64(sink.hdrLen)
	h.AgeHeaderHash = blake3.Sum256(sink.hdr)
	var err error
	if h.BodyLen, err = bodyLen(h.AgeHeaderLen, h.PlaintextSize); err != nil {
		return err
	}
	if written != h.BodyLen {
		return fmt.Errorf("internal error: age wrote %d bytes, expected %d", written, h.BodyLen)
	}
	return nil
}

// signEnvelope signs the final envelope and parses it back, so Seal returns
// exactly what a reader will see.
func signEnvelope(h *Header, hostKey ssh.Signer, sigLen int, envLen int64) (*Header, error) {
	signed, err := signedPart(h.fields(), sigLen)
	if err != nil {
		return nil, err
	}
	sig, err := signSSHSIG(hostKey, Namespace, signed)
	if err != nil {
		return nil, err
	}
	if len(sig) != sigLen {
		return nil, fmt.Errorf("signature is %d bytes, reserved %d", len(sig), sigLen)
	}
	raw := append(signed, byte(sigLen>>8), byte(sigLen))
	raw = append(raw, sig...)
	if int64(len(raw)) != envLen {
		return nil, fmt.Errorf("internal error: envelope is %d bytes, reserved %d", len(raw), envLen)
	}
	out, err := ParseEnvelope(raw)
	if err != nil {
		return nil, fmt.Errorf("internal error: own envelope does not parse: %w", err)
	}
	return out, nil
}

func writeEnvelope(dst io.WriteSeeker, h *Header, start int64) error {
	if _, err := dst.Seek(start, io.SeekStart); err != nil {
		return err
	}
	if _, err := dst.Write(h.Raw); err != nil {
		return fmt.Errorf("writing envelope: %w", err)
	}
	if _, err := dst.Seek(start+h.Size(), io.SeekStart); err != nil {
		return err
	}
	return nil
}
