// Package library lists what you bought and how to get each file.
package library

import (
	"context"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/list"
	"github.com/shopfile/shopfile/tui/keymap"
)

type nameMsg struct {
	shop, name string
}

type loadedMsg struct {
	seq   int
	items []market.LibraryItem
	err   error
}

// Model is the library page. The market returns the whole library at
// once, so paging is local.
type Model struct {
	c      *common.Common
	keys   keymap.Library
	back   key.Binding
	list   list.Local[market.LibraryItem]
	seq    int
	err    error
	show   bool              // the selected purchase's commands replace the list
	names  map[string]string // shop id → file name, for the get command
	scroll int
	width  int
	height int
}

// New returns the page.
func New(c *common.Common) *Model {
	m := &Model{c: c, keys: keymap.NewLibrary(), back: keymap.NewGlobal().Back, names: map[string]string{}}
	m.list = list.NewLocal(c.Styles, m.row)
	return m
}

// Init loads the library.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate reloads it (a purchase may have happened on another tab).
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing: the page has no input.
func (m *Model) Typing() bool { return false }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	m.list.SetSize(w, h-2)
	return nil
}

func (m *Model) fetch() tea.Cmd {
	m.seq++
	seq, mk, actor := m.seq, m.c.Market, m.c.Actor
	return common.Load(m.c.Ctx, func(ctx context.Context) ([]market.LibraryItem, error) {
		return mk.Library(ctx, actor)
	}, func(items []market.LibraryItem, err error) tea.Msg {
		return loadedMsg{seq: seq, items: items, err: err}
	})
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case loadedMsg:
		if msg.seq == m.seq {
			m.err = msg.err
			if msg.err == nil {
				m.list.SetItems(msg.items)
			}
		}
	case nameMsg:
		m.names[msg.shop] = msg.name
	case common.WalletChangedMsg:
		if m.list.Loaded() { // our balance moved: maybe a purchase
			return m.fetch()
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if m.show {
		switch {
		case key.Matches(msg, m.back, m.keys.Show):
			m.show = false
		case key.Matches(msg, m.list.Keys.Up):
			m.scroll--
		case key.Matches(msg, m.list.Keys.Down):
			m.scroll++
		}
		return nil
	}
	if m.list.Update(msg) {
		return nil
	}
	it, ok := m.list.Selected()
	switch {
	case key.Matches(msg, m.keys.Show) && ok:
		m.show, m.scroll = true, 0
		return m.fetchName(it.Shop)
	case key.Matches(msg, m.keys.Open) && ok:
		return common.Open(it.Shop)
	case key.Matches(msg, m.keys.Refresh):
		return m.fetch()
	}
	return nil
}

// fetchName looks up the file name once, for a ready-to-run get command.
func (m *Model) fetchName(id string) tea.Cmd {
	if _, ok := m.names[id]; ok {
		return nil
	}
	mk, actor := m.c.Market, m.c.Actor
	return common.Load(m.c.Ctx, func(ctx context.Context) (market.Shop, error) {
		return mk.Show(ctx, actor, id)
	}, func(s market.Shop, err error) tea.Msg {
		if err != nil {
			return nil // the command then names the output "file"
		}
		return nameMsg{shop: id, name: s.Name}
	})
}

func (m *Model) row(it market.LibraryItem, w int) string {
	st := m.c.Styles
	when := it.At.UTC().Format("2006-01-02")
	price := common.PadLeft(common.Sats(it.PriceSats), 16)
	if w < 50 {
		return common.PadRight(it.Title, w-17) + " " + st.Price.Render(price)
	}
	return common.PadRight(it.Title, w-29) + " " + st.Price.Render(price) + " " + st.Muted.Render(common.PadLeft(when, 11))
}

// View renders the list, its position and the open panel.
func (m *Model) View() string {
	st := m.c.Styles
	var body string
	switch {
	case !m.list.Loaded() && m.err != nil:
		body = st.Error.Render("✗ ") + common.ErrText(m.err) + st.Muted.Render(" — r retries")
	case !m.list.Loaded():
		body = st.Muted.Render("loading your library…")
	case m.list.Total() == 0:
		body = st.Muted.Render(common.Wrap("nothing bought yet — find something on the Browse tab (1)", m.width))
	case m.show:
		return common.Scroll(st, m.panel(), m.width, m.height, &m.scroll)
	default:
		body = m.list.View()
	}
	return st.Label.Render("What you bought") + "\n" + common.Block(body, m.width, m.height-2) + "\n" + m.status()
}

func (m *Model) status() string {
	if m.list.Total() == 0 {
		return ""
	}
	return common.Truncate(m.c.Styles.Muted.Render(m.list.Position("purchase")), m.width)
}

// panel shows the exact commands that fetch the selected file.
func (m *Model) panel() string {
	st := m.c.Styles
	it, ok := m.list.Selected()
	if !ok {
		return ""
	}
	var b strings.Builder
	b.WriteString(st.Title.Render(it.Title) + "\n")
	b.WriteString(st.Label.Render("purchase ") + it.Purchase + st.Label.Render(" · paid ") + common.Sats(it.PriceSats) + "\n\n")
	b.WriteString(common.CommandsView(m.c, it.Shop, m.names[it.Shop], m.width) + "\n")
	return b.String() + "\n" + st.Muted.Render("esc goes back to the list")
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	if m.show {
		return []key.Binding{m.back}
	}
	var b []key.Binding
	if _, ok := m.list.Selected(); ok {
		b = append(b, m.keys.Show, m.keys.Open, m.list.Keys.Up, m.list.Keys.Down)
	}
	return append(b, m.keys.Refresh)
}

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding {
	return m.list.FullHelp(m.keys.Show, m.keys.Open, m.keys.Refresh)
}
