package container

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"filippo.io/age"
)

// age v1 header (C2SP age.md):
//
//	age-encryption.org/v1
//	-> TYPE ARG...
//	BASE64 BODY, 64 columns per line, always ending with a short (maybe empty) line
//	--- BASE64(HMAC-SHA-256(HKDF-SHA-256(file key, "", "header"), header up to "---"))
const (
	ageIntro      = "age-encryption.org/v1\n"
	ageFooter     = "---"
	ageColumns    = 64
	fileKeySize   = 16
	stanzaX25519  = "X25519"
	stanzaSSHEd   = "ssh-ed25519"
	stanzaSSHRSA  = "ssh-rsa"
	stanzaScrypt  = "scrypt"
	maxStanzaArgs = 8
)

func validStanzaString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// ageHeaderMAC computes the header MAC; hdr is everything up to and including "---".
func ageHeaderMAC(fileKey, hdr []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, fileKey, nil, "header", 32)
	if err != nil {
		return nil, fmt.Errorf("deriving header MAC key: %w", err)
	}
	m := hmac.New(sha256.New, k)
	m.Write(hdr)
	return m.Sum(nil), nil
}

// marshalAgeHeader writes a complete age v1 header for stanzas, MACed under fileKey.
func marshalAgeHeader(stanzas []*age.Stanza, fileKey []byte) ([]byte, error) {
	if len(stanzas) == 0 || len(stanzas) > maxStanzas {
		return nil, fmt.Errorf("age header needs 1 to %d stanzas, got %d", maxStanzas, len(stanzas))
	}
	b := []byte(ageIntro)
	for _, s := range stanzas {
		if !validStanzaString(s.Type) {
			return nil, fmt.Errorf("invalid stanza type %q", s.Type)
		}
		b = append(b, "-> "+s.Type...)
		for _, a := range s.Args {
			if !validStanzaString(a) {
				return nil, fmt.Errorf("invalid stanza argument %q", a)
			}
			b = append(b, " "+a...)
		}
		b = append(b, '\n')
		body := base64.RawStdEncoding.EncodeToString(s.Body)
		for len(body) >= ageColumns {
			b = append(b, body[:ageColumns]+"\n"...)
			body = body[ageColumns:]
		}
		b = append(b, body+"\n"...) // the final short line, empty when len%64 == 0
	}
	b = append(b, ageFooter...)
	mac, err := ageHeaderMAC(fileKey, b)
	if err != nil {
		return nil, err
	}
	b = append(b, ' ')
	b = append(b, base64.RawStdEncoding.EncodeToString(mac)...)
	return append(b, '\n'), nil
}

// ageHeaderEnd returns the length of the age header at the start of b (through
// the newline of the "--- MAC" line), or -1 if b does not hold all of it yet.
// Body lines are base64 and stanza lines start with "->", so the first line
// starting with "---" is the footer.
func ageHeaderEnd(b []byte) int {
	i := bytes.Index(b, []byte("\n"+ageFooter))
	if i < 0 {
		return -1
	}
	j := bytes.IndexByte(b[i+1:], '\n')
	if j < 0 {
		return -1
	}
	return i + 1 + j + 1
}

// stanzaTypes lists the stanza types in a header without decoding bodies. It
// is a cheap, bounded pre-filter run before age parses the header for real.
func stanzaTypes(hdr []byte) ([]string, error) {
	if !bytes.HasPrefix(hdr, []byte(ageIntro)) {
		return nil, errors.New("not an age v1 header")
	}
	var types []string
	for line := range bytes.Lines(hdr[len(ageIntro):]) {
		if !bytes.HasPrefix(line, []byte("->")) {
			continue
		}
		if len(types) == maxStanzas {
			return nil, fmt.Errorf("more than %d stanzas", maxStanzas)
		}
		f := bytes.Fields(line[2:])
		if len(f) == 0 || len(f) > maxStanzaArgs+1 {
			return nil, fmt.Errorf("malformed stanza line %q", line)
		}
		types = append(types, string(f[0]))
	}
	if len(types) == 0 {
		return nil, errors.New("no stanzas")
	}
	return types, nil
}

// checkAgeHeader validates a header as age would read it, bounded by our
// limits, and requires it to be canonical: re-marshalled by age it must give
// the same bytes, so it ends exactly where the envelope says.
func checkAgeHeader(hdr []byte) error {
	if len(hdr) > maxAgeHeader {
		return fmt.Errorf("age header is %d bytes, limit %d", len(hdr), maxAgeHeader)
	}
	if _, err := stanzaTypes(hdr); err != nil {
		return err
	}
	canon, err := age.ExtractHeader(bytes.NewReader(hdr))
	if err != nil {
		return err
	}
	if !bytes.Equal(canon, hdr) {
		return errors.New("age header is not canonical or has trailing bytes")
	}
	return nil
}
