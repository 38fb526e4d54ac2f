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
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/reprice"
	"github.com/shopfile/shopfile/tui/keymap"
)

// details is everything the page shows, fetched together.
type details struct {
	shop    market.Shop
	owned   bool
	balance int64
}

type loadedMsg struct {
	from *Model
	seq  int
	d    details
	err  error
}

// Model is the shop page.
type Model struct {
	c       *common.Common
	keys    keymap.Shop
	back    key.Binding
	id      string
	d       details
	loaded  bool
	seq     int
	err     error
	notice  string
	buy     *buyDialog
	reprice *reprice.Model
	scroll  int
	width   int
	height  int
}

// New returns the page of shop id; Init loads it.
func New(c *common.Common, id string) *Model {
	return &Model{c: c, keys: keymap.NewShop(), back: keymap.NewGlobal().Back, id: id, reprice: reprice.New(c)}
}

// ID is the shop shown.
func (m *Model) ID() string { return m.id }

// Init loads the shop.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate refreshes it.
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing reports whether the price input has the keyboard.
func (m *Model) Typing() bool { return m.reprice.Typing() }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	return nil
}

func (m *Model) fetch() tea.Cmd {
	m.seq++
	seq, mk, actor, id := m.seq, m.c.Market, m.c.Actor, m.id
	return common.Load(m.c.Ctx, func(ctx context.Context) (details, error) {
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
	}, func(d details, err error) tea.Msg { return loadedMsg{from: m, seq: seq, d: d, err: err} })
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if cmd, res := m.reprice.Update(msg); res.Saved || res.Cancelled || cmd != nil {
		return m.afterReprice(cmd, res)
	}
	switch msg := msg.(type) {
	case loadedMsg:
		if msg.from == m && msg.seq == m.seq {
			m.err = msg.err
			if msg.err == nil {
				m.d, m.loaded = msg.d, true
			}
		}
	case boughtMsg:
		if m.buy != nil && msg.key == m.buy.key {
			return m.bought(msg)
		}
	case common.ShopChangedMsg:
		if msg.ID == m.id {
			return m.fetch()
		}
	case common.WalletChangedMsg:
		return m.fetch()
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) afterReprice(cmd tea.Cmd, res reprice.Result) tea.Cmd {
	if res.Saved {
		m.d.shop.PriceSats = res.Shop.PriceSats
		m.notice = "✓ price is now " + common.Sats(res.Shop.PriceSats)
	}
	return cmd
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if m.reprice.Active() {
		return nil // the form had the key
	}
	switch {
	case key.Matches(msg, m.keys.Up):
		m.scroll--
		return nil
	case key.Matches(msg, m.keys.Down):
		m.scroll++
		return nil
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
		m.reprice.Open(m.d.shop)
	case key.Matches(msg, m.keys.Refresh):
		return m.fetch()
	}
	return nil
}

func (m *Model) canBuy() bool {
	return m.loaded && !m.d.owned && m.d.shop.Payee != m.c.Actor.ID
}

// canReprice: only the payee may, and not while a dispute froze the price.
func (m *Model) canReprice() bool {
	return m.loaded && m.d.shop.Payee == m.c.Actor.ID && !m.d.shop.Frozen
}

// View renders the page, or the buy dialog over it.
func (m *Model) View() string {
	st := m.c.Styles
	switch {
	case m.buy != nil:
		return common.Scroll(st, m.buy.view(m), m.width, m.height, &m.scroll)
	case !m.loaded && m.err != nil:
		return common.Block(st.Error.Render("✗ ")+common.ErrText(m.err)+"\n"+st.Muted.Render("r retries · esc goes back"), m.width, m.height)
	case !m.loaded:
		return common.Block(st.Muted.Render("loading shop…"), m.width, m.height)
	}
	return common.Scroll(st, m.details(), m.width, m.height, &m.scroll)
}

// details puts what a visitor acts on first (price, ownership and the
// action), then the facts, so a short terminal shows what matters.
func (m *Model) details() string {
	st, s := m.c.Styles, m.d.shop
	var b strings.Builder
	b.WriteString(st.Title.Render(s.Title) + "\n")
	if s.Description != "" {
		b.WriteString(common.Wrap(s.Description, m.width) + "\n")
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
	st, s := m.c.Styles, m.d.shop
	price := st.Price.Render(common.Sats(s.PriceSats))
	if s.Frozen {
		price += st.Warn.Render("  FROZEN") + st.Muted.Render(" (a claim is disputed)")
	}
	return price
}

// claimText marks a shop whose payments a rights holder took over, live:
// the page refetches when the market says the shop changed.
func (m *Model) claimText() string {
	st, s := m.c.Styles, m.d.shop
	switch {
	case s.Frozen:
		return st.Warn.Render("⚑ DISPUTED — price frozen") + " new sales are held in escrow until an admin decides"
	case s.Payee != s.Uploader:
		return st.Warn.Render("⚑ CLAIMED") + " every copy pays the rights holder " + common.Party(s.Payee, m.c.Actor.ID)
	}
	return ""
}

func (m *Model) facts() [][2]string {
	s, self := m.d.shop, m.c.Actor.ID
	return [][2]string{
		{"size", fmt.Sprintf("%s (%s bytes)", common.Bytes(s.Size), common.Thousands(s.Size))},
		{"file", s.Name},
		{"payee", common.Party(s.Payee, self)},
		{"uploader", common.Party(s.Uploader, self)},
		{"sales", common.Thousands(s.Sales)},
		{"content", common.Truncate(s.ContentID, max(8, m.width-11))},
		{"shop", s.ID},
	}
}

func (m *Model) ownership() string {
	st := m.c.Styles
	switch {
	case m.d.shop.Payee == m.c.Actor.ID:
		return st.OK.Render("✓ PAYEE") + " you are paid for it"
	case m.d.owned:
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
		return m.reprice.View(m.width)
	case m.err != nil:
		return st.Error.Render("✗ ") + common.ErrText(m.err)
	}
	out := ""
	if m.notice != "" {
		out = st.OK.Render(m.notice) + "\n"
	}
	if m.d.owned {
		return out + commands(m.c, m.d.shop, m.width)
	}
	return out + st.Muted.Render("b buys it for ") + st.Price.Render(common.Sats(m.d.shop.PriceSats))
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
	if m.loaded && common.Scrollable(m.details(), m.height) {
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
