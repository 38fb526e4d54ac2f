package bench

import (
	"math/rand/v2"
	"testing"
)

// TestOwnedTakesTheNextFreeRank checks the union-find against the plain
// probe it replaces: the first rank at or after the draw, wrapping round,
// that the buyer has not taken and may buy.
func TestOwnedTakesTheNextFreeRank(t *testing.T) {
	const nShops, nBuyers = 37, 5
	o := newOwned(nShops)
	taken := map[[2]uint64]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	forbidden := func(buyer int, rank uint64) bool { return rank%11 == uint64(buyer) }
	for i := 0; i < 400; i++ {
		buyer := r.IntN(nBuyers)
		draw := uint64(r.IntN(nShops * 2))
		want, wantOK := uint64(0), false
		for k := uint64(0); k < nShops; k++ {
			c := (draw + k) % nShops
			if !taken[[2]uint64{uint64(buyer), c}] && !forbidden(buyer, c) {
				want, wantOK = c, true
				break
			}
		}
		got, ok := o.take(buyer, draw, func(rank uint64) bool { return !forbidden(buyer, rank) })
		if ok != wantOK || got != want {
			t.Fatalf("take %d: buyer %d from rank %d gave (%d, %v), want (%d, %v)", i, buyer, draw, got, ok, want, wantOK)
		}
		if ok {
			taken[[2]uint64{uint64(buyer), got}] = true
		}
	}
	for b := 0; b < nBuyers; b++ {
		if _, ok := o.take(b, 0, func(uint64) bool { return true }); ok {
			t.Fatalf("buyer %d still found a free rank after every rank was taken", b)
		}
	}
}
