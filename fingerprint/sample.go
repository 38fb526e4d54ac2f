package fingerprint

import (
	"slices"
)

// Index sampling (FracMinHash tiers, research §5.1): tier t keeps the hashes
// below TierBound(t) = 2^63 / 8^t, and a file is indexed at the smallest tier
// that leaves at most MaxPostings hashes. Because a tier is a fixed hash
// range rather than "the k smallest", samples of different files at the same
// tier are directly comparable and containment estimates are unbiased.
const (
	MaxPostings = 512
	// MaxTier is the highest tier; at 8^20 it is never reached by files of
	// any real size.
	MaxTier = 20
)

// TierBound returns the exclusive upper bound of hashes kept at tier t.
// Tier 0 keeps every hash.
func TierBound(t int) uint64 {
	t = max(0, min(t, MaxTier))
	return uint64(1) << (63 - 3*t)
}

// TierScale returns 8^t, the expected ratio of all hashes to the hashes kept
// at tier t.
func TierScale(t int) float64 {
	t = max(0, min(t, MaxTier))
	return float64(uint64(1) << (3 * t))
}

// Sample returns the file's postings for the inverted index: the distinct
// hashes of its non-low-entropy chunks below TierBound(tier), sorted, at the
// smallest tier that leaves at most MaxPostings of them. The stop list is not
// applied here because it changes after upload; apply it when querying.
func (p *Print) Sample() (tier int, hashes []uint64) {
	hs := p.scored(nil)
	for tier = 0; tier < MaxTier; tier++ {
		n := prefixBelow(hs, TierBound(tier))
		if n <= MaxPostings {
			return tier, hs[:n:n]
		}
	}
	return MaxTier, hs[:prefixBelow(hs, TierBound(MaxTier))]
}

// scored returns the sorted distinct hashes of p's chunks that are neither
// low-entropy nor stop-listed.
func (p *Print) scored(stop func(uint64) bool) []uint64 {
	hs := make([]uint64, 0, len(p.Chunks))
	for _, c := range p.Chunks {
		if !c.LowEntropy && (stop == nil || !stop(c.Hash)) {
			hs = append(hs, c.Hash)
		}
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// prefixBelow returns how many leading elements of the sorted hs are below
// bound.
func prefixBelow(hs []uint64, bound uint64) int {
	n, _ := slices.BinarySearch(hs, bound)
	return n
}
