// Package claims lists the claims the session's account is party to (as
// the rights holder or the uploader; admins see every claim), and shows one
// claim with its hash-chained history and the dispute and resolve actions.
package claims

import (
	"context"
	"maps"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/list"
	"github.com/shopfile/shopfile/tui/keymap"
	"github.com/shopfile/shopfile/tui/styles"
)

// item is a claim and its shop's title.
type item struct {
	c     market.ClaimView
	title string
}

type loadedMsg struct {
	seq    int
	items  []item
	titles map[string]string
	err    error
}

// Model is the list. The market returns every claim at once, newest
// first, so paging is local.
type Model struct {
	c      *common.Common
	keys   keymap.Claims
	list   list.Model[item]
	all    []item
	titles map[string]string // shop id → title, kept across loads
	loaded bool
	seq    int
	err    error
	width  int
	height int
}

// New returns the page.
func New(c *common.Common) *Model {
	m := &Model{c: c, keys: keymap.NewClaims(), titles: map[string]string{}}
	m.list = list.New(c.Styles, m.row)
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
	m.width, m.height = w, h
	m.list.SetSize(w, h-3)
	m.page()
	return nil
}

// titled looks up the titles of shops not seen before; every claim's
// price and payee come with the claim itself.
func titled(ctx context.Context, mk *market.Market, actor *store.Account, known map[string]string, shop string, found map[string]string) string {
	if t, ok := known[shop]; ok {
		return t
	}
	if t, ok := found[shop]; ok {
		return t
	}
	t := shop
	if s, err := mk.Show(ctx, actor, shop); err == nil {
		t = s.Title
	}
	found[shop] = t
	return t
}

func (m *Model) fetch() tea.Cmd {
	m.seq++
	seq, mk, actor, known := m.seq, m.c.Market, m.c.Actor, maps.Clone(m.titles)
	return common.Load(m.c.Ctx, func(ctx context.Context) (loadedMsg, error) {
		cs, err := mk.Claims(ctx, actor)
		if err != nil {
			return loadedMsg{}, err
		}
		out := loadedMsg{titles: map[string]string{}}
		for _, c := range cs {
			out.items = append(out.items, item{c: c, title: titled(ctx, mk, actor, known, c.Shop, out.titles)})
		}
		return out, nil
	}, func(l loadedMsg, err error) tea.Msg {
		l.seq, l.err = seq, err
		return l
	})
}

func (m *Model) page() {
	if !m.loaded {
		return
	}
	off := min(m.list.WantOffset(), len(m.all))
	end := min(len(m.all), off+m.list.PageSize())
	m.list.SetPage(m.all[off:end], off, len(m.all))
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case loadedMsg:
		if msg.seq == m.seq {
			m.err = msg.err
			if msg.err == nil {
				maps.Copy(m.titles, msg.titles)
				m.all, m.loaded = msg.items, true
				m.page()
			}
		}
	case common.ShopChangedMsg:
		// A listed claim moved, or a shop of yours may have a new one.
		if m.loaded && (msg.Mine || m.shows(msg.ID)) {
			return m.fetch()
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) shows(shop string) bool {
	for _, it := range m.all {
		if it.c.Shop == shop {
			return true
		}
	}
	return false
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if handled, fetch := m.list.Update(msg); handled {
		if fetch {
			m.page()
		}
		return nil
	}
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

func (m *Model) heads() string {
	titleW, wide := rowColumns(max(1, m.width-len([]rune(list.Glyph))))
	line := common.PadRight("status", 8) + "  " + common.PadRight("shop", titleW) + "  " + common.PadLeft("price now", 16)
	if wide {
		line += "  " + common.PadRight("rights holder", 16) + "  " + common.PadRight("uploader", 16)
	}
	return m.c.Styles.Label.Render("  " + line)
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
	var body string
	switch {
	case !m.loaded && m.err != nil:
		body = st.Error.Render("✗ ") + common.ErrText(m.err) + st.Muted.Render(" — r retries")
	case !m.loaded:
		body = st.Muted.Render("loading claims…")
	case len(m.all) == 0:
		body = st.Muted.Render(common.Wrap("no claims involve you", m.width))
	default:
		return common.Block(title, m.width, 1) + "\n" + common.Truncate(m.heads(), m.width) + "\n" +
			common.Block(m.list.View(), m.width, m.height-3) + "\n" + m.status()
	}
	return common.Block(title, m.width, 1) + "\n\n" + common.Block(body, m.width, m.height-3) + "\n" + m.status()
}

func (m *Model) status() string {
	st := m.c.Styles
	if m.err != nil && m.loaded {
		return common.Truncate(st.Error.Render("error: ")+common.ErrText(m.err)+st.Muted.Render(" — r retries"), m.width)
	}
	if !m.loaded || len(m.all) == 0 {
		return ""
	}
	disputed := 0
	for _, it := range m.all {
		if it.c.Status == store.ClaimDisputed {
			disputed++
		}
	}
	pos := m.list.Position("claim")
	if disputed > 0 {
		pos += " · " + common.Thousands(int64(disputed)) + " disputed"
	}
	return common.Truncate(st.Muted.Render(pos), m.width)
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	var b []key.Binding
	if _, ok := m.list.Selected(); ok {
		b = append(b, m.keys.Show, m.list.Keys.Up, m.list.Keys.Down)
	}
	return append(b, m.keys.Refresh)
}

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding {
	l := m.list.Keys
	return [][]key.Binding{{l.Up, l.Down, l.First, l.Last}, {l.PrevPage, l.NextPage}, {m.keys.Show, m.keys.Refresh}}
}
