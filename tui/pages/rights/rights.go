// Package rights is the rights holder's console: the queue of shop files
// that contain their references, open matches strongest first, and the
// review page where a match is approved (the holder becomes the shop's
// payee) or dismissed.
package rights

import (
	"context"
	"fmt"
	"slices"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/listpage"
	"github.com/shopfile/shopfile/tui/keymap"
)

// item is a match and the title of the shop it was found in.
type item struct {
	m     market.MatchView
	title string
}

// Model is the queue. The market returns every match at once, open ones
// strongest first then decided ones, so paging is local.
type Model struct {
	c    *common.Common
	keys keymap.Rights
	list *listpage.Model[item]
}

// New returns the page.
func New(c *common.Common) *Model {
	m := &Model{c: c, keys: keymap.NewRights()}
	m.list = listpage.New(c, "match", "matches", m.row, heads)
	return m
}

// Init loads the queue.
func (m *Model) Init() tea.Cmd { return m.fetch() }

// Activate reloads it (a review may have decided a match).
func (m *Model) Activate() tea.Cmd { return m.fetch() }

// Typing: the page has no input.
func (m *Model) Typing() bool { return false }

// SetSize sets the body size.
func (m *Model) SetSize(w, h int) tea.Cmd {
	m.list.SetSize(w, h)
	return nil
}

func (m *Model) fetch() tea.Cmd {
	mk, actor := m.c.Market, m.c.Actor
	return m.list.Fetch(func(ctx context.Context, titles *listpage.Titles) ([]item, error) {
		ms, err := mk.Matches(ctx, actor, "")
		if err != nil {
			return nil, err
		}
		var items []item
		for _, mv := range ms {
			// A shop that is gone: its file name will do.
			items = append(items, item{m: mv, title: titles.Of(ctx, mv.Shop, mv.Evidence.FileName)})
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
		if m.shows(msg.ID) { // decided elsewhere (a command, another session)
			return m.fetch()
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Model) shows(shop string) bool {
	return slices.ContainsFunc(m.list.All(), func(it item) bool { return it.m.Shop == shop })
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
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

// heads names the columns of rows w cells wide.
func heads(w int) string {
	refW, shopW, wide := columns(w)
	line := "score " + common.PadRight("strength", 8) + "  "
	if wide {
		line += common.PadLeft("upload", 6) + "  " + common.PadRight("reference", refW) + "  "
	}
	return line + common.PadRight("shop", shopW) + "  " + common.PadLeft("status", 9)
}

// View renders the title, the queue and its position.
func (m *Model) View() string {
	st := m.c.Styles
	title := st.Title.Render("Matches of your references") + st.Muted.Render(" · open first, strongest first")
	empty := st.Muted.Render(common.Wrap("no matches yet — register reference content and every shop file is compared with it:", m.list.Width())) +
		"\n  " + st.Command.Render(m.c.Dial+" ref add NAME < FILE")
	open := 0
	for _, it := range m.list.All() {
		if it.m.Status == store.MatchOpen {
			open++
		}
	}
	return m.list.View(title, empty, fmt.Sprintf(" · %d open", open))
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding { return m.list.ShortHelp(m.keys.Review, m.keys.Refresh) }

// FullHelp lists every key of the page.
func (m *Model) FullHelp() [][]key.Binding { return m.list.FullHelp(m.keys.Review, m.keys.Refresh) }
