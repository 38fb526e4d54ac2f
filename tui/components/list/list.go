// Package list is a selectable list over pages the store serves: the
// session holds one page of rows, never the whole catalogue, and asks for
// another page when the selection leaves the one it has.
package list

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/keymap"
	"github.com/shopfile/shopfile/tui/styles"
)

// Glyph marks the selected row, so selection never depends on colour.
const Glyph = "▸ "

// RenderFunc draws one row's text in width cells.
type RenderFunc[T any] func(item T, width int) string

// Model is one page of items of a longer list.
type Model[T any] struct {
	st       *styles.Styles
	Keys     keymap.List
	render   RenderFunc[T]
	items    []T
	offset   int // index of items[0] in the whole list
	total    int
	sel      int // selected index in the whole list
	pageSize int
	width    int
	loaded   bool
}

// New returns an empty list.
func New[T any](st *styles.Styles, render RenderFunc[T]) Model[T] {
	return Model[T]{st: st, Keys: keymap.NewList(), render: render, pageSize: 1}
}

// SetSize sets the width and the rows per page. It reports whether the
// page must be fetched again (the page size changed).
func (m *Model[T]) SetSize(width, rows int) bool {
	m.width = width
	rows = max(1, rows)
	changed := rows != m.pageSize
	m.pageSize = rows
	return changed && m.loaded
}

// PageSize is the number of rows a page holds.
func (m *Model[T]) PageSize() int { return m.pageSize }

// WantOffset is the offset of the page holding the selection.
func (m *Model[T]) WantOffset() int { return m.sel / m.pageSize * m.pageSize }

// SetPage stores a fetched page.
func (m *Model[T]) SetPage(items []T, offset, total int) {
	m.items, m.offset, m.total, m.loaded = items, offset, total, true
	if m.total == 0 {
		m.sel = 0
		return
	}
	last := min(m.total, offset+len(items)) - 1
	m.sel = min(max(m.sel, offset), max(last, offset))
}

// Reset selects the first item (a new search or sort).
func (m *Model[T]) Reset() { m.sel = 0 }

// Loaded reports whether a page has arrived yet.
func (m *Model[T]) Loaded() bool { return m.loaded }

// Items is the page held.
func (m *Model[T]) Items() []T { return m.items }

// Total is the number of items in the whole list.
func (m *Model[T]) Total() int { return m.total }

// Selected returns the selected item, if the page holds it.
func (m *Model[T]) Selected() (T, bool) {
	var zero T
	i := m.sel - m.offset
	if i < 0 || i >= len(m.items) {
		return zero, false
	}
	return m.items[i], true
}

// Update moves the selection. It reports whether the key was a list key
// and whether the page holding the new selection must be fetched.
func (m *Model[T]) Update(msg tea.KeyMsg) (handled, fetch bool) {
	if m.total == 0 {
		return false, false
	}
	before := m.sel
	switch {
	case key.Matches(msg, m.Keys.Up):
		m.sel = max(0, m.sel-1)
	case key.Matches(msg, m.Keys.Down):
		m.sel = min(m.total-1, m.sel+1)
	case key.Matches(msg, m.Keys.PrevPage):
		m.sel = max(0, m.WantOffset()-m.pageSize)
	case key.Matches(msg, m.Keys.NextPage):
		m.sel = min(m.total-1, m.WantOffset()+m.pageSize)
	case key.Matches(msg, m.Keys.First):
		m.sel = 0
	case key.Matches(msg, m.Keys.Last):
		m.sel = m.total - 1
	default:
		return false, false
	}
	return true, m.sel != before && !m.holds(m.sel)
}

func (m *Model[T]) holds(i int) bool { return i >= m.offset && i < m.offset+len(m.items) }

// Position says where the page is: "page 2/7 · 143 shops", given the
// noun in the singular.
func (m *Model[T]) Position(noun string) string { return m.PositionOf(noun, noun+"s") }

// PositionOf is Position for a noun whose plural is not noun+"s".
func (m *Model[T]) PositionOf(one, many string) string {
	pages := max(1, (m.total+m.pageSize-1)/m.pageSize)
	page := min(pages, m.offset/m.pageSize+1)
	noun := many
	if m.total == 1 {
		noun = one
	}
	return fmt.Sprintf("page %d/%d · %s %s", page, pages, common.Thousands(int64(m.total)), noun)
}

// View renders the page's rows, the selected one with the glyph.
func (m *Model[T]) View() string {
	lines := make([]string, 0, len(m.items))
	w := max(1, m.width-len([]rune(Glyph)))
	for i, it := range m.items {
		text := common.PadRight(m.render(it, w), w)
		if m.offset+i == m.sel {
			// One style over the whole row: inner styles would reset it.
			lines = append(lines, Glyph+m.st.Selected.Render(ansi.Strip(text)))
			continue
		}
		lines = append(lines, "  "+m.st.Row.Render(text))
	}
	return strings.Join(lines, "\n")
}

// FullHelp lists the list's keys, then the page's own.
func (m *Model[T]) FullHelp(page ...key.Binding) [][]key.Binding {
	l := m.Keys
	return [][]key.Binding{{l.Up, l.Down, l.First, l.Last}, {l.PrevPage, l.NextPage}, page}
}
