package fingerprint

import (
	"cmp"
	"slices"
)

// Strength grades a match (research §5.4, chunk layer).
type Strength int

const (
	None   Strength = iota // below the review floor
	Review                 // a candidate for the rights holder's list only
	Strong                 // enough for claim review
)

func (s Strength) String() string {
	switch s {
	case Review:
		return "review"
	case Strong:
		return "strong"
	}
	return "none"
}

// Thresholds of the chunk layer (research §5.4).
const (
	StrongContainment = 0.5
	StrongShared      = 8
	StrongBytes       = 64 << 10
	ReviewContainment = 0.2
	ReviewShared      = 4
	// MaxRanges caps Match.Ranges; coverage still counts every range.
	MaxRanges = 1024
)

// Range is one stretch of bytes found at RefOff in the reference and at
// FileOff in the file. The bytes are equal: every chunk in it has the same
// blake3 on both sides.
type Range struct {
	RefOff, FileOff, Len int64
}

// Match is the evidence for one (reference, file) pair.
type Match struct {
	// Score is max(RefContained, FileContained), in [0, 1].
	Score float64
	// RefContained is the share of the reference's scored hashes found in
	// the file (the reference is inside the file: appended, prepended,
	// inserted, inside an archive). FileContained is the share of the
	// file's scored hashes found in the reference (the file is an excerpt).
	RefContained, FileContained float64
	// RefCovered and FileCovered are the shares of each file's bytes inside
	// Ranges.
	RefCovered, FileCovered float64
	// Shared counts distinct scored hashes on both sides (sampled hashes,
	// for Estimate).
	Shared int
	// MatchedBytes is the length of the distinct shared scored chunks: runs
	// of zeros, stop-listed and repeated chunks add nothing.
	MatchedBytes int64
	// Ranges are the matched byte ranges in reference order, merged where
	// contiguous on both sides; at most MaxRanges (the longest) are kept.
	// Empty for Estimate.
	Ranges   []Range
	Strength Strength
	// Exact is set when both file digests (Print.Blake3) are equal.
	Exact bool
	// Tier is the file's sampling tier: 0 for Compare.
	Tier int
}

// classify applies the §5.4 thresholds.
func classify(score float64, shared int, matched int64) Strength {
	switch {
	case score >= StrongContainment && shared >= StrongShared && matched >= StrongBytes:
		return Strong
	case score >= ReviewContainment && shared >= ReviewShared:
		return Review
	}
	return None
}

// hashLen is a scored hash with its chunk length.
type hashLen struct {
	h uint64
	n int32
}

// scoredLens returns the distinct scored hashes of p below bound, sorted,
// with their chunk lengths (equal hashes mean equal chunks, so equal
// lengths).
func (p *Print) scoredLens(stop func(uint64) bool, bound uint64) []hashLen {
	hs := make([]hashLen, 0, len(p.Chunks))
	for _, c := range p.Chunks {
		if !c.LowEntropy && c.Hash < bound && (stop == nil || !stop(c.Hash)) {
			hs = append(hs, hashLen{c.Hash, c.Len})
		}
	}
	slices.SortFunc(hs, func(a, b hashLen) int { return cmp.Compare(a.h, b.h) })
	return slices.CompactFunc(hs, func(a, b hashLen) bool { return a.h == b.h })
}

// intersect returns the hashes of ref that are in the sorted file hashes, and
// the sum of their chunk lengths.
func intersect(ref []hashLen, file []uint64) (shared []uint64, bytes int64) {
	i, j := 0, 0
	for i < len(ref) && j < len(file) {
		switch {
		case ref[i].h < file[j]:
			i++
		case ref[i].h > file[j]:
			j++
		default:
			shared = append(shared, ref[i].h)
			bytes += int64(ref[i].n)
			i++
			j++
		}
	}
	return shared, bytes
}

// Compare scores a reference against a file from their complete Prints:
// containment in both directions over distinct scored hashes (chunks that
// are neither low-entropy nor stop-listed), the matched byte ranges, the
// shares of each file they cover, and the Strength. stop may be nil.
//
// Compare measures exactly what Estimate estimates from an index sample, so
// at tier 0 the two agree on Score, Shared and Strength.
func Compare(ref, file *Print, stop func(uint64) bool) Match {
	rs := ref.scoredLens(stop, TierBound(0))
	fs := file.scored(stop)
	shared, matched := intersect(rs, fs)
	m := Match{Shared: len(shared), MatchedBytes: matched, Exact: ref.Blake3 == file.Blake3 && ref.Size == file.Size}
	m.setContainment(len(rs), len(fs))
	ranges := align(ref, file, shared)
	m.RefCovered = share(refBytes(ranges), ref.Size)
	m.FileCovered = share(fileBytes(ranges), file.Size)
	m.Ranges = longest(ranges, MaxRanges)
	m.Strength = classify(m.Score, m.Shared, m.MatchedBytes)
	return m
}

// setContainment fills the containment fields from the set sizes.
func (m *Match) setContainment(refN, fileN int) {
	if refN > 0 {
		m.RefContained = float64(m.Shared) / float64(refN)
	}
	if fileN > 0 {
		m.FileContained = float64(m.Shared) / float64(fileN)
	}
	m.Score = max(m.RefContained, m.FileContained)
}

// Estimate scores a reference against a file known only by its index
// sample (the tier and hashes Sample returned, as stored; order does not
// matter). Both sides are restricted to the file's tier: RefContained is
// shared / |reference hashes below TierBound(tier)| and FileContained is
// shared / |file sample|, both after the stop list. These are unbiased
// estimates of Compare's containments.
//
// Shared counts sampled hashes, and the StrongShared rule applies to that
// count, so at tier t a strong estimate needs about 8·8^t shared chunks: the
// sample has to carry the evidence. MatchedBytes is scaled by 8^t. Ranges are
// empty; re-chunk the file and call Compare for evidence.
func Estimate(ref *Print, tier int, fileHashes []uint64, stop func(uint64) bool) Match {
	bound := TierBound(tier)
	rs := ref.scoredLens(stop, bound)
	fs := make([]uint64, 0, len(fileHashes))
	for _, h := range fileHashes {
		if h < bound && (stop == nil || !stop(h)) {
			fs = append(fs, h)
		}
	}
	slices.Sort(fs)
	fs = slices.Compact(fs)
	shared, matched := intersect(rs, fs)
	m := Match{Shared: len(shared), Tier: tier}
	m.MatchedBytes = int64(float64(matched) * TierScale(tier))
	m.setContainment(len(rs), len(fs))
	m.RefCovered = min(1, share(m.MatchedBytes, ref.Size))
	m.FileCovered = m.FileContained
	m.Strength = classify(m.Score, m.Shared, m.MatchedBytes)
	return m
}

func share(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return min(1, float64(n)/float64(of))
}
