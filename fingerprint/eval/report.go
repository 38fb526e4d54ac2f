package eval

import (
	"fmt"
	"math"
	"strings"
)

// wilson returns the 95% Wilson score interval of k successes in n trials.
func wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959964
	p, nf := float64(k)/float64(n), float64(n)
	d := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / d
	h := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	return max(0, c-h), min(1, c+h)
}

// Markdown renders the report as tables.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Corpus: %d originals and %d toolchain programs (%.1f MB), %d not distinctive; stop-listed hashes: %d.\n",
		r.Originals, r.Binaries, float64(r.CorpusBytes)/1e6, len(r.Skipped), r.StopListed)
	fmt.Fprintf(&b, "Fingerprinted %.0f MB in %.1f s (%.2f GB/s, members included); run %.1f s.\n\n",
		float64(r.HashedBytes)/1e6, r.HashTime.Seconds(), float64(r.HashedBytes)/r.HashTime.Seconds()/1e9, r.Elapsed.Seconds())
	b.WriteString("| class | n | strong | recall | 95% CI | review | strong from index sample | min score | mean score |\n")
	b.WriteString("|---|---:|---:|---:|---|---:|---:|---:|---:|\n")
	var n, strong, review, index int
	for _, c := range r.Classes {
		lo, hi := wilson(c.Strong, c.N)
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %.1f-%.1f%% | %d | %d | %.3f | %.3f |\n",
			c.Class, c.N, c.Strong, pct(c.Strong, c.N), 100*lo, 100*hi, c.Review, c.IndexStrong, c.MinScore, c.MeanScore)
		n, strong, review, index = n+c.N, strong+c.Strong, review+c.Review, index+c.IndexStrong
	}
	lo, hi := wilson(strong, n)
	fmt.Fprintf(&b, "| **all classes** | %d | %d | **%s** | %.1f-%.1f%% | %d | %d | | |\n\n", n, strong, pct(strong, n), 100*lo, 100*hi, review, index)
	b.WriteString("| negatives (reference vs shop file) | pairs | strong | review | strong from index sample | max score (>= 4 shared) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|\n")
	for _, x := range r.Negatives {
		kind := x.Kind
		if !x.Asserted {
			kind += " (reported only)"
		}
		fmt.Fprintf(&b, "| %s | %d | **%d** | %d | %d | %.3f |\n", kind, x.Pairs, x.Strong, x.Review, x.IndexStrong, x.MaxScore)
	}
	r.details(&b)
	return b.String()
}

// details lists misses, strong negatives and skipped originals.
func (r Report) details(b *strings.Builder) {
	var lines []string
	for _, c := range r.Classes {
		for _, m := range c.Misses {
			lines = append(lines, "- missed, "+c.Class+": "+m)
		}
	}
	for _, x := range r.Negatives {
		for _, s := range x.StrongPairs {
			lines = append(lines, "- strong, "+x.Kind+": "+s)
		}
		if x.MaxPair != "" {
			lines = append(lines, fmt.Sprintf("- closest, %s: %s, score %.3f", x.Kind, x.MaxPair, x.MaxScore))
		}
	}
	for _, s := range r.Skipped {
		lines = append(lines, "- not distinctive: "+s)
	}
	for _, s := range r.Notes {
		lines = append(lines, "- note: "+s)
	}
	if len(lines) > 0 {
		b.WriteString("\n" + strings.Join(lines, "\n") + "\n")
	}
}

func pct(k, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(k)/float64(n))
}
