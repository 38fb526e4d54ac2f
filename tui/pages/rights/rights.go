// Package rights is the rights holder's console: the queue of shop files
// that contain their references, open matches strongest first, and the
// review page where a match is approved (the holder becomes the shop's
// payee) or dismissed.
package rights

import (
	"context"
	"fmt"
	"maps"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/list"
	"github.com/shopfile/shopfile/tui/keymap"
)

// item is a match and the title of the shop it was found in.
type item struct {
	m     market.MatchView
	title string
}

type loadedMsg struct {
	seq    int
	items  []item
	titles map[string]string // titles looked up by this load
	err    error
}

// Model is the queue. The market returns every match at once, open ones
// strongest first then decided ones, so paging is local.
type Model struct {
	c      *common.Common
	keys   keymap.Rights
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
	m := &Model{c: c, keys: keymap.NewRights(), titles: map[string]string{}}
	m.list = list.New(c.Styles, m.row)
	return m
}

// Init loads the queue.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate reloads it (a review may have decided a match).
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing: the page has no input.
func (m *Model) Typing() bool { return false }

// SetSize sets the body size: a title line, the column heads, the rows
// and the position line.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.width, m.height = w, h
	m.list.SetSize(w, h-3)
	m.page()
	return nil
}

func (m *Model) fetch() tea.Cmd {
	m.seq++
	seq, mk, actor, known := m.seq, m.c.Market, m.c.Actor, maps.Clone(m.titles)
	return common.Load(m.c.Ctx, func(ctx context.Context) (loadedMsg, error) {
		ms, err := mk.Matches(ctx, actor, "")
		if err != nil {
			return loadedMsg{}, err
		}
		out := loadedMsg{titles: map[string]string{}}
		for _, mv := range ms {
			title, ok := known[mv.Shop]
			if !ok {
				title, ok = out.titles[mv.Shop]
			}
			if !ok {
				title = mv.Evidence.FileName // the shop is gone: its file name will do
				if s, err := mk.Show(ctx, actor, mv.Shop); err == nil {
					title = s.Title
				}
				out.titles[mv.Shop] = title
			}
			out.items = append(out.items, item{m: mv, title: title})
		}
		return out, nil
	}, func(l loadedMsg, err error) tea.Msg {
		l.seq, l.err = seq, err
		return l
	})
}

// page hands the list the slice holding its selection.
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
		if m.shows(msg.ID) { // decided elsewhere (a command, another session)
			return m.fetch()
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) shows(shop string) bool {
	for _, it := range m.all {
		if it.m.Shop == shop {
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
	case key.Matches(msg, m.keys.Review):
		if it, ok := m.list.Selected(); ok {
			p := NewReview(m.c, it.m.ID)
			return common.Push(p)
		}
	case key.Matches(msg, m.keys.Refresh):
		return m.fetch()
	}
	return nil
}

// columns sizes the row's flexible columns for width w.
func columns(w int) (ref, shop int, wide bool) {
	wide = w >= 60
	fixed := 4 + 2 + 8 + 2 + 2 + 9 // score, strength, status and the gaps around the shop
	if wide {
		fixed += 6 + 2 + 2 // upload share, the reference column's gaps
		rest := max(2, w-fixed)
		ref = rest * 2 / 5
		return ref, rest - ref, wide
	}
	return 0, max(1, w-fixed), wide
}

// row draws one match: how strong, how much of the upload it covers, which
// reference in which shop, and its status. Decided matches are dimmed; the
// status word says the same without colour.
func (m *Model) row(it item, w int) string {
	st := m.c.Styles
	mv := it.m
	refW, shopW, wide := columns(w)
	line := fmt.Sprintf("%.2f", mv.Score) + "  " + common.PadRight(mv.Strength, 8) + "  "
	if wide {
		line += common.PadLeft(fmt.Sprintf("%.0f%%", 100*mv.Evidence.UploadCovered), 6) + "  " +
			common.PadRight(mv.Evidence.RefName, refW) + "  "
	}
	line += common.PadRight(it.title, shopW) + "  " + common.PadLeft(mv.Status, 9)
	if mv.Status != store.MatchOpen {
		return st.Muted.Render(line)
	}
	return line
}

func (m *Model) heads() string {
	refW, shopW, wide := columns(max(1, m.width-len([]rune(list.Glyph))))
	line := "score " + common.PadRight("strength", 8) + "  "
	if wide {
		line += common.PadLeft("upload", 6) + "  " + common.PadRight("reference", refW) + "  "
	}
	line += common.PadRight("shop", shopW) + "  " + common.PadLeft("status", 9)
	return m.c.Styles.Label.Render("  " + line)
}

// View renders the title, the queue and its position.
func (m *Model) View() string {
	st := m.c.Styles
	title := st.Title.Render("Matches of your references") + st.Muted.Render(" · open first, strongest first")
	var body string
	switch {
	case !m.loaded && m.err != nil:
		body = st.Error.Render("✗ ") + common.ErrText(m.err) + st.Muted.Render(" — r retries")
	case !m.loaded:
		body = st.Muted.Render("loading matches…")
	case len(m.all) == 0:
		body = st.Muted.Render(common.Wrap("no matches yet — register reference content and every shop file is compared with it:", m.width)) +
			"\n  " + st.Command.Render(m.c.Dial+" ref add NAME < FILE")
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
	open := 0
	for _, it := range m.all {
		if it.m.Status == store.MatchOpen {
			open++
		}
	}
	return common.Truncate(st.Muted.Render(fmt.Sprintf("%s · %d open", m.list.PositionOf("match", "matches"), open)), m.width)
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	var b []key.Binding
	if _, ok := m.list.Selected(); ok {
		b = append(b, m.keys.Review, m.list.Keys.Up, m.list.Keys.Down)
	}
	return append(b, m.keys.Refresh)
}

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding {
	l := m.list.Keys
	return [][]key.Binding{{l.Up, l.Down, l.First, l.Last}, {l.PrevPage, l.NextPage}, {m.keys.Review, m.keys.Refresh}}
}
