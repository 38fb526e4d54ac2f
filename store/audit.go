package store

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/zeebo/blake3"
)

// EventHash is an audit entry's hash: blake3 over the previous entry's hash
// and every field, each length-prefixed so no two entries collide by
// shifting bytes between fields.
func EventHash(prev, claim, actor, kind, body string, at int64) string {
	h := blake3.New()
	for _, f := range []string{prev, claim, actor, kind, body, strconv.FormatInt(at, 10)} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}
