// Package browse is the catalogue: every shop, searched, sorted and paged
// by the store.
package browse

import (
	"context"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/list"
	"github.com/shopfile/shopfile/tui/components/textfield"
	"github.com/shopfile/shopfile/tui/keymap"
)

// Debounce is how long typing must pause before the store is asked.
const Debounce = 250 * time.Millisecond

type sortOpt struct{ key, label string }

func sorts() []sortOpt {
	return []sortOpt{{store.SortNewest, "newest"}, {store.SortPriceAsc, "price ↑"}, {store.SortPriceDesc, "price ↓"}}
}

type loadedMsg struct {
	seq    int
	offset int
	page   market.Page
	err    error
}

type debounceMsg struct{}

// Model is the catalogue page.
type Model struct {
	c       *common.Common
	keys    keymap.Browse
	in      keymap.Input
	list    list.Model[market.Shop]
	search  textfield.Model
	query   string // the search the list shows
	sort    int
	seq     int       // last fetch asked for; older answers are dropped
	typedAt time.Time // last keystroke in the search box
	timer   bool      // a debounce timer is pending
	loading bool
	err     error
	width   int
	height  int
}

// New returns the catalogue page.
func New(c *common.Common) *Model {
	m := &Model{c: c, keys: keymap.NewBrowse(), in: keymap.NewInput("search", "clear")}
	m.search = textfield.New(c.Styles, "/ ", "search titles and descriptions", 200)
	m.list = list.New(c.Styles, m.row)
	return m
}

// Init fetches the first page.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate refetches the page shown, to pick up new shops.
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing reports whether the search box has the keyboard.
func (m *Model) Typing() bool { return m.search.Focused() }

// SetSize sets the body size; a new page size means a new fetch.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	m.search.Width = max(1, w-30)
	if m.list.SetSize(w, h-2) {
		return m.fetch()
	}
	return nil
}

func (m *Model) fetch() tea.Cmd {
	m.seq++
	m.loading = true
	seq, mk, actor := m.seq, m.c.Market, m.c.Actor
	q := market.ListQuery{Text: m.query, Sort: sorts()[m.sort].key, Limit: m.list.PageSize(), Offset: m.list.WantOffset()}
	return common.Load(m.c.Ctx, func(ctx context.Context) (market.Page, error) {
		return mk.List(ctx, actor, q)
	}, func(p market.Page, err error) tea.Msg {
		return loadedMsg{seq: seq, offset: q.Offset, page: p, err: err}
	})
}

// Update handles keys and answers.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case loadedMsg:
		return m.loaded(msg)
	case debounceMsg:
		return m.debounced()
	case common.ShopChangedMsg:
		if m.shows(msg.ID) {
			return m.fetch()
		}
	case tea.KeyMsg:
		if m.search.Focused() {
			return m.typing(msg)
		}
		return m.key(msg)
	}
	return nil
}

func (m *Model) loaded(msg loadedMsg) tea.Cmd {
	if msg.seq != m.seq {
		return nil
	}
	m.loading, m.err = false, msg.err
	if msg.err != nil {
		return nil
	}
	m.list.SetPage(msg.page.Shops, msg.offset, msg.page.Total)
	if len(msg.page.Shops) == 0 && msg.page.Total > 0 {
		// The list shrank under us: show its last page instead.
		m.list.SetPage(nil, 0, msg.page.Total)
		_, _ = m.list.Update(tea.KeyMsg{Type: tea.KeyEnd})
		return m.fetch()
	}
	return nil
}

func (m *Model) shows(id string) bool {
	for _, s := range m.list.Items() {
		if s.ID == id {
			return true
		}
	}
	return false
}

func (m *Model) runSearch() tea.Cmd {
	m.query = m.search.Value()
	m.list.Reset()
	return m.fetch()
}

func (m *Model) typing(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.in.Submit):
		m.search.Blur()
		if m.search.Value() != m.query {
			return m.runSearch()
		}
		return nil
	case key.Matches(msg, m.in.Cancel):
		m.search.Blur()
		m.search.SetValue("")
		if m.query != "" {
			return m.runSearch()
		}
		return nil
	case msg.Type == tea.KeyUp || msg.Type == tea.KeyDown:
		return m.move(msg)
	}
	if m.search.Update(msg) {
		m.typedAt = time.Now()
		return m.armDebounce(Debounce)
	}
	return nil
}

// armDebounce keeps one timer per burst of typing rather than one per key.
func (m *Model) armDebounce(d time.Duration) tea.Cmd {
	if m.timer {
		return nil
	}
	m.timer = true
	return common.After(m.c.Ctx, d, debounceMsg{})
}

// debounced searches once typing has paused for Debounce.
func (m *Model) debounced() tea.Cmd {
	m.timer = false
	if wait := Debounce - time.Since(m.typedAt); wait > 0 {
		return m.armDebounce(wait)
	}
	if m.search.Value() != m.query {
		return m.runSearch()
	}
	return nil
}

func (m *Model) move(msg tea.KeyMsg) tea.Cmd {
	if _, fetch := m.list.Update(msg); fetch {
		return m.fetch()
	}
	return nil
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	if handled, fetch := m.list.Update(msg); handled {
		if fetch {
			return m.fetch()
		}
		return nil
	}
	switch {
	case key.Matches(msg, m.keys.Open):
		if s, ok := m.list.Selected(); ok {
			return common.Open(s.ID)
		}
	case key.Matches(msg, m.keys.Search):
		m.search.Focus()
	case key.Matches(msg, m.keys.Sort):
		m.sort = (m.sort + 1) % len(sorts())
		m.list.Reset()
		return m.fetch()
	case key.Matches(msg, m.keys.Clear) && m.query != "":
		m.search.SetValue("")
		return m.runSearch()
	case key.Matches(msg, m.keys.Refresh):
		return m.fetch()
	}
	return nil
}

// row draws one shop: title, price and (when there is room) size.
func (m *Model) row(s market.Shop, w int) string {
	st := m.c.Styles
	title := s.Title
	if s.Payee == m.c.Actor.ID {
		title += " · yours"
	}
	switch { // a word, not a colour: the row is restyled when selected
	case s.Frozen:
		title += " · disputed"
	case s.Payee != s.Uploader:
		title += " · claimed"
	}
	price := common.PadLeft(common.Sats(s.PriceSats), 16)
	if w < 50 {
		return common.PadRight(title, w-17) + " " + st.Price.Render(price)
	}
	size := common.PadLeft(common.Bytes(s.Size), 10)
	return common.PadRight(title, w-28) + " " + st.Price.Render(price) + " " + st.Muted.Render(size)
}

// View renders search bar, rows and position.
func (m *Model) View() string {
	st := m.c.Styles
	sortLabel := st.Muted.Render("sort: ") + sorts()[m.sort].label + st.Muted.Render(" (s)")
	bar := m.search.View()
	if !m.search.Focused() && m.query == "" {
		bar = st.Muted.Render("/ search")
	}
	gap := max(1, m.width-common.Width(bar)-common.Width(sortLabel))
	top := bar + fmt.Sprintf("%*s", gap, "") + sortLabel
	body := m.list.View()
	if m.list.Loaded() && m.list.Total() == 0 {
		body = m.empty()
	}
	if !m.list.Loaded() {
		body = st.Muted.Render("loading shops…")
	}
	return common.Block(top, m.width, 1) + "\n" + common.Block(body, m.width, m.height-2) + "\n" + m.status()
}

func (m *Model) empty() string {
	st := m.c.Styles
	if m.query != "" {
		return st.Muted.Render(common.Wrap(fmt.Sprintf("no shops match “%s” — esc clears the search", m.query), m.width))
	}
	return st.Muted.Render("no shops yet — upload one:") + "\n  " + st.Command.Render(m.c.Dial+" upload NAME < FILE")
}

func (m *Model) status() string {
	st := m.c.Styles
	switch {
	case m.err != nil:
		return common.Truncate(st.Error.Render("error: ")+common.ErrText(m.err)+st.Muted.Render(" — r retries"), m.width)
	case m.loading && m.list.Loaded():
		return common.Truncate(st.Muted.Render(m.list.Position("shop")+" · loading…"), m.width)
	case m.list.Loaded():
		return common.Truncate(st.Muted.Render(m.list.Position("shop")), m.width)
	}
	return ""
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	if m.search.Focused() {
		return []key.Binding{m.in.Submit, m.in.Cancel, key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "results"))}
	}
	b := []key.Binding{m.keys.Open, m.keys.Search}
	if m.query != "" {
		b = append(b, m.keys.Clear)
	}
	b = append(b, m.keys.Sort)
	if m.list.Total() > 0 {
		b = append(b, m.list.Keys.NextPage, m.list.Keys.Up, m.list.Keys.Down)
	}
	return b
}

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding {
	l := m.list.Keys
	return [][]key.Binding{{l.Up, l.Down, l.First, l.Last}, {l.PrevPage, l.NextPage, m.keys.Open}, {m.keys.Search, m.keys.Sort, m.keys.Clear, m.keys.Refresh}}
}
