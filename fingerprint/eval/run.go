package eval

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/shopfile/shopfile/fingerprint"
)

// ClassResult is the recall of one modification class.
type ClassResult struct {
	Class string
	N     int // distinctive originals modified
	// Strong and Review count Compare on complete prints (the evidence
	// path); IndexStrong counts Estimate on the shop file's index sample.
	Strong, Review, IndexStrong int
	MinScore, MeanScore         float64
	Misses                      []string // originals not matched strongly
}

// NegResult counts matches where there should be none.
type NegResult struct {
	Kind string
	// Asserted kinds must have no strong match; related pairs (same
	// directory or base name: versions, vendored copies) are only reported.
	Asserted                           bool
	Pairs, Strong, Review, IndexStrong int
	MaxScore                           float64
	MaxPair                            string
	StrongPairs                        []string
}

// Report is the outcome of Run.
type Report struct {
	Originals, Binaries int
	CorpusBytes         int64
	Skipped             []string // originals that are not distinctive, with the reason
	Notes               []string // what could not be done
	StopListed          int      // distinct hashes stop-listed (Config.StopDF)
	Classes             []ClassResult
	Negatives           []NegResult
	HashedBytes         int64         // bytes fingerprinted, modified copies and members included
	HashTime            time.Duration // time spent in the Hasher
	Elapsed             time.Duration
}

// Recall returns strong matches over all positive pairs.
func (r Report) Recall() (strong, n int) {
	for _, c := range r.Classes {
		strong += c.Strong
		n += c.N
	}
	return strong, n
}

// FalseStrong returns the strong matches among asserted negatives.
func (r Report) FalseStrong() int {
	n := 0
	for _, x := range r.Negatives {
		if x.Asserted {
			n += x.Strong
		}
	}
	return n
}

// shop is one shop file as the store sees it: its print and its members'
// prints, each with the index sample.
type shop struct {
	name   string
	prints []indexed
}

type indexed struct {
	p      *fingerprint.Print
	tier   int
	sample []uint64
	scored []uint64 // sorted distinct scored hashes, for a quick overlap count
}

// runner holds the state of one Run.
type runner struct {
	cfg     Config
	rep     Report
	stop    func(uint64) bool
	stopSet map[uint64]bool
}

// Run builds the corpus, fingerprints every original, binary and modified
// copy, and scores positives and negatives.
func Run(cfg Config) (Report, error) {
	start := time.Now()
	r := &runner{cfg: cfg}
	corpus, originals, binaries, cleanup, err := r.load()
	defer cleanup()
	if err != nil {
		return Report{}, err
	}
	refs := make([]indexed, len(corpus))
	for i, f := range corpus {
		refs[i] = r.index(f.data)
		r.rep.CorpusBytes += int64(len(f.data))
	}
	r.buildStop(refs)
	for i := range refs {
		refs[i].scored = scored(refs[i].p, r.stop)
	}
	shops := r.positives(corpus, refs, originals)
	r.negatives(corpus, refs, shops, binaries)
	r.rep.Originals = len(originals)
	r.rep.Binaries = len(binaries)
	r.rep.Elapsed = time.Since(start)
	return r.rep, nil
}

// load reads the originals and binaries (building the tiny programs first)
// and returns them sorted by path, with the sets of each.
func (r *runner) load() (corpus []file, originals, binaries map[string]bool, cleanup func(), err error) {
	cleanup = func() {}
	orig, err := findOriginals(r.cfg)
	if err != nil {
		return nil, nil, nil, cleanup, err
	}
	bins := slices.Clone(r.cfg.Binaries)
	if len(r.cfg.Build) > 0 && r.cfg.GoTool != "" {
		dir, err := os.MkdirTemp("", "fingerprint-eval-")
		if err != nil {
			return nil, nil, nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		// Without a working go command the toolchain's own programs
		// remain the hard negatives; say so in the report.
		built, err := buildPrograms(r.cfg.GoTool, dir, r.cfg.Build)
		if err != nil {
			r.rep.Notes = append(r.rep.Notes, "tiny programs not built: "+err.Error())
		}
		bins = append(bins, built...)
	}
	originals, binaries = set(orig), set(bins)
	paths := slices.Compact(slices.Sorted(slices.Values(append(orig, bins...))))
	corpus, err = readAll(paths)
	return corpus, originals, binaries, cleanup, err
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// index fingerprints data and samples it for the index, timing the Hasher.
func (r *runner) index(data []byte) indexed {
	t := time.Now()
	h := fingerprint.NewHasher()
	_, _ = h.Write(data)
	p := h.Sum()
	r.rep.HashTime += time.Since(t)
	r.rep.HashedBytes += int64(len(data))
	tier, sample := p.Sample()
	return indexed{p: p, tier: tier, sample: sample}
}

// buildStop stop-lists hashes in at least StopDF corpus files.
func (r *runner) buildStop(refs []indexed) {
	if r.cfg.StopDF <= 0 {
		return
	}
	df := map[uint64]int{}
	for _, x := range refs {
		for _, h := range scored(x.p, nil) {
			df[h]++
		}
	}
	r.stopSet = map[uint64]bool{}
	for h, n := range df {
		if n >= r.cfg.StopDF {
			r.stopSet[h] = true
		}
	}
	r.rep.StopListed = len(r.stopSet)
	r.stop = func(h uint64) bool { return r.stopSet[h] }
}

// scored returns the sorted distinct hashes Compare scores.
func scored(p *fingerprint.Print, stop func(uint64) bool) []uint64 {
	var hs []uint64
	for _, c := range p.Chunks {
		if !c.LowEntropy && (stop == nil || !stop(c.Hash)) {
			hs = append(hs, c.Hash)
		}
	}
	slices.Sort(hs)
	return slices.Compact(hs)
}

// overlap counts common elements of two sorted slices.
func overlap(a, b []uint64) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			n++
			i++
			j++
		}
	}
	return n
}

// shopOf indexes a shop file and, if it is an archive, its members.
func (r *runner) shopOf(name string, data []byte) shop {
	s := shop{name: name, prints: []indexed{r.index(data)}}
	t := time.Now()
	ms, _ := fingerprint.Members(bytes.NewReader(data), int64(len(data)))
	r.rep.HashTime += time.Since(t)
	for _, m := range ms {
		r.rep.HashedBytes += m.Print.Size
		tier, sample := m.Print.Sample()
		s.prints = append(s.prints, indexed{p: m.Print, tier: tier, sample: sample})
	}
	for i := range s.prints {
		s.prints[i].scored = scored(s.prints[i].p, r.stop)
	}
	return s
}

// score returns the best Compare and the best Estimate strength of ref
// against a shop file and its members.
func (r *runner) score(ref indexed, s shop) (fingerprint.Match, fingerprint.Strength) {
	var best fingerprint.Match
	est := fingerprint.None
	for _, x := range s.prints {
		if overlap(ref.scored, x.scored) < fingerprint.ReviewShared {
			continue // below the review floor for Compare and Estimate alike
		}
		if m := fingerprint.Compare(ref.p, x.p, r.stop); m.Strength > best.Strength ||
			(m.Strength == best.Strength && m.Score > best.Score) {
			best = m
		}
		est = max(est, fingerprint.Estimate(ref.p, x.tier, x.sample, r.stop).Strength)
	}
	return best, est
}

// positives makes every class's copy of every distinctive original, scores
// it against the original, and returns the shop files per corpus path.
func (r *runner) positives(corpus []file, refs []indexed, origSet map[string]bool) map[string][]shop {
	g := &gen{}
	fill, _ := readAll(r.cfg.Fillers)
	g.fillers = append(fill, file{"filler.txt", []byte("filler\n")})
	cls := classes()
	res := make([]ClassResult, len(cls))
	for i := range res {
		res[i].Class = cls[i].name
		res[i].MinScore = 1
	}
	shops := map[string][]shop{}
	for i, o := range corpus {
		if !origSet[o.path] {
			continue
		}
		if ok, why := fingerprint.Distinctive(refs[i].p, r.stop); !ok {
			r.rep.Skipped = append(r.rep.Skipped, o.path+": "+why)
			continue
		}
		g.rng = rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)+1))
		for k, c := range cls {
			s := r.shopOf(fmt.Sprintf("%s (%s)", o.path, c.name), c.make(g, o))
			shops[o.path] = append(shops[o.path], s)
			m, est := r.score(refs[i], s)
			res[k].add(o.path, m, est)
		}
	}
	for i := range res {
		if res[i].N > 0 {
			res[i].MeanScore /= float64(res[i].N)
		}
	}
	r.rep.Classes = res
	return shops
}

func (c *ClassResult) add(path string, m fingerprint.Match, est fingerprint.Strength) {
	c.N++
	c.MeanScore += m.Score
	c.MinScore = min(c.MinScore, m.Score)
	switch m.Strength {
	case fingerprint.Strong:
		c.Strong++
	case fingerprint.Review:
		c.Review++
	}
	if m.Strength != fingerprint.Strong {
		c.Misses = append(c.Misses, fmt.Sprintf("%s: %v, score %.3f, %d shared, %d bytes",
			path, m.Strength, m.Score, m.Shared, m.MatchedBytes))
	}
	if est == fingerprint.Strong {
		c.IndexStrong++
	}
}

// negatives scores every corpus file as a reference against every other
// corpus file and its modified copies.
func (r *runner) negatives(corpus []file, refs []indexed, shops map[string][]shop, binaries map[string]bool) {
	kinds := []*NegResult{
		{Kind: "unrelated files", Asserted: true},
		{Kind: "programs from one toolchain", Asserted: true},
		{Kind: "related files (same directory or name)"},
	}
	for a := range corpus {
		for b := range corpus {
			if a == b {
				continue
			}
			k := kinds[0]
			switch {
			case binaries[corpus[a].path] && binaries[corpus[b].path]:
				k = kinds[1]
			case related(corpus[a].path, corpus[b].path):
				k = kinds[2]
			}
			own := shop{name: corpus[b].path, prints: []indexed{refs[b]}}
			for _, s := range append([]shop{own}, shops[corpus[b].path]...) {
				m, est := r.score(refs[a], s)
				k.add(corpus[a].path, s.name, m, est)
			}
		}
	}
	for _, k := range kinds {
		r.rep.Negatives = append(r.rep.Negatives, *k)
	}
}

func (n *NegResult) add(ref, file string, m fingerprint.Match, est fingerprint.Strength) {
	n.Pairs++
	switch m.Strength {
	case fingerprint.Strong:
		n.Strong++
		n.StrongPairs = append(n.StrongPairs, fmt.Sprintf("%s in %s: score %.3f, %d shared, %d bytes",
			ref, file, m.Score, m.Shared, m.MatchedBytes))
	case fingerprint.Review:
		n.Review++
	}
	if est == fingerprint.Strong {
		n.IndexStrong++
	}
	if m.Score > n.MaxScore {
		n.MaxScore = m.Score
		n.MaxPair = fmt.Sprintf("%s vs %s (%d shared)", ref, file, m.Shared)
	}
}
