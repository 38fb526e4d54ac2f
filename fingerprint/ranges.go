package fingerprint

import (
	"cmp"
	"slices"
)

// maxPositions bounds how many places of one shared hash in the file are
// remembered; only heavily repeated content has more, and any of them is
// equally good evidence.
const maxPositions = 16

// align walks the reference's chunks in order and lines them up with the
// file's. A run starts at a shared scored chunk and continues while the next
// chunks on both sides have equal hashes (scored or not: equal hashes are
// equal bytes), so a run of zeros inside copied content does not split the
// range, but zeros alone never start one.
func align(ref, file *Print, shared []uint64) []Range {
	if len(shared) == 0 {
		return nil
	}
	pos := positions(file, shared)
	var out []Range
	j := -1 // file chunk matched by the previous reference chunk, or -1
	for _, c := range ref.Chunks {
		if j >= 0 && j+1 < len(file.Chunks) && file.Chunks[j+1].Hash == c.Hash {
			j++
			out[len(out)-1].Len += int64(c.Len)
			continue
		}
		ps := pos[c.Hash]
		if len(ps) == 0 {
			j = -1
			continue
		}
		j = pick(ps, j)
		out = appendRange(out, Range{RefOff: c.Off, FileOff: file.Chunks[j].Off, Len: int64(c.Len)})
	}
	return out
}

// positions maps each shared hash to its first places in the file.
func positions(file *Print, shared []uint64) map[uint64][]int {
	pos := make(map[uint64][]int, len(shared))
	for _, h := range shared {
		pos[h] = nil
	}
	for j, c := range file.Chunks {
		if ps, ok := pos[c.Hash]; ok && len(ps) < maxPositions {
			pos[c.Hash] = append(ps, j)
		}
	}
	return pos
}

// pick prefers the first place after the previous match, so repeated
// content aligns in order; otherwise the first place.
func pick(ps []int, prev int) int {
	for _, p := range ps {
		if p > prev {
			return p
		}
	}
	return ps[0]
}

// appendRange adds r, merging it into the last range when it continues it on
// both sides.
func appendRange(out []Range, r Range) []Range {
	if n := len(out); n > 0 {
		l := &out[n-1]
		if l.RefOff+l.Len == r.RefOff && l.FileOff+l.Len == r.FileOff {
			l.Len += r.Len
			return out
		}
	}
	return append(out, r)
}

// refBytes sums the ranges' lengths; they never overlap on the reference
// side because each reference chunk is in at most one range.
func refBytes(rs []Range) int64 {
	var n int64
	for _, r := range rs {
		n += r.Len
	}
	return n
}

// fileBytes returns the size of the union of the ranges on the file side,
// where repeated reference content can map onto the same bytes.
func fileBytes(rs []Range) int64 {
	iv := slices.Clone(rs)
	slices.SortFunc(iv, func(a, b Range) int { return cmp.Compare(a.FileOff, b.FileOff) })
	var n, end int64
	for _, r := range iv {
		s, e := max(r.FileOff, end), r.FileOff+r.Len
		if e > s {
			n += e - s
			end = e
		}
	}
	return n
}

// longest keeps the k longest ranges, in reference order.
func longest(rs []Range, k int) []Range {
	if len(rs) <= k {
		return rs
	}
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b Range) int { return cmp.Compare(b.Len, a.Len) })
	rs = rs[:k]
	slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.RefOff, b.RefOff) })
	return rs
}
