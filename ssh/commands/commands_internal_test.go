package commands

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// Every command runs by its own name and by each alias through the lazy
// table, and the full tree (help) lists each command once.
func TestEveryCommandIsReachableByName(t *testing.T) {
	env := &Env{Stdout: &strings.Builder{}, Stderr: &strings.Builder{}}
	names := map[string]bool{}
	for key, build := range subcommands {
		cmd := build(env)
		if cmd.Name() != key && !slices.Contains(cmd.Aliases, key) {
			t.Errorf("subcommands[%q] builds %q (aliases %v)", key, cmd.Name(), cmd.Aliases)
		}
		for _, alias := range append([]string{cmd.Name()}, cmd.Aliases...) {
			if _, ok := subcommands[alias]; !ok {
				t.Errorf("%q runs %s, but the table has no entry for it", alias, cmd.Name())
			}
		}
		names[cmd.Name()] = true
	}
	full := newRoot(env, []string{"help"})
	var listed []string
	for _, c := range full.Commands() {
		listed = append(listed, c.Name())
	}
	slices.Sort(listed)
	if want := slices.Sorted(maps.Keys(names)); !slices.Equal(listed, want) {
		t.Fatalf("help lists %v, want %v", listed, want)
	}
	if one := newRoot(env, []string{"license", "x"}).Commands(); len(one) != 1 || one[0].Name() != "licence" {
		t.Fatalf("the tree for `license x` holds %d commands", len(one))
	}
}
