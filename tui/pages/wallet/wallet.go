// Package wallet shows the balance, deposits in flight, where to deposit
// (as text and as a QR code), the history of every movement and the
// account's payouts, and withdraws to a Bitcoin address.
package wallet

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/qr"
	"github.com/shopfile/shopfile/tui/keymap"
)

// HistoryLimit bounds the movements fetched.
const HistoryLimit = 200

// PayoutLimit bounds the payouts fetched.
const PayoutLimit = 100

type data struct {
	w       market.Wallet
	addrErr error // the wallet loaded but the node did not give an address
	history []market.HistoryItem
	payouts []market.PayoutView // newest first
	// payoutsOn: the shop pays out (it has a payout service); without one
	// the form says withdrawals are off instead of opening.
	payoutsOn bool
}

// The list under the summary: the history of movements or the payouts.
const (
	paneHistory = iota
	panePayouts
)

type loadedMsg struct {
	seq int
	d   data
	err error
}

// Model is the wallet page.
type Model struct {
	c      *common.Common
	keys   keymap.Wallet
	d      data
	loaded bool
	seq    int
	err    error
	pane   int
	scroll int
	width  int
	height int
	wd     *withdrawForm // the withdraw form while it is open
}

// New returns the page.
func New(c *common.Common) *Model { return &Model{c: c, keys: keymap.NewWallet()} }

// Init loads the wallet.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate reloads it.
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing reports whether the withdraw form's fields have the keyboard.
func (m *Model) Typing() bool { return m.wd != nil && m.wd.step == wForm }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	return nil
}

func (m *Model) fetch() tea.Cmd {
	m.seq++
	seq, mk, actor := m.seq, m.c.Market, m.c.Actor
	return common.Load(m.c.Ctx, func(ctx context.Context) (data, error) {
		return load(ctx, mk, actor)
	}, func(d data, err error) tea.Msg { return loadedMsg{seq: seq, d: d, err: err} })
}

// load reads the wallet. When only the node failed (no deposit address),
// the balance and history still show, with the node's state.
func load(ctx context.Context, mk *market.Market, actor *store.Account) (data, error) {
	var d data
	var err error
	d.w, err = mk.Wallet(ctx, actor)
	if errors.Is(err, market.ErrUnavailable) {
		d.addrErr = err
		if d.w.BalanceSats, err = mk.Balance(ctx, actor); err != nil {
			return d, err
		}
		d.w.Chain = mk.ChainStatus()
	}
	if err != nil {
		return d, err
	}
	if d.history, err = mk.History(ctx, actor, HistoryLimit); err != nil {
		return d, err
	}
	if d.payouts, err = mk.Payouts(ctx, actor, PayoutLimit); err != nil {
		return d, err
	}
	d.payoutsOn = payoutsOn(ctx, mk, actor)
	return d, nil
}

// payoutsOn asks whether the shop pays out. The market has no direct
// question for it: a quote for no address is refused as unavailable when
// payouts are off and as invalid (the empty address) when they are on,
// before anything is read.
func payoutsOn(ctx context.Context, mk *market.Market, actor *store.Account) bool {
	_, err := mk.QuoteWithdraw(ctx, actor, "")
	return !errors.Is(err, market.ErrUnavailable)
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case loadedMsg:
		if msg.seq == m.seq {
			m.err = msg.err
			if msg.err == nil {
				m.d, m.loaded = msg.d, true
				m.scroll = min(m.scroll, max(0, m.rows()-1))
			}
		}
	case quotedMsg:
		return m.quoted(msg)
	case withdrawnMsg:
		return m.withdrawn(msg)
	case common.WalletChangedMsg:
		if m.loaded { // a tab never shown loads when it is
			return tea.Batch(m.fetch(), m.requote())
		}
	case tea.KeyMsg:
		if m.wd != nil {
			return m.withdrawKey(msg)
		}
		switch {
		case key.Matches(msg, m.keys.Up):
			m.scroll = max(0, m.scroll-1)
		case key.Matches(msg, m.keys.Down):
			m.scroll = min(max(0, m.rows()-1), m.scroll+1)
		case key.Matches(msg, m.keys.Refresh):
			return m.fetch()
		case key.Matches(msg, m.keys.Withdraw):
			return m.openWithdraw()
		case key.Matches(msg, m.keys.Payouts) && m.loaded:
			m.pane, m.scroll = 1-m.pane, 0
		}
	}
	return nil
}

// rows is how many items the list shown holds.
func (m *Model) rows() int {
	if m.pane == panePayouts {
		return len(m.d.payouts)
	}
	return len(m.d.history)
}

// View renders the page.
func (m *Model) View() string {
	st := m.c.Styles
	switch {
	case !m.loaded && m.err != nil:
		return common.Block(st.Error.Render("✗ ")+common.ErrText(m.err)+st.Muted.Render(" — r retries"), m.width, m.height)
	case !m.loaded:
		return common.Block(st.Muted.Render("loading wallet…"), m.width, m.height)
	}
	if m.wd != nil {
		return common.Block(common.OverDialog(m.summary(), m.wd.view(m), m.height), m.width, m.height)
	}
	top := m.withQR(m.summary())
	rest := m.height - lipgloss.Height(top) - 1
	list := m.historyView(rest)
	if m.pane == panePayouts {
		list = m.payoutsView(rest)
	}
	return common.Block(top+"\n"+list, m.width, m.height)
}

func (m *Model) summary() string {
	st, w := m.c.Styles, m.d.w
	row := func(label, value string) string { return st.Label.Render(common.PadRight(label, 10)) + " " + value }
	lines := []string{row("balance", st.Balance.Render(common.Sats(w.BalanceSats)))}
	if w.Chain.Enabled {
		lines = append(lines, row("pending", common.Sats(w.PendingSats)+st.Muted.Render("  seen on chain, not yet credited")))
	}
	lines = append(lines, row("deposits", m.chainLine()))
	if w.DepositAddress != "" {
		lines = append(lines, row("address", w.DepositAddress))
	}
	if p := m.payoutsLine(); p != "" {
		lines = append(lines, row("payouts", p))
	}
	if m.err != nil {
		lines = append(lines, st.Error.Render("✗ ")+common.ErrText(m.err))
	}
	return strings.Join(lines, "\n")
}

func (m *Model) chainLine() string {
	st, c := m.c.Styles, m.d.w.Chain
	switch {
	case !c.Enabled || c.Network == "none":
		return st.Warn.Render("OFF") + " deposits are off (--chain none)"
	case !c.Reachable || m.d.addrErr != nil:
		return st.Error.Render("✗ node unreachable") + st.Muted.Render(" — deposits will show once it is back")
	}
	return st.OK.Render("✓ ON") + fmt.Sprintf(" %s · height %s", c.Network, common.Thousands(c.Height))
}

// withQR puts the deposit QR code beside the summary, or under it, or
// says how big the terminal must be to show it.
func (m *Model) withQR(summary string) string {
	addr := m.d.w.DepositAddress
	if addr == "" {
		return summary
	}
	code := qr.Address(addr, m.c.Styles.Renderer.HasDarkBackground())
	qw, qh := qr.Size(code)
	sw, sh := lipgloss.Width(summary), lipgloss.Height(summary)
	switch {
	case sw+2+qw <= m.width && qh <= m.height-2:
		return lipgloss.JoinHorizontal(lipgloss.Top, summary, "  ", code)
	case qw <= m.width && sh+qh <= m.height-2:
		return summary + "\n" + code
	}
	return summary + "\n" + m.c.Styles.Muted.Render(fmt.Sprintf("(a terminal of %d×%d shows the address as a QR code)", max(qw, 40), sh+qh+8))
}

func (m *Model) historyView(h int) string {
	st := m.c.Styles
	if h < 2 {
		return ""
	}
	head := st.Label.Render("history")
	if len(m.d.payouts) > 0 {
		head += st.Muted.Render(" · p shows your payouts")
	}
	if len(m.d.history) == 0 {
		return head + "\n" + st.Muted.Render("no movements yet")
	}
	// The running balance is the first column to go on a narrow terminal.
	row := func(when, kind, amount, balance string) string {
		if m.width < 66 {
			return fmt.Sprintf("%-16s  %-16s %14s", when, kind, amount)
		}
		return fmt.Sprintf("%-16s  %-16s %14s %14s", when, kind, amount, balance)
	}
	lines := []string{head, st.Label.Render(row("when (UTC)", "kind", "amount", "balance"))}
	for _, mv := range movements(m.d.history)[min(m.scroll, len(m.d.history)):] {
		lines = append(lines, row(mv.at.UTC().Format("2006-01-02 15:04"), mv.kind, mv.amount, common.Thousands(mv.balance)))
	}
	return strings.Join(lines[:min(len(lines), h)], "\n")
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	if m.wd != nil {
		return m.wd.help()
	}
	return []key.Binding{m.keys.Withdraw, m.keys.Payouts, m.keys.Refresh, m.keys.Up, m.keys.Down}
}

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
