package shop

import (
	"context"
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/keymap"
)

type buyState int

const (
	confirming buyState = iota
	paying
	paid
	failed
)

// buyDialog is one intent to buy. Its key is made once, when the dialog
// opens, and every attempt from it reuses the key: a double Enter or a
// retry after an error can never charge twice.
type buyDialog struct {
	keys    keymap.Dialog
	key     string
	title   string
	price   int64 // the price shown, and the most Buy may charge
	balance int64
	state   buyState
	receipt market.Purchase
	err     error
}

type boughtMsg struct {
	key string
	p   market.Purchase
	err error
}

func (m *Model) openBuy() {
	m.notice = ""
	m.Top()
	m.buy = &buyDialog{keys: keymap.NewDialog(), key: m.c.Market.NewPurchaseKey(), title: m.D.shop.Title,
		price: m.D.shop.PriceSats, balance: m.D.balance}
}

func (m *Model) dialogKey(msg tea.KeyMsg) tea.Cmd {
	d := m.buy
	switch d.state {
	case paying:
		return nil // the answer is on its way; nothing may start a second buy
	case paid:
		if key.Matches(msg, d.keys.Close) {
			m.buy = nil
			m.Top()
		}
		return nil
	}
	switch {
	case key.Matches(msg, d.keys.Confirm):
		return m.pay()
	case key.Matches(msg, d.keys.Cancel):
		m.buy = nil
	}
	return nil
}

func (m *Model) pay() tea.Cmd {
	d := m.buy
	d.state, d.err = paying, nil
	mk, actor, id, k, price := m.c.Market, m.c.Actor, m.id, d.key, d.price
	return common.Load(m.c.Ctx, func(ctx context.Context) (market.Purchase, error) {
		return mk.Buy(ctx, actor, id, k, price)
	}, func(p market.Purchase, err error) tea.Msg { return boughtMsg{key: k, p: p, err: err} })
}

func (m *Model) bought(msg boughtMsg) tea.Cmd {
	d := m.buy
	if msg.err != nil {
		d.state, d.err = failed, msg.err
		if errors.Is(msg.err, store.ErrPriceAboveMax) {
			return m.Fetch() // show the new price behind the dialog
		}
		return nil
	}
	d.state, d.receipt = paid, msg.p
	m.D.owned = true
	bal := msg.p.BalanceSats
	return tea.Batch(m.Fetch(), func() tea.Msg { return common.BalanceMsg{Sats: bal} })
}

func (d *buyDialog) help() []key.Binding {
	switch d.state {
	case paying:
		return nil
	case paid:
		return []key.Binding{d.keys.Close, keymap.NewShop().Down}
	case failed:
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "try again")), d.keys.Cancel}
	}
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "pay "+common.Sats(d.price))), d.keys.Cancel}
}

func (d *buyDialog) view(m *Model) string {
	st := m.c.Styles
	w := max(20, min(m.Width(), 100))
	var body string
	switch d.state {
	case paid:
		body = d.receiptView(m, w-4)
	case failed:
		body = d.sums(m) + "\n\n" + d.failure(m)
	case paying:
		body = d.sums(m) + "\n\n" + st.Muted.Render("paying…")
	default:
		body = d.sums(m) + "\n\n" + st.Muted.Render("enter pays "+common.Sats(d.price)+" · esc cancels")
	}
	head := st.DialogTitle.Render(common.Truncate("Buy “"+d.title+"”", w-4))
	return st.Dialog.Width(w - 2).Render(head + "\n\n" + body)
}

// sums shows the exact price and the balance it leaves.
func (d *buyDialog) sums(m *Model) string {
	st := m.c.Styles
	row := func(label, value string) string { return st.Label.Render(common.PadRight(label, 14)) + value }
	after := d.balance - d.price
	afterText := st.Price.Render(common.Sats(after))
	if after < 0 {
		afterText = st.Error.Render("✗ not enough") + " — you need " + common.Sats(-after) + " more"
	}
	return strings.Join([]string{
		row("price", st.Price.Render(common.Sats(d.price))),
		row("your balance", common.Sats(d.balance)),
		row("after", afterText),
	}, "\n")
}

func (d *buyDialog) failure(m *Model) string {
	st := m.c.Styles
	switch {
	case errors.Is(d.err, market.ErrInsufficientFunds):
		return st.Error.Render("✗ insufficient funds") + " — nothing was charged.\n" +
			"The price is " + common.Sats(d.price) + "; deposit on the Wallet tab (3).\n" +
			st.Muted.Render("enter tries again · esc cancels")
	case errors.Is(d.err, store.ErrPriceAboveMax):
		return st.Error.Render("✗ the price changed") + " — nothing was charged.\n" +
			st.Muted.Render("esc, then look at the new price and buy again")
	}
	return st.Error.Render("✗ ") + common.ErrText(d.err) + "\n" +
		st.Muted.Render("enter tries again (it can never charge twice) · esc cancels")
}

func (d *buyDialog) receiptView(m *Model, width int) string {
	st, p := m.c.Styles, d.receipt
	head := st.OK.Render("✓ PAID") + " " + common.Sats(p.PriceSats) + " · balance now " + common.Sats(p.BalanceSats)
	if p.Existing {
		head = st.OK.Render("✓ ALREADY YOURS") + " nothing was charged"
	}
	return head + "\n" + st.Label.Render("purchase ") + p.ID + "\n\n" + commands(m.c, m.D.shop, width) +
		"\n\n" + st.Muted.Render("esc closes")
}
