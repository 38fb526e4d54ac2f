package container

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// Namespace is the SSHSIG namespace of the envelope signature.
const Namespace = "shopfile-container-v1"

// MaxPlaintext is the largest plaintext a v1 container may declare (1 TiB).
const MaxPlaintext int64 = 1 << 40

const (
	version        = 1
	fixedLen       = 14 // magic, version, flags, env_len, fields_len
	minEnvLen      = 64
	maxEnvLen      = 16 << 10
	maxValueLen    = 1 << 10
	maxFields      = 32
	maxSigLen      = 1 << 10
	maxHostKeyLen  = 128
	maxPayAddrLen  = 255
	maxTitleLen    = 256
	maxAgeHeader   = 4 << 10
	maxStanzas     = 4
	chunkSize      = 64 << 10
	encChunkSize   = chunkSize + tagOverhead
	tagOverhead    = 16 // Poly1305 tag per chunk
	ageNonceLen    = 16
	suiteAgeV1     = 1
	firstSkippable = 0x80
)

// magic is 89 53 48 4F 50 0D 0A 1A: like PNG's, it catches 7-bit and CRLF mangling.
const magic = "\x89SHOP\r\n\x1a"

// Envelope tags.
const (
	tagItemID        = 0x01
	tagHostKey       = 0x02
	tagPayAddr       = 0x03
	tagPriceHint     = 0x04
	tagCreatedAt     = 0x05
	tagTitle         = 0x06
	tagPayloadSuite  = 0x10
	tagPlaintextSize = 0x11
	tagAgeHeaderLen  = 0x12
	tagAgeHeaderHash = 0x13
	tagBodyLen       = 0x14
	tagContentID     = 0x15
)

func tagName(t byte) string {
	switch t {
	case tagItemID:
		return "item_id"
	case tagHostKey:
		return "shop_host_key"
	case tagPayAddr:
		return "pay_addr"
	case tagPriceHint:
		return "price_hint_sat"
	case tagCreatedAt:
		return "created_at"
	case tagTitle:
		return "title"
	case tagPayloadSuite:
		return "payload_suite"
	case tagPlaintextSize:
		return "plaintext_size"
	case tagAgeHeaderLen:
		return "age_header_len"
	case tagAgeHeaderHash:
		return "age_header_blake3"
	case tagBodyLen:
		return "body_len"
	case tagContentID:
		return "content_id"
	}
	if t >= firstSkippable {
		return "extension"
	}
	return "unknown critical"
}

// requiredTags lists every mandatory field, in wire order.
const requiredTags = "\x01\x02\x03\x04\x05\x10\x11\x12\x13\x14\x15"

// Meta is the public, creator-chosen part of a container header.
type Meta struct {
	ItemID    [16]byte
	PayAddr   string    // "ssh://host[:port]"
	PriceHint int64     // sats, advisory
	CreatedAt time.Time // zero means now
	Title     string    // optional; more than 256 bytes, invalid UTF-8 or control characters is an error
}

// Header is a parsed and verified envelope. Only ParseEnvelope, ReadHeader and
// Seal produce one, and only after the signature checked out.
type Header struct {
	Version   int
	ItemID    [16]byte
	HostKey   ssh.PublicKey
	PayAddr   string
	PriceHint int64
	CreatedAt time.Time
	Title     string

	PlaintextSize int64
	AgeHeaderLen  int64
	AgeHeaderHash [32]byte
	BodyLen       int64
	ContentID     [32]byte

	EnvLen int64  // bytes of the envelope; the age file starts here
	Raw    []byte // the exact envelope bytes

	ext []tlv  // skippable fields (tag >= 0x80), kept so a re-marshal is byte-identical
	sig []byte // the SSHSIG blob
}

// PayloadOffset is where the age nonce and STREAM payload begin: a key slip
// followed by the container's bytes from here is a complete age file.
func (h *Header) PayloadOffset() int64 { return h.EnvLen + h.AgeHeaderLen }

// Size is the whole container size.
func (h *Header) Size() int64 { return h.EnvLen + h.BodyLen }

type tlv struct {
	tag byte
	val []byte
}

// bodyLen is the age file size for a plaintext: header, nonce, plaintext and
// one 16-byte tag per 64 KiB chunk (at least one chunk, even when empty).
// Both inputs are bounded first, so the sum cannot overflow an int64.
func bodyLen(ageHeaderLen, plaintext int64) (int64, error) {
	if plaintext < 0 || plaintext > MaxPlaintext {
		return 0, fmt.Errorf("plaintext size %d outside [0, 2^40]", plaintext)
	}
	if ageHeaderLen <= 0 || ageHeaderLen > maxAgeHeader {
		return 0, fmt.Errorf("age header length %d outside [1, %d]", ageHeaderLen, maxAgeHeader)
	}
	chunks := max(1, (plaintext+chunkSize-1)/chunkSize)
	return ageHeaderLen + ageNonceLen + plaintext + tagOverhead*chunks, nil
}

func u64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// fields returns the header's TLVs in canonical (ascending tag) order.
func (h *Header) fields() []tlv {
	f := []tlv{
		{tagItemID, h.ItemID[:]},
		{tagHostKey, h.HostKey.Marshal()},
		{tagPayAddr, []byte(h.PayAddr)},
		{tagPriceHint, u64(h.PriceHint)},
		{tagCreatedAt, u64(h.CreatedAt.Unix())},
	}
	if h.Title != "" {
		f = append(f, tlv{tagTitle, []byte(h.Title)})
	}
	f = append(f,
		tlv{tagPayloadSuite, []byte{suiteAgeV1}},
		tlv{tagPlaintextSize, u64(h.PlaintextSize)},
		tlv{tagAgeHeaderLen, binary.BigEndian.AppendUint32(nil, uint32(h.AgeHeaderLen))},
		tlv{tagAgeHeaderHash, h.AgeHeaderHash[:]},
		tlv{tagBodyLen, u64(h.BodyLen)},
		tlv{tagContentID, h.ContentID[:]},
	)
	return append(f, h.ext...)
}

// signedPart encodes bytes [0, 14+n): everything the signature covers. env_len
// depends only on field sizes and sigLen, so it is known before encryption.
func signedPart(fields []tlv, sigLen int) ([]byte, error) {
	n := 0
	for _, f := range fields {
		n += 3 + len(f.val)
	}
	envLen := fixedLen + n + 2 + sigLen
	if envLen > maxEnvLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrEnvelopeTooLarge, envLen)
	}
	if envLen < minEnvLen {
		return nil, envelopeErr("env_len %d below minimum %d", envLen, minEnvLen)
	}
	b := make([]byte, 0, envLen)
	b = append(b, magic...)
	b = append(b, version, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(envLen))
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	for _, f := range fields {
		b = append(b, f.tag)
		b = binary.BigEndian.AppendUint16(b, uint16(len(f.val)))
		b = append(b, f.val...)
	}
	return b, nil
}

// marshal re-encodes a parsed header. For any header ParseEnvelope accepted it
// returns exactly h.Raw (the fuzz target checks this).
func (h *Header) marshal() ([]byte, error) {
	b, err := signedPart(h.fields(), len(h.sig))
	if err != nil {
		return nil, err
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.sig)))
	return append(b, h.sig...), nil
}

// parsePrefix checks the fixed 14 bytes and returns env_len. b may be shorter
// than 14 bytes (a truncated file); what is there must still match.
func parsePrefix(b []byte) (int64, error) {
	if !strings.HasPrefix(magic, string(b[:min(len(b), len(magic))])) {
		return 0, ErrBadMagic
	}
	if len(b) < fixedLen {
		return 0, fmt.Errorf("%w: %d bytes, shorter than the envelope's fixed part", ErrTruncated, len(b))
	}
	if b[8] != version {
		return 0, fmt.Errorf("%w: container version %d (this build reads version %d)", ErrUnsupportedVersion, b[8], version)
	}
	if b[9] != 0 {
		return 0, envelopeErr("reserved flags 0x%02x are not zero", b[9])
	}
	envLen := int64(binary.BigEndian.Uint16(b[10:12]))
	if envLen > maxEnvLen {
		return 0, fmt.Errorf("%w: env_len %d", ErrEnvelopeTooLarge, envLen)
	}
	if envLen < minEnvLen {
		return 0, envelopeErr("env_len %d below minimum %d", envLen, minEnvLen)
	}
	return envLen, nil
}

// ParseEnvelope parses and verifies the envelope at the start of b (bytes past
// env_len, i.e. the age file, are ignored). It checks the structure, the SSHSIG
// against the embedded host key, then every field and the length arithmetic.
// It does not look at the age file; ReadHeader does.
func ParseEnvelope(b []byte) (*Header, error) {
	envLen, err := parsePrefix(b)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) < envLen {
		return nil, fmt.Errorf("%w: envelope declares %d bytes, only %d present", ErrTruncated, envLen, len(b))
	}
	raw := bytes.Clone(b[:envLen])
	n := int(binary.BigEndian.Uint16(raw[12:14]))
	if fixedLen+n+2 > len(raw) {
		return nil, envelopeErr("fields_len %d runs past env_len %d", n, envLen)
	}
	sigLen := int(binary.BigEndian.Uint16(raw[fixedLen+n:]))
	if sigLen > maxSigLen {
		return nil, envelopeErr("sig_len %d above %d", sigLen, maxSigLen)
	}
	if fixedLen+n+2+sigLen != len(raw) {
		return nil, envelopeErr("sig_len %d does not end at env_len %d", sigLen, envLen)
	}
	fields, err := splitFields(raw[fixedLen : fixedLen+n])
	if err != nil {
		return nil, err
	}
	// The signature is checked before any field is interpreted, so a tampered
	// value reads as "forged or damaged", not as whatever it was changed to.
	hostKey, err := verifyEnvelopeSig(fields, raw[:fixedLen+n], raw[fixedLen+n+2:])
	if err != nil {
		return nil, err
	}
	h, err := decodeFields(fields)
	if err != nil {
		return nil, err
	}
	h.HostKey = hostKey
	h.EnvLen = envLen
	h.Raw = raw
	h.sig = raw[fixedLen+n+2:]
	return h, nil
}

// splitFields checks the TLV framing: bounded count and sizes, strictly
// ascending tags, no bytes left over. Values alias b.
func splitFields(b []byte) ([]tlv, error) {
	var out []tlv
	prev := -1
	for len(b) > 0 {
		if len(out) == maxFields {
			return nil, envelopeErr("more than %d fields", maxFields)
		}
		if len(b) < 3 {
			return nil, envelopeErr("field header runs past fields_len")
		}
		tag, l := b[0], int(binary.BigEndian.Uint16(b[1:3]))
		if int(tag) <= prev {
			return nil, fieldErr(tag, "tags must be strictly ascending (after 0x%02x)", prev)
		}
		if l > maxValueLen {
			return nil, fieldErr(tag, "value of %d bytes exceeds %d", l, maxValueLen)
		}
		if 3+l > len(b) {
			return nil, fieldErr(tag, "value runs past fields_len")
		}
		out = append(out, tlv{tag, b[3 : 3+l]})
		prev = int(tag)
		b = b[3+l:]
	}
	return out, nil
}

func verifyEnvelopeSig(fields []tlv, signed, sig []byte) (ssh.PublicKey, error) {
	var keyBytes []byte
	for _, f := range fields {
		if f.tag == tagHostKey {
			keyBytes = f.val
		}
	}
	if keyBytes == nil {
		return nil, fieldErr(tagHostKey, "missing")
	}
	if len(keyBytes) > maxHostKeyLen {
		return nil, fieldErr(tagHostKey, "%d bytes exceeds %d", len(keyBytes), maxHostKeyLen)
	}
	key, err := ssh.ParsePublicKey(keyBytes)
	if err != nil {
		return nil, fieldErr(tagHostKey, "not an SSH public key: %v", err)
	}
	if key.Type() != ssh.KeyAlgoED25519 {
		return nil, fieldErr(tagHostKey, "key type %s, v1 requires ssh-ed25519", key.Type())
	}
	if !bytes.Equal(key.Marshal(), keyBytes) {
		return nil, fieldErr(tagHostKey, "non-canonical key encoding")
	}
	if err := verifySSHSIG(key, Namespace, signed, sig); err != nil {
		return nil, err
	}
	return key, nil
}

func fixedField(f tlv, n int) error {
	if len(f.val) != n {
		return fieldErr(f.tag, "length %d, want %d", len(f.val), n)
	}
	return nil
}

// u63Field decodes a u64 that must fit an int64 (so 2^64-1 is refused).
func u63Field(f tlv) (int64, error) {
	if err := fixedField(f, 8); err != nil {
		return 0, err
	}
	v := binary.BigEndian.Uint64(f.val)
	if v > math.MaxInt64 {
		return 0, fieldErr(f.tag, "value %d out of range", v)
	}
	return int64(v), nil
}

func decodeFields(fields []tlv) (*Header, error) {
	h := &Header{Version: version}
	var seen [256]bool
	for _, f := range fields {
		seen[f.tag] = true
		if err := h.decodeField(f); err != nil {
			return nil, err
		}
	}
	for _, t := range []byte(requiredTags) {
		if !seen[t] {
			return nil, fieldErr(t, "missing")
		}
	}
	want, err := bodyLen(h.AgeHeaderLen, h.PlaintextSize)
	if err != nil {
		return nil, fieldErr(tagBodyLen, "%v", err)
	}
	if h.BodyLen != want {
		return nil, fieldErr(tagBodyLen, "%d does not match age_header_len %d and plaintext_size %d (want %d)",
			h.BodyLen, h.AgeHeaderLen, h.PlaintextSize, want)
	}
	return h, nil
}

func (h *Header) decodeField(f tlv) error {
	var err error
	switch f.tag {
	case tagItemID:
		if err = fixedField(f, 16); err == nil {
			copy(h.ItemID[:], f.val)
		}
	case tagHostKey:
		// Parsed and checked together with the signature.
	case tagPayAddr:
		h.PayAddr = string(f.val)
		if e := checkPayAddr(h.PayAddr); e != nil {
			err = fieldErr(f.tag, "%v", e)
		}
	case tagPriceHint:
		h.PriceHint, err = u63Field(f)
	case tagCreatedAt:
		var s int64
		s, err = u63Field(f)
		h.CreatedAt = time.Unix(s, 0).UTC()
	case tagTitle:
		h.Title = string(f.val)
		if e := checkTitle(h.Title); e != nil {
			err = fieldErr(f.tag, "%v", e)
		} else if h.Title == "" {
			err = fieldErr(f.tag, "present but empty (omit it instead)")
		}
	case tagPayloadSuite:
		if err = fixedField(f, 1); err == nil && f.val[0] != suiteAgeV1 {
			err = fieldErr(f.tag, "payload suite %d is not supported (want 1, age v1)", f.val[0])
		}
	case tagPlaintextSize:
		if h.PlaintextSize, err = u63Field(f); err == nil && h.PlaintextSize > MaxPlaintext {
			err = fieldErr(f.tag, "%d exceeds the 2^40 limit", h.PlaintextSize)
		}
	case tagAgeHeaderLen:
		if err = fixedField(f, 4); err == nil {
			h.AgeHeaderLen = int64(binary.BigEndian.Uint32(f.val))
			if h.AgeHeaderLen < int64(len(ageIntro)) || h.AgeHeaderLen > maxAgeHeader {
				err = fieldErr(f.tag, "%d outside [%d, %d]", h.AgeHeaderLen, len(ageIntro), maxAgeHeader)
			}
		}
	case tagAgeHeaderHash:
		if err = fixedField(f, 32); err == nil {
			copy(h.AgeHeaderHash[:], f.val)
		}
	case tagBodyLen:
		h.BodyLen, err = u63Field(f)
	case tagContentID:
		if err = fixedField(f, 32); err == nil {
			copy(h.ContentID[:], f.val)
		}
	default:
		if f.tag < firstSkippable {
			return fieldErr(f.tag, "unknown critical field (made by a newer shopfile?)")
		}
		h.ext = append(h.ext, f)
	}
	return err
}

// checkPayAddr accepts exactly "ssh://host[:port]": a DNS name, IPv4 or
// bracketed IPv6 literal, and an optional decimal port without leading zeros.
// No user, path or query: the item id says what to buy.
func checkPayAddr(s string) error {
	if len(s) > maxPayAddrLen {
		return fmt.Errorf("pay address longer than %d bytes", maxPayAddrLen)
	}
	rest, ok := strings.CutPrefix(s, "ssh://")
	if !ok {
		return fmt.Errorf("pay address %q must start with ssh://", s)
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return fmt.Errorf("pay address %q: unterminated IPv6 literal", s)
		}
		if a, err := netip.ParseAddr(rest[1:end]); err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("pay address %q: bad IPv6 literal", s)
		}
		host, port = rest[:end+1], rest[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return fmt.Errorf("pay address %q: junk after host", s)
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.IndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i+1:]
		if !validHostname(host) {
			return fmt.Errorf("pay address %q: bad host name", s)
		}
	} else if !validHostname(host) {
		return fmt.Errorf("pay address %q: bad host name", s)
	}
	if port == "" && strings.HasSuffix(rest, ":") {
		return fmt.Errorf("pay address %q: empty port", s)
	}
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 || port[0] == '0' || strconv.Itoa(p) != port {
			return fmt.Errorf("pay address %q: bad port", s)
		}
	}
	return nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkTitle refuses control characters because titles are printed to
// terminals before anyone pays: an escape sequence there is an attack.
func checkTitle(t string) error {
	if len(t) > maxTitleLen {
		return fmt.Errorf("title is %d bytes, limit %d", len(t), maxTitleLen)
	}
	if !utf8.ValidString(t) {
		return fmt.Errorf("title is not valid UTF-8")
	}
	for _, r := range t {
		if unicode.IsControl(r) {
			return fmt.Errorf("title contains control character %U", r)
		}
	}
	return nil
}
