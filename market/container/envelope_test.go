package container

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// buildEnvelope signs arbitrary fields, so tests can produce envelopes that
// are validly signed but wrong in one specific way.
func buildEnvelope(t testing.TB, fields []tlv, signer ssh.Signer, ns string) []byte {
	t.Helper()
	pub := signer.PublicKey().Marshal()
	dummy := &ssh.Signature{Format: ssh.KeyAlgoED25519, Blob: make([]byte, ed25519SigLen)}
	sigLen := len(marshalSSHSIG(pub, ns, dummy))
	signed, err := signedPart(fields, sigLen)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signSSHSIG(signer, ns, signed)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.BigEndian.AppendUint16(signed, uint16(len(sig)))
	return append(b, sig...)
}

// baseFields are the fields of a real sealed container.
func baseFields(t testing.TB) []tlv {
	t.Helper()
	return slices.Clone(sealPlain(t, pattern(1000)).h.fields())
}

func setField(f []tlv, tag byte, val []byte) []tlv {
	f = slices.Clone(f)
	for i := range f {
		if f[i].tag == tag {
			f[i].val = val
			return f
		}
	}
	f = append(f, tlv{tag, val})
	slices.SortStableFunc(f, func(a, b tlv) int { return int(a.tag) - int(b.tag) })
	return f
}

func dropField(f []tlv, tag byte) []tlv {
	return slices.DeleteFunc(slices.Clone(f), func(x tlv) bool { return x.tag == tag })
}

func u64b(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func TestEnvelopeFieldRules(t *testing.T) {
	base := baseFields(t)
	host := hostSigner(t, 7)
	ext := append(slices.Clone(base), tlv{0x80, []byte("x")})
	cases := map[string]struct {
		fields []tlv
		tag    byte
	}{
		"duplicate tag":       {slices.Insert(slices.Clone(base), 1, base[0]), tagItemID},
		"out of order":        {append([]tlv{base[1], base[0]}, base[2:]...), tagItemID},
		"unknown critical":    {setField(base, 0x07, []byte{1}), 0x07},
		"missing content_id":  {dropField(base, tagContentID), tagContentID},
		"missing host key":    {dropField(base, tagHostKey), tagHostKey},
		"long title":          {setField(base, tagTitle, bytes.Repeat([]byte("a"), 257)), tagTitle},
		"non-UTF-8 title":     {setField(base, tagTitle, []byte{0xff, 0xfe}), tagTitle},
		"empty title":         {setField(base, tagTitle, nil), tagTitle},
		"pay addr with user":  {setField(base, tagPayAddr, []byte("ssh://u@shop.example")), tagPayAddr},
		"pay addr with path":  {setField(base, tagPayAddr, []byte("ssh://shop.example/x")), tagPayAddr},
		"body_len off by one": {setField(base, tagBodyLen, u64b(uint64(fieldU64(base, tagBodyLen)+1))), tagBodyLen},
		"plaintext 2^64-1":    {setField(base, tagPlaintextSize, u64b(math.MaxUint64)), tagPlaintextSize},
		"plaintext 2^40+1":    {setField(base, tagPlaintextSize, u64b(1<<40+1)), tagPlaintextSize},
		"price 2^64-1":        {setField(base, tagPriceHint, u64b(math.MaxUint64)), tagPriceHint},
		"created 2^64-1":      {setField(base, tagCreatedAt, u64b(math.MaxUint64)), tagCreatedAt},
		"payload suite 2":     {setField(base, tagPayloadSuite, []byte{2}), tagPayloadSuite},
		"short item id":       {setField(base, tagItemID, make([]byte, 15)), tagItemID},
		"age header len 0":    {setField(base, tagAgeHeaderLen, []byte{0, 0, 0, 0}), tagAgeHeaderLen},
		"age header len 5000": {setField(base, tagAgeHeaderLen, []byte{0, 0, 0x13, 0x88}), tagAgeHeaderLen},
		"value over 1 KiB":    {setField(base, 0x81, make([]byte, 1025)), 0x81},
		"RSA host key":        {setField(base, tagHostKey, rsaPub(t).Marshal()), tagHostKey},
		"host key junk":       {setField(base, tagHostKey, append(host.PublicKey().Marshal(), 0)), tagHostKey},
	}
	for name, c := range cases {
		_, err := ParseEnvelope(buildEnvelope(t, c.fields, host, Namespace))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Tag != c.tag || !errors.Is(err, ErrMalformedField) {
			t.Errorf("%s: got %v, want field error for tag 0x%02x", name, err, c.tag)
		}
	}
	if _, err := ParseEnvelope(buildEnvelope(t, ext, host, Namespace)); err != nil {
		t.Errorf("skippable tag 0x80 refused: %v", err)
	}
}

func fieldU64(f []tlv, tag byte) int64 {
	for _, x := range f {
		if x.tag == tag {
			return int64(binary.BigEndian.Uint64(x.val))
		}
	}
	return -1
}

func rsaPub(t testing.TB) ssh.PublicKey {
	p, err := ssh.NewPublicKey(&rsaKey().PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEnvelopeTooManyFields(t *testing.T) {
	f := baseFields(t)
	for tag := 0x80; len(f) <= maxFields; tag++ {
		f = append(f, tlv{byte(tag), nil})
	}
	_, err := ParseEnvelope(buildEnvelope(t, f, hostSigner(t, 7), Namespace))
	wantErr(t, err, ErrMalformedEnvelope)
}

// Structural damage in the fixed part, each with its own error.
func TestEnvelopeStructure(t *testing.T) {
	env := sealPlain(t, pattern(10)).h.Raw
	n := int(binary.BigEndian.Uint16(env[12:14]))
	edit := func(f func(b []byte)) []byte { b := bytes.Clone(env); f(b); return b }
	put16 := func(off int, v uint16) []byte { return edit(func(b []byte) { binary.BigEndian.PutUint16(b[off:], v) }) }
	cases := map[string]struct {
		b    []byte
		want error
	}{
		"wrong magic":        {edit(func(b []byte) { b[1] = 's' }), ErrBadMagic},
		"not a shop file":    {[]byte("age-encryption.org/v1\n"), ErrBadMagic},
		"version 2":          {edit(func(b []byte) { b[8] = 2 }), ErrUnsupportedVersion},
		"flags":              {edit(func(b []byte) { b[9] = 1 }), ErrMalformedEnvelope},
		"env_len 63":         {put16(10, 63), ErrMalformedEnvelope},
		"env_len 16385":      {put16(10, 16385), ErrEnvelopeTooLarge},
		"env_len past input": {put16(10, uint16(len(env)+1)), ErrTruncated},
		"fields_len too big": {put16(12, uint16(len(env))), ErrMalformedEnvelope},
		"sig_len mismatch":   {put16(14+n, 10), ErrMalformedEnvelope},
		"sig_len over 1 KiB": {put16(14+n, 2000), ErrMalformedEnvelope},
		"TLV past the end":   {put16(14+1, 0x300), ErrMalformedField},
		"short prefix":       {env[:10], ErrTruncated},
		"empty":              {nil, ErrTruncated},
	}
	for name, c := range cases {
		if _, err := ParseEnvelope(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

func TestEnvelopeSignature(t *testing.T) {
	base := baseFields(t)
	env := buildEnvelope(t, base, hostSigner(t, 7), Namespace)
	if _, err := ParseEnvelope(env); err != nil {
		t.Fatalf("valid envelope refused: %v", err)
	}
	n := int(binary.BigEndian.Uint16(env[12:14]))
	// A valid SSHSIG by another key, naming our host key in tag 0x02.
	other := buildEnvelope(t, base, hostSigner(t, 8), Namespace)
	withOtherSig := append(bytes.Clone(env[:14+n]), other[14+n:]...)
	cases := map[string][]byte{
		"other signer":    withOtherSig,
		"other namespace": buildEnvelope(t, base, hostSigner(t, 7), "file"),
		"flipped price":   flipped(env, int64(bytes.Index(env, u64b(1000))+7)),
		"flipped sig":     flipped(env, int64(len(env)-5)),
		"flipped magic 2": flipped(env, int64(14+n+2+10)),
	}
	for name, b := range cases {
		if _, err := ParseEnvelope(b); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: got %v, want ErrBadSignature", name, err)
		}
	}
}

// A tiny file declaring 1 TiB of plaintext is refused by size arithmetic,
// without allocating anything near the declared size.
func TestDeclaredTerabyte(t *testing.T) {
	s := sealPlain(t, pattern(10))
	body, err := bodyLen(s.h.AgeHeaderLen, MaxPlaintext)
	if err != nil {
		t.Fatal(err)
	}
	f := setField(setField(baseFieldsOf(s), tagPlaintextSize, u64b(uint64(MaxPlaintext))), tagBodyLen, u64b(uint64(body)))
	env := buildEnvelope(t, f, hostSigner(t, 7), Namespace)
	file := append(env, s.file[s.h.EnvLen:]...)
	read := func() {
		_, err := ReadHeader(bytes.NewReader(file), int64(len(file)))
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("got %v, want ErrTruncated", err)
		}
	}
	allocs := testing.AllocsPerRun(20, read)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	read()
	runtime.ReadMemStats(&after)
	if allocs > 200 || after.TotalAlloc-before.TotalAlloc > 256<<10 {
		t.Fatalf("%.0f allocations, %d bytes for a 1 TiB claim", allocs, after.TotalAlloc-before.TotalAlloc)
	}
}

func baseFieldsOf(s sealed) []tlv { return slices.Clone(s.h.fields()) }

// A skippable field survives a parse and is covered by the signature.
func TestEnvelopeExtensionRoundTrip(t *testing.T) {
	f := append(baseFields(t), tlv{0x90, []byte("future")})
	env := buildEnvelope(t, f, hostSigner(t, 7), Namespace)
	h, err := ParseEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	re, err := h.marshal()
	if err != nil || !bytes.Equal(re, env) {
		t.Fatalf("re-marshal differs: %v", err)
	}
	i := bytes.Index(env, []byte("future"))
	if _, err := ParseEnvelope(flipped(env, int64(i))); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("extension not covered by signature: %v", err)
	}
}

func TestCheckPayAddr(t *testing.T) {
	good := []string{"ssh://shop.example", "ssh://shop.example:2222", "ssh://127.0.0.1:22",
		"ssh://[::1]:2222", "ssh://[2001:db8::1]", "ssh://a-b.c"}
	bad := []string{"", "shop.example", "ssh://", "ssh://:22", "ssh://shop.example:", "ssh://shop.example:0",
		"ssh://shop.example:65536", "ssh://shop.example:022", "ssh://u@shop", "ssh://shop/x", "ssh://shop?x",
		"ssh://[::1", "ssh://[127.0.0.1]", "ssh://[::1]x", "ssh://-shop", "ssh://shop..example",
		"ssh://shop.example:22:22", "ssh://" + strings.Repeat("a", 250), "SSH://shop", "ssh://sh op"}
	for _, s := range good {
		if err := checkPayAddr(s); err != nil {
			t.Errorf("%q refused: %v", s, err)
		}
	}
	for _, s := range bad {
		if checkPayAddr(s) == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
