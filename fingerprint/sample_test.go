package fingerprint

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// synthetic returns a Print of n chunks of avg bytes with random hashes:
// sampling and scoring only look at chunks, so large files need no hashing.
func synthetic(seed uint64, n int) *Print {
	r := rand.New(rand.NewPCG(seed, 1))
	p := &Print{}
	for range n {
		p.Chunks = append(p.Chunks, Chunk{Off: p.Size, Len: 9000, Hash: r.Uint64() >> 1})
		p.Size += 9000
	}
	return p
}

func TestSampleTiers(t *testing.T) {
	for _, c := range []struct{ chunks, tier int }{{10, 0}, {512, 0}, {600, 1}, {4000, 1}, {5000, 2}, {200000, 3}} {
		p := synthetic(uint64(c.chunks), c.chunks)
		tier, hs := p.Sample()
		if tier != c.tier {
			t.Errorf("%d chunks: tier %d, want %d", c.chunks, tier, c.tier)
		}
		if len(hs) > MaxPostings || !slices.IsSorted(hs) {
			t.Errorf("%d chunks: %d postings, sorted %v", c.chunks, len(hs), slices.IsSorted(hs))
		}
		for _, h := range hs {
			if h >= TierBound(tier) {
				t.Fatalf("hash %x above tier %d bound", h, tier)
			}
		}
		if tier > 0 && prefixBelow(p.scored(nil), TierBound(tier-1)) <= MaxPostings {
			t.Errorf("%d chunks: tier %d is not the smallest", c.chunks, tier)
		}
	}
	if tier, _ := Sum(randomBytes(81, 4<<20)).Sample(); tier != 0 {
		t.Errorf("4 MiB file at tier %d, want 0", tier)
	}
}

// TestEstimateTier0 checks that Estimate on a tier-0 sample is Compare.
func TestEstimateTier0(t *testing.T) {
	data := textBytes(82, 2<<20)
	ref := Sum(data[:1<<20])
	file := Sum(cat(randomBytes(83, 5000), data))
	tier, hs := file.Sample()
	if tier != 0 {
		t.Fatalf("tier %d", tier)
	}
	e, c := Estimate(ref, tier, hs, nil), Compare(ref, file, nil)
	if e.Score != c.Score || e.Shared != c.Shared || e.Strength != c.Strength || e.MatchedBytes != c.MatchedBytes {
		t.Fatalf("estimate %+v\ncompare %+v", e, c)
	}
}

// TestEstimateSampled checks that at a higher tier the containment estimate
// stays close to the exact value, in both directions.
func TestEstimateSampled(t *testing.T) {
	file := synthetic(84, 6000) // 54 MB at 9 KB a chunk
	tier, hs := file.Sample()
	if tier != 2 {
		t.Fatalf("tier %d, want 2", tier)
	}
	ref := &Print{Size: 3500 * 9000, Chunks: file.Chunks[1000:4500]} // ref fully in file
	e, c := Estimate(ref, tier, hs, nil), Compare(ref, file, nil)
	if math.Abs(e.RefContained-c.RefContained) > 0.05 || math.Abs(e.FileContained-c.FileContained) > 0.2 {
		t.Errorf("tier %d estimate ref %.3f file %.3f, exact ref %.3f file %.3f",
			tier, e.RefContained, e.FileContained, c.RefContained, c.FileContained)
	}
	if e.Strength != Strong || c.Strength != Strong {
		t.Errorf("tier %d: estimate %v with %d sampled shared, compare %v", tier, e.Strength, e.Shared, c.Strength)
	}
	if unrelated := Estimate(synthetic(85, 1000), tier, hs, nil); unrelated.Strength != None {
		t.Errorf("unrelated: %v", unrelated.Strength)
	}
}
