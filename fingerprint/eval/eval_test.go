package eval

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	full  = flag.Bool("eval.full", false, "run the full evaluation (TestEvalFull)")
	extra = flag.String("eval.bin", "", "extra programs for the hard negatives, a glob (e.g. /work/main/bin/*)")
	stop  = flag.Int("eval.stopdf", 0, "stop-list hashes found in at least this many corpus files (0: none)")
	roots = flag.String("eval.roots", "", "more directories to take originals from, comma-separated")
	count = flag.Int("eval.n", -1, "originals to sample (0: all; default: 12 small, all full)")
)

// check asserts the targets: recall >= 95% over the classes and no strong
// false match among unrelated files and programs from one toolchain.
func check(t *testing.T, r Report) {
	t.Helper()
	t.Log("\n" + r.Markdown())
	strong, n := r.Recall()
	if n == 0 || float64(strong) < 0.95*float64(n) {
		t.Errorf("recall %d/%d, want >= 95%%", strong, n)
	}
	if f := r.FalseStrong(); f != 0 {
		t.Errorf("%d strong false matches, want 0", f)
	}
}

func config(t *testing.T, full bool) Config {
	t.Helper()
	root := FindGOROOT()
	if _, err := os.Stat(filepath.Join(root, "src")); err != nil {
		t.Skipf("no Go source tree at %q", root)
	}
	c := DefaultConfig(root, full)
	if *extra != "" {
		ms, _ := filepath.Glob(*extra)
		c.Binaries = append(c.Binaries, ms...)
	}
	c.StopDF = *stop
	if *roots != "" {
		c.Roots = append(c.Roots, strings.Split(*roots, ",")...)
	}
	if *count >= 0 {
		c.Originals = *count
	}
	return c
}

// TestEvalSmall is the evaluation that runs with the normal tests: 12
// originals from the Go tree, ten classes, the toolchain binaries up to 8
// MiB and two tiny programs built here.
func TestEvalSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	r, err := Run(config(t, false))
	if err != nil {
		t.Fatal(err)
	}
	check(t, r)
}

// TestEvalFull is the bigger run:
//
//	go test ./fingerprint/eval -run TestEvalFull -eval.full -v
func TestEvalFull(t *testing.T) {
	if !*full {
		t.Skip("needs -eval.full")
	}
	r, err := Run(config(t, true))
	if err != nil {
		t.Fatal(err)
	}
	check(t, r)
}
