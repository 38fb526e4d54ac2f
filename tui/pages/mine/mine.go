// Package mine is the seller's page: the shops you uploaded or are paid
// for, and their prices, changed inline.
package mine

import (
	"context"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/list"
	"github.com/shopfile/shopfile/tui/components/reprice"
	"github.com/shopfile/shopfile/tui/keymap"
)

type loadedMsg struct {
	seq    int
	offset int
	page   market.Page
	err    error
}

// Model is the seller's page.
type Model struct {
	c       *common.Common
	keys    keymap.Mine
	list    list.Model[market.Shop]
	reprice *reprice.Model
	seq     int
	loading bool
	err     error
	notice  string
	width   int
	height  int
}

// formHeight is the lines kept for the reprice form under the list.
const formHeight = 3

// New returns the page.
func New(c *common.Common) *Model {
	m := &Model{c: c, keys: keymap.NewMine(), reprice: reprice.New(c)}
	m.list = list.New(c.Styles, m.row)
	return m
}

// Init fetches the first page.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate refetches.
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing reports whether the price input has the keyboard.
func (m *Model) Typing() bool { return m.reprice.Typing() }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	if m.list.SetSize(w, h-2-formHeight) {
		return m.fetch()
	}
	return nil
}

func (m *Model) fetch() tea.Cmd {
	m.seq++
	m.loading = true
	seq, mk, actor := m.seq, m.c.Market, m.c.Actor
	q := market.ListQuery{Mine: true, Limit: m.list.PageSize(), Offset: m.list.WantOffset()}
	return common.Load(m.c.Ctx, func(ctx context.Context) (market.Page, error) {
		return mk.List(ctx, actor, q)
	}, func(p market.Page, err error) tea.Msg {
		return loadedMsg{seq: seq, offset: q.Offset, page: p, err: err}
	})
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if cmd, res := m.reprice.Update(msg); res.Saved || res.Cancelled || cmd != nil {
		if res.Saved {
			m.notice = "✓ “" + res.Shop.Title + "” now costs " + common.Sats(res.Shop.PriceSats)
			return m.fetch()
		}
		return cmd
	}
	switch msg := msg.(type) {
	case loadedMsg:
		if msg.seq == m.seq {
			m.loading, m.err = false, msg.err
			if msg.err == nil {
				m.list.SetPage(msg.page.Shops, msg.offset, msg.page.Total)
			}
		}
	case common.ShopChangedMsg:
		for _, s := range m.list.Items() {
			if s.ID == msg.ID {
				return m.fetch()
			}
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if m.reprice.Active() {
		return nil
	}
	if handled, fetch := m.list.Update(msg); handled {
		if fetch {
			return m.fetch()
		}
		return nil
	}
	s, ok := m.list.Selected()
	switch {
	case !ok:
	case key.Matches(msg, m.keys.Reprice) && m.canReprice(s):
		m.notice = ""
		m.reprice.Open(s)
	case key.Matches(msg, m.keys.Reprice):
		m.notice = m.whyNot(s)
	case key.Matches(msg, m.keys.Open):
		return common.Open(s.ID)
	}
	if key.Matches(msg, m.keys.Refresh) {
		return m.fetch()
	}
	return nil
}

func (m *Model) canReprice(s market.Shop) bool { return s.Payee == m.c.Actor.ID && !s.Frozen }

func (m *Model) whyNot(s market.Shop) string {
	if s.Frozen {
		return "the price of “" + s.Title + "” is frozen while a claim is disputed"
	}
	return "only the payee may reprice “" + s.Title + "”; it is paid to " + common.ShortID(s.Payee)
}

// row draws a shop with its price and your role in it.
func (m *Model) row(s market.Shop, w int) string {
	st := m.c.Styles
	role := "payee"
	switch {
	case s.Frozen:
		role = "FROZEN"
	case s.Payee != m.c.Actor.ID:
		role = "claimed"
	}
	price := common.PadLeft(common.Sats(s.PriceSats), 16)
	return common.PadRight(s.Title, w-26) + " " + st.Price.Render(price) + " " + st.Muted.Render(common.PadLeft(role, 8))
}

// View renders the list, its position and the form or a notice.
func (m *Model) View() string {
	st := m.c.Styles
	var body string
	switch {
	case !m.list.Loaded() && m.err == nil:
		body = st.Muted.Render("loading your shops…")
	case m.list.Loaded() && m.list.Total() == 0:
		body = st.Muted.Render("you sell nothing yet — upload a file:") + "\n  " + st.Command.Render(m.c.Dial+" upload NAME < FILE")
	default:
		body = m.list.View()
	}
	return st.Label.Render("Your shops") + "\n" + common.Block(body, m.width, m.height-2-formHeight) + "\n" +
		m.status() + "\n" + common.Block(m.form(), m.width, formHeight)
}

func (m *Model) status() string {
	st := m.c.Styles
	switch {
	case m.err != nil:
		return common.Truncate(st.Error.Render("error: ")+common.ErrText(m.err)+st.Muted.Render(" — r retries"), m.width)
	case m.list.Total() > 0:
		return common.Truncate(st.Muted.Render(m.list.Position("shop")), m.width)
	}
	return ""
}

func (m *Model) form() string {
	st := m.c.Styles
	switch {
	case m.reprice.Active():
		return m.reprice.View(m.width)
	case m.notice != "":
		return common.Wrap(st.Info.Render(m.notice), m.width)
	}
	return ""
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	if m.reprice.Active() {
		return m.reprice.ShortHelp()
	}
	var b []key.Binding
	if s, ok := m.list.Selected(); ok {
		if m.canReprice(s) {
			b = append(b, m.keys.Reprice)
		}
		b = append(b, m.keys.Open)
	}
	if m.list.Total() > 0 {
		b = append(b, m.list.Keys.NextPage, m.list.Keys.Up, m.list.Keys.Down)
	}
	return append(b, m.keys.Refresh)
}

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding {
	return m.list.FullHelp(m.keys.Reprice, m.keys.Open, m.keys.Refresh)
}
