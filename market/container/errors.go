package container

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps at most one of
// them, so callers can tell a user which problem it is with errors.Is:
// a damaged or forged file, a truncated one, or simply the wrong key.
var (
	ErrBadMagic           = errors.New("not a .shop file (bad magic)")
	ErrUnsupportedVersion = errors.New("unsupported .shop container version")
	ErrEnvelopeTooLarge   = errors.New(".shop envelope is larger than 16 KiB")
	ErrMalformedEnvelope  = errors.New("malformed .shop envelope")
	ErrMalformedField     = errors.New("malformed .shop envelope field")
	ErrBadSignature       = errors.New(".shop header signature does not verify (forged or damaged header)")
	ErrTruncated          = errors.New(".shop file is truncated")
	ErrTrailingData       = errors.New(".shop file has extra data after its end")
	ErrContentMismatch    = errors.New(".shop file content does not match its signed hash (damaged or tampered)")
	ErrKeyMismatch        = errors.New("wrong key")
	ErrCorruptChunk       = errors.New("encrypted chunk failed authentication (damaged or tampered)")
	ErrTooLarge           = errors.New("plaintext is larger than the size limit")
	ErrUnsupportedKey     = errors.New("unsupported SSH key type for key slips (only ssh-ed25519 and ssh-rsa 2048-8192 bits); use `get` to download the plaintext instead")
	ErrNoIdentity         = errors.New("this key slip was not issued to this key")
)

// FieldError reports a bad TLV field in the envelope. It wraps ErrMalformedField.
type FieldError struct {
	Tag    byte
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%v: tag 0x%02x (%s): %s", ErrMalformedField, e.Tag, tagName(e.Tag), e.Reason)
}

func (e *FieldError) Unwrap() error { return ErrMalformedField }

func fieldErr(tag byte, format string, args ...any) error {
	return &FieldError{Tag: tag, Reason: fmt.Sprintf(format, args...)}
}

// ChunkError reports the payload chunk (0-based, 64 KiB of plaintext each)
// that failed authentication. It wraps ErrCorruptChunk.
type ChunkError struct {
	Index int64
}

func (e *ChunkError) Error() string {
	return fmt.Sprintf("chunk %d: %v", e.Index, ErrCorruptChunk)
}

func (e *ChunkError) Unwrap() error { return ErrCorruptChunk }

func envelopeErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedEnvelope, fmt.Sprintf(format, args...))
}
