package rights

import (
	"strings"
	"testing"
)

func TestBarIsProportional(t *testing.T) {
	for _, c := range []struct {
		spans []span
		size  int64
		cells int
		want  string
	}{
		{nil, 100, 10, "░░░░░░░░░░"},
		{[]span{{0, 100}}, 100, 10, "██████████"},
		{[]span{{50, 50}}, 100, 10, "░░░░░█████"},
		{[]span{{0, 10}, {90, 10}}, 100, 10, "█░░░░░░░░█"},
		{[]span{{12, 3}}, 100, 10, "░▒░░░░░░░░"}, // a sliver still shows
		{[]span{{10, 6}}, 100, 10, "░█░░░░░░░░"}, // over half a cell
		{[]span{{0, 1000}}, 100, 4, "████"},      // clipped to the file
		{[]span{{0, 3}}, 3, 10, "██████████"},    // more cells than bytes
		{[]span{{0, 5}}, 0, 3, "░░░"},
	} {
		if got := bar(c.spans, c.size, c.cells); got != c.want {
			t.Errorf("bar(%v, %d, %d) = %q, want %q", c.spans, c.size, c.cells, got, c.want)
		}
	}
}

func TestRangeLinesListsFewAndCountsTheRest(t *testing.T) {
	spans := []span{{3 << 20, 1 << 20}, {0, 1024}, {1 << 20, 1 << 20}, {8 << 20, 10}}
	got := rangeLines(spans, 5, 2)
	if len(got) != 3 || !strings.HasPrefix(got[0], "0 B – ") || !strings.Contains(got[2], "7 more") {
		t.Fatalf("rangeLines = %q", got)
	}
	if got := rangeLines(nil, 0, 3); len(got) != 1 || got[0] != "none kept" {
		t.Fatalf("no ranges: %q", got)
	}
}
