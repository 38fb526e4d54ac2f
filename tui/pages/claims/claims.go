// Package claims lists the claims the session's account is party to (as
// the rights holder or the uploader; admins see every claim), and shows one
// claim with its hash-chained history and the dispute and resolve actions.
package claims

import (
	"context"
	"slices"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/listpage"
	"github.com/shopfile/shopfile/tui/keymap"
	"github.com/shopfile/shopfile/tui/styles"
)

// item is a claim and its shop's title.
type item struct {
	c     market.ClaimView
	title string
}

// Model is the list. The market returns every claim at once, newest
// first, so paging is local.
type Model struct {
	c    *common.Common
	keys keymap.Claims
	list *listpage.Model[item]
}

// New returns the page.
func New(c *common.Common) *Model {
	m := &Model{c: c, keys: keymap.NewClaims()}
	m.list = listpage.New(c, "claim", "claims", m.row, heads)
	return m
}

// Init loads the claims.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate reloads them.
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing: the page has no input.
func (m *Model) Typing() bool { return false }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.list.SetSize(w, h)
	return nil
}

// fetch loads the claims and the titles of shops not seen before; every
// claim's price and payee come with the claim itself.
func (m *Model) fetch() tea.Cmd {
	mk, actor := m.c.Market, m.c.Actor
	return m.list.Fetch(func(ctx context.Context, titles *listpage.Titles) ([]item, error) {
		cs, err := mk.Claims(ctx, actor)
		if err != nil {
			return nil, err
		}
		var items []item
		for _, c := range cs {
			items = append(items, item{c: c, title: titles.Of(ctx, c.Shop, c.Shop)})
		}
		return items, nil
	})
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if m.list.Update(msg) {
		return nil
	}
	switch msg := msg.(type) {
	case common.ShopChangedMsg:
		// A listed claim moved, or a shop of yours may have a new one.
		if m.list.Loaded() && (msg.Mine || m.shows(msg.ID)) {
			return m.fetch()
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) shows(shop string) bool {
	return slices.ContainsFunc(m.list.All(), func(it item) bool { return it.c.Shop == shop })
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Show):
		if it, ok := m.list.Selected(); ok {
			return common.Push(NewClaim(m.c, it.c.ID, it.title))
		}
	case key.Matches(msg, m.keys.Refresh):
		return m.fetch()
	}
	return nil
}

// StatusWord renders a claim's status as a word, coloured only as a
// second cue.
func StatusWord(st *styles.Styles, status string) string {
	switch status {
	case store.ClaimActive:
		return st.OK.Render(status)
	case store.ClaimDisputed:
		return st.Warn.Render(status)
	}
	return st.Muted.Render(status)
}

// who names a party in a row: "you", or the short id.
func (m *Model) who(id string) string {
	if id == m.c.Actor.ID {
		return "you"
	}
	return common.ShortID(id)
}

func rowColumns(w int) (title int, wide bool) {
	wide = w >= 70
	fixed := 8 + 2 + 16 // status, price
	if wide {
		fixed += 2 + 16 + 2 + 16 // holder, uploader
	}
	return max(1, w-fixed-2), wide
}

// row draws one claim: status, shop, price now, and the parties.
func (m *Model) row(it item, w int) string {
	st := m.c.Styles
	titleW, wide := rowColumns(w)
	line := common.PadRight(StatusWord(st, it.c.Status), 8) + "  " + common.PadRight(it.title, titleW) + "  " +
		st.Price.Render(common.PadLeft(common.Sats(it.c.PriceSats), 16))
	if wide {
		line += "  " + common.PadRight(m.who(it.c.Holder), 16) + "  " + common.PadRight(m.who(it.c.Uploader), 16)
	}
	return line
}

// heads names the columns of rows w cells wide.
func heads(w int) string {
	titleW, wide := rowColumns(w)
	line := common.PadRight("status", 8) + "  " + common.PadRight("shop", titleW) + "  " + common.PadLeft("price now", 16)
	if wide {
		line += "  " + common.PadRight("rights holder", 16) + "  " + common.PadRight("uploader", 16)
	}
	return line
}

// View renders the title, the list and its position.
func (m *Model) View() string {
	st := m.c.Styles
	title := st.Title.Render("Claims")
	if m.c.Actor.HasRole(store.RoleAdmin) {
		title += st.Muted.Render(" · every claim (admin)")
	} else {
		title += st.Muted.Render(" · on your references and your uploads")
	}
	disputed := 0
	for _, it := range m.list.All() {
		if it.c.Status == store.ClaimDisputed {
			disputed++
		}
	}
	more := ""
	if disputed > 0 {
		more = " · " + common.Thousands(int64(disputed)) + " disputed"
	}
	return m.list.View(title, st.Muted.Render(common.Wrap("no claims involve you", m.list.Width())), more)
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding { return m.list.ShortHelp(m.keys.Show, m.keys.Refresh) }

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding { return m.list.FullHelp(m.keys.Show, m.keys.Refresh) }
