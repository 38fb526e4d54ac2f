// Package reprice is the inline form a payee changes a price with. The TUI
// checks the number as it is typed; the market has the last word.
package reprice

import (
	"context"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/textfield"
	"github.com/shopfile/shopfile/tui/keymap"
)

// doneMsg answers a Reprice; from tells forms apart, as every page sees
// every message.
type doneMsg struct {
	from *Model
	shop market.Shop
	err  error
}

// Result tells the page what the form did.
type Result struct {
	Saved     bool
	Cancelled bool
	Shop      market.Shop
}

// Model is the form.
type Model struct {
	c      *common.Common
	keys   keymap.Input
	in     textfield.Model
	shop   market.Shop
	errMsg string
	saving bool
}

// New returns a closed form.
func New(c *common.Common) *Model {
	return &Model{c: c, keys: keymap.NewInput("save", "cancel"), in: textfield.New(c.Styles, "new price: ", "sats", 24)}
}

// Open starts editing s's price.
func (m *Model) Open(s market.Shop) {
	m.shop, m.errMsg, m.saving = s, "", false
	m.in.SetValue(common.Thousands(s.PriceSats))
	m.in.Focus()
}

// Typing reports whether the price input has the keyboard.
func (m *Model) Typing() bool { return m.in.Focused() }

// Active reports whether the form is open.
func (m *Model) Active() bool { return m.in.Focused() || m.saving }

// Update handles keys while open and the market's answer.
func (m *Model) Update(msg tea.Msg) (tea.Cmd, Result) {
	switch msg := msg.(type) {
	case doneMsg:
		if msg.from != m {
			return nil, Result{}
		}
		m.saving = false
		if msg.err != nil {
			m.errMsg = common.ErrText(msg.err)
			m.in.Focus()
			return nil, Result{}
		}
		m.in.Blur()
		return nil, Result{Saved: true, Shop: msg.shop}
	case tea.KeyMsg:
		if m.saving || !m.in.Focused() {
			return nil, Result{}
		}
		return m.key(msg)
	}
	return nil, Result{}
}

func (m *Model) key(msg tea.KeyMsg) (tea.Cmd, Result) {
	switch {
	case key.Matches(msg, m.keys.Cancel):
		m.in.Blur()
		m.errMsg = ""
		return nil, Result{Cancelled: true}
	case key.Matches(msg, m.keys.Submit):
		return m.submit(), Result{}
	}
	if m.in.Update(msg) {
		m.errMsg = ""
	}
	return nil, Result{}
}

func (m *Model) submit() tea.Cmd {
	price, err := common.ParsePrice(m.in.Value())
	if err != nil {
		m.errMsg = err.Error()
		return nil
	}
	m.saving, m.errMsg = true, ""
	m.in.Blur()
	mk, actor, id := m.c.Market, m.c.Actor, m.shop.ID
	return common.Load(m.c.Ctx, func(ctx context.Context) (market.Shop, error) {
		return mk.Reprice(ctx, actor, id, price)
	}, func(s market.Shop, err error) tea.Msg { return doneMsg{from: m, shop: s, err: err} })
}

// View renders the form in two lines: the input and its message.
func (m *Model) View(width int) string {
	st := m.c.Styles
	m.in.Width = max(4, width-30)
	head := st.Label.Render("reprice “"+m.shop.Title+"” · now ") + st.Price.Render(common.Sats(m.shop.PriceSats))
	line := m.in.View() + st.Muted.Render(" sats")
	switch {
	case m.saving:
		line += st.Muted.Render("  saving…")
	case m.errMsg != "":
		line += "\n" + st.Error.Render("✗ "+m.errMsg)
	default:
		line += "\n" + st.Muted.Render("a whole number of satoshis, 1 or more")
	}
	return common.FitLines(head+"\n"+line, width, 3)
}

// ShortHelp lists the form's keys.
func (m *Model) ShortHelp() []key.Binding { return []key.Binding{m.keys.Submit, m.keys.Cancel} }
