package rights

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/common"
)

// span is a matched byte range in one file.
type span struct{ off, len int64 }

func refSpans(ev market.Evidence) []span {
	out := make([]span, len(ev.Ranges))
	for i, r := range ev.Ranges {
		out[i] = span{r.RefOff, r.Len}
	}
	return out
}

func fileSpans(ev market.Evidence) []span {
	out := make([]span, len(ev.Ranges))
	for i, r := range ev.Ranges {
		out[i] = span{r.FileOff, r.Len}
	}
	return out
}

// bar draws where the matched ranges lie in a file of size bytes, in
// cells: █ a cell at least half matched, ▒ partly matched, ░ not matched.
// Glyphs, not colours, carry it.
func bar(spans []span, size int64, cells int) string {
	if cells <= 0 {
		return ""
	}
	if size <= 0 {
		return strings.Repeat("░", cells)
	}
	per := float64(size) / float64(cells) // bytes a cell stands for
	var b strings.Builder
	for c := range cells {
		lo, hi := float64(c)*per, float64(c+1)*per
		covered := 0.0
		for _, s := range spans {
			from, to := max(lo, float64(s.off)), min(hi, float64(min(size, s.off+s.len)))
			if to > from {
				covered += to - from
			}
		}
		switch {
		case covered <= 0:
			b.WriteString("░")
		case 2*covered >= per:
			b.WriteString("█")
		default:
			b.WriteString("▒")
		}
	}
	return b.String()
}

// rangeLines lists the first few ranges as "from – to (length)", and how
// many more there are.
func rangeLines(spans []span, omitted, shown int) []string {
	sorted := append([]span(nil), spans...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].off < sorted[j].off })
	var out []string
	for i, s := range sorted {
		if i == shown {
			break
		}
		out = append(out, fmt.Sprintf("%s – %s (%s)", common.Bytes(s.off), common.Bytes(s.off+s.len), common.Bytes(s.len)))
	}
	if more := len(sorted) - len(out) + omitted; more > 0 {
		out = append(out, fmt.Sprintf("… %d more", more))
	}
	if len(out) == 0 {
		out = append(out, "none kept")
	}
	return out
}
