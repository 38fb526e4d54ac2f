package container

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"golang.org/x/crypto/ssh"
)

// knownErrors are the sentinels every parse failure must wrap, so callers can
// always tell the user which kind of problem a file has.
var knownErrors = []error{ErrBadMagic, ErrUnsupportedVersion, ErrEnvelopeTooLarge, ErrMalformedEnvelope,
	ErrMalformedField, ErrBadSignature, ErrTruncated}

func FuzzParseEnvelope(f *testing.F) {
	s := sealPlain(f, pattern(3*chunkSize))
	f.Add(s.h.Raw)
	f.Add(s.file[:min(len(s.file), 2000)])
	f.Add(buildEnvelope(f, append(baseFieldsOf(s), tlv{0x80, []byte("ext")}), hostSigner(f, 7), Namespace))
	f.Add(buildEnvelope(f, dropField(baseFieldsOf(s), tagTitle), hostSigner(f, 7), Namespace))
	f.Add([]byte(magic))
	n := binary.BigEndian.Uint16(s.h.Raw[12:14])
	f.Add(s.h.Raw[:fixedLen+n]) // for the re-signed path: fixed part + fields only
	host := hostSigner(f, 7)
	if _, err := ParseEnvelope(signFieldsBlob(host, s.h.Raw[fixedLen:fixedLen+n])); err != nil {
		f.Fatalf("re-signed seed does not parse, the fuzzer would never reach field decoding: %v", err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkParse(t, b)
		// Random bytes almost never carry a valid signature, so also sign
		// the bytes after the fixed part as a fields blob: that drives the
		// fuzzer into field decoding and the length rules.
		if signed := signFieldsBlob(host, b[min(len(b), fixedLen):]); signed != nil {
			checkParse(t, signed)
		}
	})
}

func checkParse(t *testing.T, b []byte) {
	h, err := ParseEnvelope(b)
	if err != nil {
		for _, k := range knownErrors {
			if errors.Is(err, k) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	re, err := h.marshal()
	if err != nil {
		t.Fatalf("accepted envelope does not re-marshal: %v", err)
	}
	if !bytes.Equal(re, h.Raw) || !bytes.Equal(re, b[:h.EnvLen]) {
		t.Fatal("accepted envelope re-marshals differently: the encoding is not canonical")
	}
}

// signFieldsBlob wraps raw field bytes in a fixed part and a valid SSHSIG.
func signFieldsBlob(host ssh.Signer, fields []byte) []byte {
	sigLen := ed25519SSHSIGLen(host.PublicKey().Marshal())
	envLen := fixedLen + len(fields) + 2 + sigLen
	if envLen > maxEnvLen {
		return nil
	}
	b := append([]byte(magic), version, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(envLen))
	b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
	b = append(b, fields...)
	sig, err := signSSHSIG(host, Namespace, b)
	if err != nil {
		panic(err)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sig)))
	return append(b, sig...)
}

// FuzzOpen mutates a valid 3-chunk container and its slip. Whatever the
// mutation, opening yields exactly the plaintext or an error, and bytes
// released before an error are always a prefix of the true plaintext.
func FuzzOpen(f *testing.F) {
	plain := pattern(3*chunkSize - 1000)
	s := sealPlain(f, plain)
	b := ed25519Buyer(f, 3)
	slip, err := NewSlip(s.key, b.pub)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.file, slip)
	f.Add(flipped(s.file, s.h.PayloadOffset()+ageNonceLen+encChunk+5), slip)
	f.Add(s.file[:len(s.file)-encChunk], slip)
	f.Fuzz(func(t *testing.T, file, slip []byte) {
		h, err := ReadHeader(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		key, err := UnwrapSlip(slip, b.id)
		if err != nil {
			return
		}
		var out bytes.Buffer
		_, err = Decrypt(&out, bytes.NewReader(file), h, key)
		if err == nil && !bytes.Equal(out.Bytes(), plain) || !bytes.HasPrefix(plain, out.Bytes()) {
			t.Fatalf("Decrypt released %d bytes that are not the plaintext (err %v)", out.Len(), err)
		}
		checkFuzzReaderAt(t, file, h, key, plain)
	})
}

func checkFuzzReaderAt(t *testing.T, file []byte, h *Header, key, plain []byte) {
	ra, size, err := NewReaderAt(bytes.NewReader(file), h, key)
	if err != nil {
		return
	}
	buf := make([]byte, size)
	n, err := ra.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	if !bytes.Equal(buf[:n], plain) {
		t.Fatalf("ReaderAt returned %d bytes that are not the plaintext", n)
	}
}
