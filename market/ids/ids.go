// Package ids makes the identifiers users see: single lowercase tokens,
// safe in file names and shells.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"strings"
	"time"
)

var enc = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewItem returns a random 16-byte item id (the container's item_id).
func NewItem() [16]byte {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return b
}

// Shop renders an item id as a shop id: 26 lowercase characters.
func Shop(item [16]byte) string { return enc.EncodeToString(item[:]) }

// ParseShop turns a shop id back into its item id.
func ParseShop(id string) ([16]byte, bool) {
	var item [16]byte
	b, err := enc.DecodeString(strings.ToLower(id))
	if err != nil || len(b) != 16 {
		return item, false
	}
	copy(item[:], b)
	return item, true
}

// New returns a time-ordered id with a prefix: 48 bits of milliseconds then
// 80 random bits, so new rows land at the end of B-tree indexes
// (research/ledger-scale.md §1).
func New(prefix string, now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return prefix + enc.EncodeToString(b[:])
}

// Valid reports whether s is a plausible id token (letters, digits, - and _),
// so user input never reaches a path or query unchecked.
func Valid(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
