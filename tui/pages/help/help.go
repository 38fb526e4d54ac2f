// Package help lists every key of every page in one place.
package help

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/keymap"
)

// Model is the help page.
type Model struct {
	c      *common.Common
	keys   keymap.Scroll
	tabs   []string // the names of the tabs shown, in order
	scroll int
	width  int
	height int
}

// New returns the page.
func New(c *common.Common) *Model {
	return &Model{c: c, keys: keymap.NewScroll(), tabs: []string{"Browse", "My shops", "Wallet", "Library", "Help"}}
}

// SetTabs tells the page which tabs are shown, so the numbers it lists
// are the keys that work for this account.
func (m *Model) SetTabs(names []string) { m.tabs = names }

// tab names a tab's section with its key, or "" when it is not shown.
func (m *Model) tab(name string) string {
	for i, n := range m.tabs {
		if n == name {
			return fmt.Sprintf("%d %s", i+1, strings.ToLower(n))
		}
	}
	return ""
}

// Init does nothing: the page needs no data.
func (m *Model) Init() tea.Cmd { return nil }

// Activate does nothing.
func (m *Model) Activate() tea.Cmd { return nil }

// Typing: the page has no input.
func (m *Model) Typing() bool { return false }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	return nil
}

// Update scrolls.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, m.keys.Up):
			m.scroll--
		case key.Matches(k, m.keys.Down):
			m.scroll++ // View clamps it
		}
	}
	return nil
}

type section struct {
	name string
	keys []key.Binding
}

func (m *Model) sections() []section {
	g, l, b, s, d := keymap.NewGlobal(), keymap.NewList(), keymap.NewBrowse(), keymap.NewShop(), keymap.NewDialog()
	mi, w, lib := keymap.NewMine(), keymap.NewWallet(), keymap.NewLibrary()
	pay := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pay (charges once)"))
	g.Tabs = keymap.NewTabs(len(m.tabs))
	out := []section{
		{"everywhere", []key.Binding{g.Tabs, g.NextTab, g.PrevTab, g.Help, g.Back, g.Quit, g.ForceQuit}},
		{"lists", []key.Binding{l.Up, l.Down, l.PrevPage, l.NextPage, l.First, l.Last}},
		{m.tab("Browse"), []key.Binding{b.Open, b.Search, b.Sort, b.Clear, b.Refresh}},
		{"shop page", []key.Binding{s.Buy, withDesc(s.Reprice, "reprice (payee only)"), s.Refresh}},
		{"buy dialog", []key.Binding{pay, d.Cancel}},
		{m.tab("My shops"), []key.Binding{mi.Reprice, mi.Open, mi.Refresh}},
		{m.tab("Wallet"), []key.Binding{withDesc(w.Withdraw, "withdraw to an address"), w.Payouts, w.Refresh}},
		{m.tab("Library"), []key.Binding{lib.Show, lib.Open, lib.Refresh}},
	}
	if name := m.tab("Rights"); name != "" {
		r, rv := keymap.NewRights(), keymap.NewReview()
		out = append(out, section{name, []key.Binding{r.Review, r.Refresh}},
			section{"review", []key.Binding{withDesc(rv.Approve, "approve: become payee"), rv.Dismiss, rv.Open}})
	}
	if name := m.tab("Claims"); name != "" {
		cl, c := keymap.NewClaims(), keymap.NewClaim()
		out = append(out, section{name, []key.Binding{cl.Show, cl.Refresh}},
			section{"claim page", []key.Binding{withDesc(c.Dispute, "dispute (uploader)"), withDesc(c.Uphold, "uphold (admin)"),
				withDesc(c.Reverse, "reverse (admin)"), c.Open}})
	}
	return append(out, section{"typing", []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "done")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "clear")),
	}})
}

func withDesc(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

func (m *Model) sectionView(sec section) string {
	st := m.c.Styles
	lines := []string{st.Label.Render(sec.name)}
	for _, k := range sec.keys {
		lines = append(lines, fmt.Sprintf("  %s %s", st.Help.FullKey.Render(common.PadRight(k.Help().Key, 9)), k.Help().Desc))
	}
	return strings.Join(lines, "\n")
}

// text lays the sections out in as many columns as the width allows.
func (m *Model) text() string {
	st := m.c.Styles
	head := st.Title.Render("Keys") + st.Muted.Render("  (q is text while you type; ctrl+c always quits)")
	foot := st.Label.Render("without the TUI") + "\n" +
		"  " + st.Command.Render(m.c.Dial+" ls --json") + st.Muted.Render("  every action is also a command") + "\n" +
		"  " + st.Command.Render(m.c.Dial+" upload NAME < FILE") + st.Muted.Render("  sell a file")
	return head + "\n\n" + m.columns(min(3, max(1, m.width/32))) + "\n\n" + foot
}

// columns fills cols columns in order, each about as tall as the others.
func (m *Model) columns(cols int) string {
	var blocks []string
	total := 0
	for _, sec := range m.sections() {
		b := m.sectionView(sec)
		blocks = append(blocks, b)
		total += lipgloss.Height(b) + 1
	}
	target := (total + cols - 1) / cols
	var out []string
	var col []string
	height := 0
	for _, b := range blocks {
		h := lipgloss.Height(b) + 1
		if height > 0 && height+h > target+1 && len(out) < cols-1 {
			out = append(out, strings.Join(col, "\n\n"))
			col, height = nil, 0
		}
		col = append(col, b)
		height += h
	}
	out = append(out, strings.Join(col, "\n\n"))
	w := m.width / cols
	for i := range out[:len(out)-1] {
		out[i] = m.c.Styles.Renderer.NewStyle().Width(w).Render(out[i])
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, out...)
}

// View renders the visible part of the list.
func (m *Model) View() string {
	return common.Scroll(m.c.Styles, m.text(), m.width, m.height, &m.scroll)
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding { return []key.Binding{m.keys.Up, m.keys.Down} }

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
