// Package detail is the skeleton of a page about one thing, opened over a
// tab (a shop, a match, a claim): it loads the thing whole with the
// session's context and keeps only the answer to the last load, says what
// stands while nothing is loaded, and scrolls the thing when it is taller
// than the body. The page embeds it and keeps its own keys, actions and
// words.
package detail

import (
	"context"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/keymap"
)

// LoadFunc reads the thing off the UI goroutine. It must capture values,
// never the page.
type LoadFunc[D any] func(ctx context.Context, mk *market.Market, actor *store.Account) (D, error)

type loadedMsg[D any] struct {
	from *Model[D]
	seq  int
	d    D
	err  error
}

// Model is the skeleton; D is everything the page shows, loaded together.
type Model[D any] struct {
	D      D     // what the last load that worked brought
	Loaded bool  // a load worked
	Err    error // the last load's error

	c      *common.Common
	what   string // "claim": "loading claim…"
	load   LoadFunc[D]
	seq    int
	scroll int
	width  int
	height int
}

// New returns the skeleton of a page about a what, read by load.
func New[D any](c *common.Common, what string, load LoadFunc[D]) *Model[D] {
	return &Model[D]{c: c, what: what, load: load}
}

// Init loads the thing.
func (m *Model[D]) Init() tea.Cmd { return m.Fetch() }

// Activate reloads it.
func (m *Model[D]) Activate() tea.Cmd { return m.Fetch() }

// SetSize sets the body size.
func (m *Model[D]) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	return nil
}

// Width is the body's width.
func (m *Model[D]) Width() int { return m.width }

// Fetch loads the thing again.
func (m *Model[D]) Fetch() tea.Cmd {
	m.seq++
	seq, mk, actor, load := m.seq, m.c.Market, m.c.Actor, m.load
	return common.Load(m.c.Ctx, func(ctx context.Context) (D, error) {
		return load(ctx, mk, actor)
	}, func(d D, err error) tea.Msg { return loadedMsg[D]{from: m, seq: seq, d: d, err: err} })
}

// Take takes the answer to the last Fetch. It reports whether msg brought
// the thing afresh; any other message is the page's.
func (m *Model[D]) Take(msg tea.Msg) bool {
	l, ok := msg.(loadedMsg[D])
	if !ok || l.from != m || l.seq != m.seq {
		return false
	}
	m.Err = l.err
	if l.err != nil {
		return false
	}
	m.D, m.Loaded = l.d, true
	return true
}

// Scroll moves the view for the page's scroll keys; it reports whether msg
// was one. Show clamps the offset.
func (m *Model[D]) Scroll(msg tea.KeyMsg, keys keymap.Scroll) bool {
	switch {
	case key.Matches(msg, keys.Up):
		m.scroll--
	case key.Matches(msg, keys.Down):
		m.scroll++
	default:
		return false
	}
	return true
}

// Top scrolls back to the top.
func (m *Model[D]) Top() { m.scroll = 0 }

// Waiting is the view while nothing is loaded: the load under way, or why
// it failed. It reports false once the thing is loaded.
func (m *Model[D]) Waiting() (string, bool) {
	st := m.c.Styles
	switch {
	case m.Loaded:
		return "", false
	case m.Err != nil:
		return common.Block(st.Error.Render("✗ ")+common.ErrText(m.Err)+"\n"+st.Muted.Render("r retries · esc goes back"), m.width, m.height), true
	}
	return common.Block(st.Muted.Render("loading "+m.what+"…"), m.width, m.height), true
}

// Show renders s from the scroll offset, saying where it is when s is
// taller than the body.
func (m *Model[D]) Show(s string) string {
	return common.Scroll(m.c.Styles, s, m.width, m.height, &m.scroll)
}

// Scrollable reports whether s is taller than the body.
func (m *Model[D]) Scrollable(s string) bool { return common.Scrollable(s, m.height) }

// Over renders a dialog under head, the top of the page it acts on, and
// scrolls back to the top.
func (m *Model[D]) Over(head, dialog string) string {
	m.scroll = 0
	return common.Block(common.OverDialog(head, dialog, m.height), m.width, m.height)
}
