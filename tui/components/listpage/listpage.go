// Package listpage is the skeleton of a page listing what the market
// returns whole, each item found on a shop (the rights holder's matches,
// the claims): it loads the items and the titles of their shops, pages
// them locally, and lays out a title, the column heads, the rows and a
// status line. The page keeps its own keys, rows and words.
package listpage

import (
	"context"
	"maps"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/list"
)

type loadedMsg[T any] struct {
	from   *Model[T]
	seq    int
	items  []T
	titles map[string]string // titles looked up by this load
	err    error
}

// Model is the skeleton.
type Model[T any] struct {
	c         *common.Common
	list      list.Local[T]
	one, many string                 // the noun, "match" and "matches"
	heads     func(width int) string // the column heads over rows of width cells
	titles    map[string]string      // shop id → title, kept across loads
	seq       int
	err       error
	width     int
	height    int
}

// New returns an empty list of items named one and many, each drawn by
// row under the column heads heads draws for the same width.
func New[T any](c *common.Common, one, many string, row list.RenderFunc[T], heads func(width int) string) *Model[T] {
	return &Model[T]{c: c, list: list.NewLocal(c.Styles, row), one: one, many: many, heads: heads, titles: map[string]string{}}
}

// SetSize sets the body size: a title line, the column heads, the rows
// and the status line.
func (m *Model[T]) SetSize(w, h int) {
	m.width, m.height = w, h
	m.list.SetSize(w, h-3)
}

// Width is the body's width.
func (m *Model[T]) Width() int { return m.width }

// Loaded reports whether a load has arrived.
func (m *Model[T]) Loaded() bool { return m.list.Loaded() }

// All is every item.
func (m *Model[T]) All() []T { return m.list.All() }

// Selected returns the selected item, if there is one.
func (m *Model[T]) Selected() (T, bool) { return m.list.Selected() }

// Titles names the shops of one load: each is read once, and not at all
// when an earlier load named it.
type Titles struct {
	mk    *market.Market
	actor *store.Account
	known map[string]string // the page's, as the load started
	found map[string]string // read by this load
}

// Of returns the title of shop; fallback names a shop that cannot be read.
func (t *Titles) Of(ctx context.Context, shop, fallback string) string {
	if title, ok := t.known[shop]; ok {
		return title
	}
	if title, ok := t.found[shop]; ok {
		return title
	}
	title := fallback
	if s, err := t.mk.Show(ctx, t.actor, shop); err == nil {
		title = s.Title
	}
	t.found[shop] = title
	return title
}

// Fetch loads the items with load, off the UI goroutine and with the
// session's context; load names their shops with titles. Only the answer
// to the last Fetch is taken.
func (m *Model[T]) Fetch(load func(ctx context.Context, titles *Titles) ([]T, error)) tea.Cmd {
	m.seq++
	seq := m.seq
	titles := &Titles{mk: m.c.Market, actor: m.c.Actor, known: maps.Clone(m.titles), found: map[string]string{}}
	return common.Load(m.c.Ctx, func(ctx context.Context) ([]T, error) {
		return load(ctx, titles)
	}, func(items []T, err error) tea.Msg {
		return loadedMsg[T]{from: m, seq: seq, items: items, titles: titles.found, err: err}
	})
}

// Update takes the answers to Fetch and the list's keys. It reports
// whether msg was either; the page handles every other message.
func (m *Model[T]) Update(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case loadedMsg[T]:
		if msg.from == m && msg.seq == m.seq {
			m.err = msg.err
			if msg.err == nil {
				maps.Copy(m.titles, msg.titles)
				m.list.SetItems(msg.items)
			}
		}
		return true
	case tea.KeyMsg:
		return m.list.Update(msg)
	}
	return false
}

// View renders the title, then the column heads and the rows, or what
// stands for them (why the first load failed, that it is under way, empty
// when there are no items), then the status line: the position, followed
// by more.
func (m *Model[T]) View(title, empty, more string) string {
	st := m.c.Styles
	var body string
	switch {
	case !m.Loaded() && m.err != nil:
		body = st.Error.Render("✗ ") + common.ErrText(m.err) + st.Muted.Render(" — r retries")
	case !m.Loaded():
		body = st.Muted.Render("loading " + m.many + "…")
	case m.list.Total() == 0:
		body = empty
	default:
		heads := st.Label.Render("  " + m.heads(max(1, m.width-len([]rune(list.Glyph)))))
		return common.Block(title, m.width, 1) + "\n" + common.Truncate(heads, m.width) + "\n" +
			common.Block(m.list.View(), m.width, m.height-3) + "\n" + m.status(more)
	}
	return common.Block(title, m.width, 1) + "\n\n" + common.Block(body, m.width, m.height-3) + "\n" + m.status(more)
}

func (m *Model[T]) status(more string) string {
	st := m.c.Styles
	if m.err != nil && m.Loaded() {
		return common.Truncate(st.Error.Render("error: ")+common.ErrText(m.err)+st.Muted.Render(" — r retries"), m.width)
	}
	if !m.Loaded() || m.list.Total() == 0 {
		return ""
	}
	return common.Truncate(st.Muted.Render(m.list.PositionOf(m.one, m.many)+more), m.width)
}

// ShortHelp lists the keys that work now: open, the page's key for the
// selected item, and the moves while there is one, then refresh.
func (m *Model[T]) ShortHelp(open, refresh key.Binding) []key.Binding {
	var b []key.Binding
	if _, ok := m.list.Selected(); ok {
		b = append(b, open, m.list.Keys.Up, m.list.Keys.Down)
	}
	return append(b, refresh)
}

// FullHelp lists every key of the page: the list's, then open and refresh.
func (m *Model[T]) FullHelp(open, refresh key.Binding) [][]key.Binding {
	return m.list.FullHelp(open, refresh)
}
