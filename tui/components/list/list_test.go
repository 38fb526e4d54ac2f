package list

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/tui/styles"
)

func newList(total, rows int) *Model[int] {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	m := New(styles.New(r), func(i, _ int) string { return "item" + string(rune('A'+i)) })
	m.SetSize(20, rows)
	m.SetPage(pageOf(0, rows, total), 0, total)
	return &m
}

func pageOf(off, n, total int) []int {
	var out []int
	for i := off; i < min(off+n, total); i++ {
		out = append(out, i)
	}
	return out
}

func TestMovesAskForThePageHoldingTheSelection(t *testing.T) {
	m := newList(10, 4)
	down := tea.KeyMsg{Type: tea.KeyDown}
	for range 3 {
		if _, fetch := m.Update(down); fetch {
			t.Fatal("a move inside the page asked for a fetch")
		}
	}
	if _, fetch := m.Update(down); !fetch || m.WantOffset() != 4 {
		t.Fatalf("leaving the page: fetch %v offset %d", fetch, m.WantOffset())
	}
	m.SetPage(pageOf(4, 4, 10), 4, 10)
	if got := m.Position("shop"); got != "page 2/3 · 10 shops" {
		t.Fatalf("position %q", got)
	}
	if _, fetch := m.Update(tea.KeyMsg{Type: tea.KeyEnd}); !fetch || m.WantOffset() != 8 {
		t.Fatalf("end: fetch %v offset %d", fetch, m.WantOffset())
	}
	m.SetPage(pageOf(8, 4, 10), 8, 10)
	if v := m.View(); !strings.Contains(v, Glyph+"itemJ") {
		t.Fatalf("the last item is not marked:\n%s", v)
	}
}

func TestResizeRefetchesOnlyWhenThePageSizeChanges(t *testing.T) {
	m := newList(10, 4)
	if m.SetSize(30, 4) {
		t.Fatal("a wider list refetched")
	}
	if !m.SetSize(30, 6) {
		t.Fatal("a taller list did not refetch")
	}
}

func TestPositionOfIrregularPlural(t *testing.T) {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	m := New(styles.New(r), func(s string, _ int) string { return s })
	m.SetSize(20, 10)
	m.SetPage([]string{"a", "b"}, 0, 2)
	if got := m.PositionOf("match", "matches"); got != "page 1/1 · 2 matches" {
		t.Errorf("PositionOf = %q", got)
	}
	m.SetPage([]string{"a"}, 0, 1)
	if got := m.PositionOf("match", "matches"); got != "page 1/1 · 1 match" {
		t.Errorf("PositionOf = %q", got)
	}
}

func TestLocalPagesItsOwnItems(t *testing.T) {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	l := NewLocal(styles.New(r), func(i, _ int) string { return "item" + string(rune('A'+i)) })
	l.SetSize(20, 4)
	if l.Loaded() {
		t.Fatal("loaded before any items")
	}
	l.SetItems(pageOf(0, 10, 10))
	for range 4 {
		if !l.Update(tea.KeyMsg{Type: tea.KeyDown}) {
			t.Fatal("down was not a list key")
		}
	}
	if sel, ok := l.Selected(); !ok || sel != 4 || l.Position("item") != "page 2/3 · 10 items" {
		t.Fatalf("after four downs: %d %v, %q", sel, ok, l.Position("item"))
	}
	l.SetSize(20, 10)
	if sel, ok := l.Selected(); !ok || sel != 4 || l.Position("item") != "page 1/1 · 10 items" {
		t.Fatalf("after a resize: %d %v, %q", sel, ok, l.Position("item"))
	}
	l.SetItems(nil) // an empty answer is an answer
	if _, ok := l.Selected(); ok || !l.Loaded() || l.Total() != 0 {
		t.Fatalf("after an empty load: loaded %v, total %d", l.Loaded(), l.Total())
	}
}
