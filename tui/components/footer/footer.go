// Package footer renders the keys that work on the current page with
// bubbles/help, restyled from the session renderer.
package footer

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/shopfile/shopfile/tui/styles"
)

// Model is the footer.
type Model struct {
	help help.Model
}

// New builds the footer without help.New, whose styles come from the
// global renderer.
func New(st *styles.Styles) Model {
	return Model{help: help.Model{ShortSeparator: " • ", FullSeparator: "   ", Ellipsis: "…", Styles: st.Help}}
}

// SetWidth sets the width help may use before it elides.
func (m *Model) SetWidth(w int) { m.help.Width = w }

// ShowAll reports whether the full help is open.
func (m Model) ShowAll() bool { return m.help.ShowAll }

// Toggle opens or closes the full help.
func (m *Model) Toggle() { m.help.ShowAll = !m.help.ShowAll }

// View renders the keys: the full help, or one line of the page's keys
// that fit followed by the pinned ones.
func (m Model) View(b Bindings) string {
	if m.help.ShowAll {
		return m.help.FullHelpView(b.Full)
	}
	return m.help.ShortHelpView(m.fit(b))
}

// fit drops the page's last keys until the line fits, keeping the pinned
// keys (help, quit) that say how to see the rest. bubbles/help elides by
// itself, but at some widths it overflows instead.
func (m Model) fit(b Bindings) []key.Binding {
	width := func(ks []key.Binding) int {
		w := 0
		for _, k := range ks {
			if k.Enabled() {
				w += len([]rune(k.Help().Key)) + 1 + len([]rune(k.Help().Desc)) + len([]rune(m.help.ShortSeparator))
			}
		}
		return w
	}
	short := b.Short
	for len(short) > 0 && m.help.Width > 0 && width(short)+width(b.Pinned) > m.help.Width {
		short = short[:len(short)-1]
	}
	out := make([]key.Binding, 0, len(short)+len(b.Pinned))
	return append(append(out, short...), b.Pinned...)
}

// Bindings are the keys to show.
type Bindings struct {
	Short  []key.Binding   // the page's, most useful first
	Pinned []key.Binding   // always shown, after the page's
	Full   [][]key.Binding // columns of the full help
}

// ShortHelp implements help.KeyMap.
func (b Bindings) ShortHelp() []key.Binding { return append(b.Short, b.Pinned...) }

// FullHelp implements help.KeyMap.
func (b Bindings) FullHelp() [][]key.Binding { return b.Full }
