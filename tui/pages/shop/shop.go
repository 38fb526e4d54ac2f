// Package shop is one shop's page: what it is, what it costs, who is paid,
// whether you own it, and the buy and reprice actions.
package shop

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/detail"
	"github.com/shopfile/shopfile/tui/components/reprice"
	"github.com/shopfile/shopfile/tui/keymap"
)

// details is everything the page shows, fetched together.
type details struct {
	shop    market.Shop
	owned   bool
	balance int64
}

// Model is the shop page. Loading, scrolling and Init, Activate and
// SetSize come from detail.Model.
type Model struct {
	*detail.Model[details]
	c       *common.Common
	keys    keymap.Shop
	back    key.Binding
	id      string
	notice  string
	buy     *buyDialog
	reprice *reprice.Model
}

// New returns the page of shop id; Init loads it.
func New(c *common.Common, id string) *Model {
	return &Model{Model: detail.New(c, "shop", load(id)), c: c, keys: keymap.NewShop(), back: keymap.NewGlobal().Back,
		id: id, reprice: reprice.New(c)}
}

// ID is the shop shown.
func (m *Model) ID() string { return m.id }

// Typing reports whether the price input has the keyboard.
func (m *Model) Typing() bool { return m.reprice.Typing() }

func load(id string) detail.LoadFunc[details] {
	return func(ctx context.Context, mk *market.Market, actor *store.Account) (details, error) {
		var d details
		var err error
		if d.shop, err = mk.Show(ctx, actor, id); err != nil {
			return d, err
		}
		if d.owned, err = mk.Owns(ctx, actor, id); err != nil {
			return d, err
		}
		d.balance, err = mk.Balance(ctx, actor)
		return d, err
	}
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if cmd, res := m.reprice.Update(msg); res.Saved || res.Cancelled || cmd != nil {
		return m.afterReprice(cmd, res)
	}
	if m.Take(msg) {
		return nil
	}
	switch msg := msg.(type) {
	case boughtMsg:
		if m.buy != nil && msg.key == m.buy.key {
			return m.bought(msg)
		}
	case common.ShopChangedMsg:
		if msg.ID == m.id {
			return m.Fetch()
		}
	case common.WalletChangedMsg:
		return m.Fetch()
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) afterReprice(cmd tea.Cmd, res reprice.Result) tea.Cmd {
	if res.Saved {
		m.D.shop.PriceSats = res.Shop.PriceSats
		m.notice = "✓ price is now " + common.Sats(res.Shop.PriceSats)
	}
	return cmd
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if m.reprice.Active() || m.Scroll(msg, m.keys.Scroll) {
		return nil // the form had the key, or it scrolled
	}
	if m.buy != nil {
		return m.dialogKey(msg)
	}
	switch {
	case key.Matches(msg, m.back):
		return common.Back
	case key.Matches(msg, m.keys.Buy) && m.canBuy():
		m.openBuy()
	case key.Matches(msg, m.keys.Reprice) && m.canReprice():
		m.notice = ""
		m.reprice.Open(m.D.shop)
	case key.Matches(msg, m.keys.Refresh):
		return m.Fetch()
	}
	return nil
}

func (m *Model) canBuy() bool {
	return m.Loaded && !m.D.owned && m.D.shop.Payee != m.c.Actor.ID
}

// canReprice: only the payee may, and not while a dispute froze the price.
func (m *Model) canReprice() bool {
	return m.Loaded && m.D.shop.Payee == m.c.Actor.ID && !m.D.shop.Frozen
}

// View renders the page, or the buy dialog over it.
func (m *Model) View() string {
	if m.buy != nil {
		return m.Show(m.buy.view(m))
	}
	if v, waiting := m.Waiting(); waiting {
		return v
	}
	return m.Show(m.details())
}

// details puts what a visitor acts on first (price, ownership and the
// action), then the facts, so a short terminal shows what matters.
func (m *Model) details() string {
	st, s := m.c.Styles, m.D.shop
	var b strings.Builder
	b.WriteString(st.Title.Render(s.Title) + "\n")
	if s.Description != "" {
		b.WriteString(common.Wrap(s.Description, m.Width()) + "\n")
	}
	b.WriteString("\n")
	field := func(name, value string) {
		b.WriteString(st.Label.Render(common.PadRight(name, 10)) + " " + value + "\n")
	}
	field("price", m.priceText())
	field("status", m.ownership())
	if claim := m.claimText(); claim != "" {
		field("claim", claim)
	}
	b.WriteString("\n" + m.action() + "\n\n")
	for _, f := range m.facts() {
		field(f[0], f[1])
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func (m *Model) priceText() string {
	st, s := m.c.Styles, m.D.shop
	price := st.Price.Render(common.Sats(s.PriceSats))
	if s.Frozen {
		price += st.Warn.Render("  FROZEN") + st.Muted.Render(" (a claim is disputed)")
	}
	return price
}

// claimText marks a shop whose payments a rights holder took over, live:
// the page refetches when the market says the shop changed.
func (m *Model) claimText() string {
	st, s := m.c.Styles, m.D.shop
	switch {
	case s.Frozen:
		return st.Warn.Render("⚑ DISPUTED — price frozen") + " new sales are held in escrow until an admin decides"
	case s.Payee != s.Uploader:
		return st.Warn.Render("⚑ CLAIMED") + " every copy pays the rights holder " + common.Party(s.Payee, m.c.Actor.ID)
	}
	return ""
}

func (m *Model) facts() [][2]string {
	s, self := m.D.shop, m.c.Actor.ID
	return [][2]string{
		{"size", fmt.Sprintf("%s (%s bytes)", common.Bytes(s.Size), common.Thousands(s.Size))},
		{"file", s.Name},
		{"payee", common.Party(s.Payee, self)},
		{"uploader", common.Party(s.Uploader, self)},
		{"sales", common.Thousands(s.Sales)},
		{"content", common.Truncate(s.ContentID, max(8, m.Width()-11))},
		{"shop", s.ID},
	}
}

func (m *Model) ownership() string {
	st := m.c.Styles
	switch {
	case m.D.shop.Payee == m.c.Actor.ID:
		return st.OK.Render("✓ PAYEE") + " you are paid for it"
	case m.D.owned:
		return st.OK.Render("✓ OWNED") + " you may get it"
	}
	return st.Muted.Render("not owned")
}

// action is the part under the fields: the form, a notice, the commands
// an owner runs, or the invitation to buy.
func (m *Model) action() string {
	st := m.c.Styles
	switch {
	case m.reprice.Active():
		return m.reprice.View(m.Width())
	case m.Err != nil:
		return st.Error.Render("✗ ") + common.ErrText(m.Err)
	}
	out := ""
	if m.notice != "" {
		out = st.OK.Render(m.notice) + "\n"
	}
	if m.D.owned {
		return out + commands(m.c, m.D.shop, m.Width())
	}
	return out + st.Muted.Render("b buys it for ") + st.Price.Render(common.Sats(m.D.shop.PriceSats))
}

// commands renders how to get the file.
func commands(c *common.Common, s market.Shop, width int) string {
	return common.CommandsView(c, s.ID, s.Name, width)
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	switch {
	case m.buy != nil:
		return m.buy.help()
	case m.reprice.Active():
		return m.reprice.ShortHelp()
	}
	b := []key.Binding{m.back}
	if m.Loaded && m.Scrollable(m.details()) {
		b = append(b, m.keys.Down)
	}
	if m.canBuy() {
		b = append(b, m.keys.Buy)
	}
	if m.canReprice() {
		b = append(b, m.keys.Reprice)
	}
	return append(b, m.keys.Refresh)
}

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding {
	if m.buy != nil || m.reprice.Active() {
		return [][]key.Binding{m.ShortHelp()}
	}
	b := []key.Binding{m.back}
	if m.canBuy() {
		b = append(b, m.keys.Buy)
	}
	if m.canReprice() {
		b = append(b, m.keys.Reprice)
	}
	return [][]key.Binding{append(b, m.keys.Refresh), {m.keys.Up, m.keys.Down}}
}
