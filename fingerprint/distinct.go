package fingerprint

import "fmt"

// Distinctive says whether a reference can ever produce a strong match, and
// if not, why: a strong match needs StrongShared distinct scored chunks and
// StrongBytes of them, so a reference that is too small, mostly low-entropy
// (silence, zero fill, a repeated pattern) or mostly stop-listed (content
// common to many files, such as a shared library) cannot identify anything.
// stop may be nil.
func Distinctive(p *Print, stop func(uint64) bool) (ok bool, reason string) {
	if p.Size < StrongBytes {
		return false, fmt.Sprintf("too small: %d bytes, a strong match needs %d", p.Size, StrongBytes)
	}
	all := p.scoredLens(nil, TierBound(0))
	kept := p.scoredLens(stop, TierBound(0))
	var bytes int64
	for _, h := range kept {
		bytes += int64(h.n)
	}
	switch {
	case len(all) < StrongShared:
		return false, fmt.Sprintf("too uniform: %d distinct non-low-entropy chunks of %d, a strong match needs %d",
			len(all), len(p.Chunks), StrongShared)
	case len(kept) < StrongShared:
		return false, fmt.Sprintf("too common: %d of %d distinct chunks are stop-listed, %d remain, a strong match needs %d",
			len(all)-len(kept), len(all), len(kept), StrongShared)
	case bytes < StrongBytes:
		return false, fmt.Sprintf("too little distinct content: %d bytes in distinct scored chunks, a strong match needs %d",
			bytes, StrongBytes)
	}
	return true, ""
}
