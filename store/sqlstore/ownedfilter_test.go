package sqlstore

import (
	"fmt"
	"testing"
)

// The filter never forgets an entitlement as it grows past its first
// layer, and it rules out nearly every shop a wallet does not own.
func TestOwnedFilterGrowsWithoutForgetting(t *testing.T) {
	f := newOwnedFilter(0)
	const n = 5 * ownedFilterMin // several layers
	key := func(i int) ownKey { return ownKey{int64(i % 1009), fmt.Sprintf("shop%07d", i)} }
	for i := range n {
		f.add(key(i))
	}
	if len(f.layers) < 2 {
		t.Fatalf("%d entries in %d layer(s): the filter never grew", n, len(f.layers))
	}
	for i := range n {
		if !f.mayOwn(key(i)) {
			t.Fatalf("entitlement %d of %d is ruled out", i, n)
		}
	}
	var maybe int
	for i := n; i < 2*n; i++ {
		if f.mayOwn(key(i)) {
			maybe++
		}
	}
	if rate := float64(maybe) / n; rate > 2*ownedFilterFP {
		t.Fatalf("%.4f of the shops not owned may be owned; the bound is %.4f", rate, 2*ownedFilterFP)
	}
}
