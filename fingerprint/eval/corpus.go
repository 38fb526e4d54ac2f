// Package eval measures the fingerprint package on real files found on the
// machine at run time: recall per modification class at the "strong"
// threshold, and strong false matches among unrelated files, including
// different programs built with the same Go toolchain, which share library
// code (research §6).
//
// Run builds the corpus from Config, makes the modified copies with a seeded
// generator, and returns a Report; Report.Markdown renders the table.
package eval

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/zeebo/blake3"
)

// Config says where the corpus comes from and how big the run is.
type Config struct {
	// Roots are searched for originals: regular files with a size in
	// [MinSize, MaxSize].
	Roots            []string
	MinSize, MaxSize int64
	// Originals is how many originals are sampled (0: all found).
	Originals int
	// Binaries are programs built with one toolchain, the hard negatives.
	// Pairs of them must not match; they are originals too when they fit
	// the size range.
	Binaries []string
	// Build lists tiny Go programs (main package sources) to build with
	// GoTool into a temporary directory and add to Binaries: programs that
	// share nearly everything but their main package.
	Build  []string
	GoTool string
	// Fillers are small real files put next to the original in archives.
	Fillers []string
	Seed    uint64
	// StopDF > 0 stop-lists hashes found in at least StopDF distinct
	// corpus files (originals and binaries), as the store does with its
	// document frequencies. 0 runs without a stop list, the harder case.
	StopDF int
}

// FindGOROOT returns the Go root: $GOROOT, else `go env GOROOT`, else the
// root this binary was built from.
func FindGOROOT() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "env", "GOROOT").Output(); err == nil {
		if r := strings.TrimSpace(string(out)); r != "" {
			return r
		}
	}
	return runtime.GOROOT() // deprecated, but a fair last resort here
}

// DefaultConfig returns the corpus under goroot: its source tree, testdata,
// api files and the toolchain binaries. The small run (sized to stay near
// 30 s under -race on two busy cores) samples 12 originals of 0.5-2 MiB, the
// binaries up to 8 MiB and two tiny programs; the full run takes every
// original of at least 0.5 MiB, every binary and four tiny programs.
func DefaultConfig(goroot string, full bool) Config {
	c := Config{
		Roots:    []string{goroot},
		MinSize:  512 << 10,
		MaxSize:  2 << 20,
		Seed:     20250101,
		Binaries: toolchainBinaries(goroot, 8<<20),
		GoTool:   filepath.Join(goroot, "bin", "go"),
		Fillers:  fillers(goroot, 6),
	}
	c.Originals = 12
	c.Build = tinyPrograms()[:2]
	if full {
		c.MaxSize = 1 << 40
		c.Originals = 0
		c.Binaries = toolchainBinaries(goroot, 1<<40)
		c.Build = tinyPrograms()
	}
	return c
}

// tinyPrograms returns main packages that differ only in a line or two.
func tinyPrograms() []string {
	return []string{
		"package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"hello\") }\n",
		"package main\nimport (\"fmt\"; \"os\")\nfunc main() { fmt.Fprintln(os.Stderr, \"bye\", len(os.Args)) }\n",
		"package main\nimport (\"fmt\"; \"sort\"; \"strings\")\nfunc main() { s := strings.Fields(\"c b a\"); sort.Strings(s); fmt.Println(s) }\n",
		"package main\nimport (\"encoding/json\"; \"os\")\nfunc main() { json.NewEncoder(os.Stdout).Encode(map[string]int{\"a\": 1}) }\n",
	}
}

// toolchainBinaries lists the go command, gofmt and the tools under
// pkg/tool, up to maxSize bytes each.
func toolchainBinaries(goroot string, maxSize int64) []string {
	var out []string
	for _, pat := range []string{"bin/*", "pkg/tool/*/*"} {
		ms, _ := filepath.Glob(filepath.Join(goroot, pat))
		for _, m := range ms {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() && fi.Size() <= maxSize && fi.Mode()&0o111 != 0 {
				out = append(out, m)
			}
		}
	}
	return out
}

// fillers picks n small Go source files (4-48 KiB) from goroot/src/fmt and
// goroot/src/strings: below the 64 KiB a strong match needs, so an archive's
// filler never makes a match on its own.
func fillers(goroot string, n int) []string {
	var out []string
	for _, dir := range []string{"src/fmt", "src/strings", "src/bufio"} {
		ms, _ := filepath.Glob(filepath.Join(goroot, dir, "*.go"))
		for _, m := range ms {
			if fi, err := os.Stat(m); err == nil && fi.Size() >= 4<<10 && fi.Size() <= 48<<10 {
				out = append(out, m)
			}
		}
	}
	slices.Sort(out)
	return out[:min(n, len(out))]
}

// file is one corpus file.
type file struct {
	path string
	data []byte
}

// findOriginals walks the roots for files in the size range, drops exact
// duplicates, and samples Originals of them with the seed.
func findOriginals(c Config) ([]string, error) {
	var paths []string
	for _, root := range c.Roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable parts of the tree are skipped
			}
			if !d.Type().IsRegular() {
				return nil
			}
			if fi, err := d.Info(); err == nil && fi.Size() >= c.MinSize && fi.Size() <= c.MaxSize {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(paths) == 0 {
		return nil, errors.New("eval: no originals found")
	}
	slices.Sort(paths)
	paths = dedupe(paths)
	rng := rand.New(rand.NewPCG(c.Seed, 1))
	rng.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	if c.Originals > 0 && len(paths) > c.Originals {
		paths = paths[:c.Originals]
	}
	slices.Sort(paths)
	return paths, nil
}

// dedupe keeps the first of files with equal content.
func dedupe(paths []string) []string {
	seen := map[[32]byte]bool{}
	out := paths[:0]
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		sum := blake3.Sum256(b)
		if !seen[sum] {
			seen[sum] = true
			out = append(out, p)
		}
	}
	return out
}

// buildPrograms compiles the sources into dir and returns the binaries.
func buildPrograms(goTool, dir string, srcs []string) ([]string, error) {
	var out []string
	for i, src := range srcs {
		pkg := filepath.Join(dir, "p"+string(rune('a'+i)))
		if err := os.MkdirAll(pkg, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(pkg, "main.go"), []byte(src), 0o644); err != nil {
			return nil, err
		}
		bin := filepath.Join(dir, "prog"+string(rune('a'+i)))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", bin, "main.go")
		cmd.Dir = pkg
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			return out, errors.New("eval: go build: " + err.Error() + ": " + stderr.String())
		}
		out = append(out, bin)
	}
	return out, nil
}

// readAll reads the files, in order.
func readAll(paths []string) ([]file, error) {
	out := make([]file, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, file{p, b})
	}
	return out, nil
}

// related reports whether two corpus files are likely versions or siblings
// of each other (same directory or same base name: vendored copies, tables
// for successive Unicode versions, race runtimes per OS). Such pairs are
// reported apart from the unrelated negatives.
func related(a, b string) bool {
	return filepath.Dir(a) == filepath.Dir(b) || filepath.Base(a) == filepath.Base(b)
}

func byPath(a, b file) int { return cmp.Compare(a.path, b.path) }
