package tui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/footer"
	"github.com/shopfile/shopfile/tui/components/header"
	"github.com/shopfile/shopfile/tui/keymap"
	"github.com/shopfile/shopfile/tui/pages/browse"
	"github.com/shopfile/shopfile/tui/pages/help"
	"github.com/shopfile/shopfile/tui/pages/library"
	"github.com/shopfile/shopfile/tui/pages/mine"
	"github.com/shopfile/shopfile/tui/pages/shop"
	"github.com/shopfile/shopfile/tui/pages/wallet"
	"github.com/shopfile/shopfile/tui/styles"
)

// The smallest terminal the TUI lays out in; below it, it says so.
const (
	MinWidth  = 40
	MinHeight = 10
)

// tab is a root page and, over it, an optional shop page opened from it.
type tab struct {
	label  header.Tab
	root   common.Page
	top    common.Page
	inited bool
}

func (t *tab) page() common.Page {
	if t.top != nil {
		return t.top
	}
	return t.root
}

// app is the root model: it routes keys to the page shown and every other
// message to every page, and owns the header, footer, live events and the
// idle timer.
type app struct {
	c      *common.Common
	s      Session
	keys   keymap.Global
	header header.Model
	footer footer.Model
	tabs   []*tab
	active int
	width  int
	height int
	bodyW  int
	bodyH  int

	balance    int64
	balanceOK  bool
	balanceErr bool
	balanceSeq int

	lastKey    time.Time
	idleWarned bool
	ending     string // a last word shown as the program quits
	quitting   bool
}

// New builds the root model for one session.
func New(m *market.Market, s Session) tea.Model {
	if s.Ctx == nil {
		s.Ctx = context.Background()
	}
	if s.Renderer == nil { // never from the SSH server; plain text is the safe default
		s.Renderer = lipgloss.NewRenderer(io.Discard)
		s.Renderer.SetColorProfile(termenv.Ascii)
	}
	c := &common.Common{Ctx: s.Ctx, Market: m, Actor: s.Actor, Styles: styles.New(s.Renderer), Dial: s.Dial}
	a := &app{c: c, s: s, keys: keymap.NewGlobal(), footer: footer.New(c.Styles), width: s.Width, height: s.Height,
		lastKey: time.Now()}
	a.tabs = []*tab{
		{label: header.Tab{Name: "Browse", Short: "Browse"}, root: browse.New(c)},
		{label: header.Tab{Name: "My shops", Short: "Mine"}, root: mine.New(c)},
		{label: header.Tab{Name: "Wallet", Short: "Wallet"}, root: wallet.New(c)},
		{label: header.Tab{Name: "Library", Short: "Lib"}, root: library.New(c)},
		{label: header.Tab{Name: "Help", Short: "Help"}, root: help.New(c)},
	}
	labels := make([]header.Tab, len(a.tabs))
	for i, t := range a.tabs {
		labels[i] = t.label
	}
	a.header = header.New(c.Styles, s.Actor.ID, labels)
	a.layout()
	return a
}

// Init shows the first tab and starts everything that runs in the
// background; each of them ends with the session.
func (a *app) Init() tea.Cmd {
	a.tabs[0].inited = true
	return tea.Batch(a.subscribe(), a.loadBalance(), a.tabs[0].root.Init(), a.armIdle())
}

func (a *app) current() common.Page { return a.tabs[a.active].page() }

// Update routes one message.
func (a *app) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	cmd := a.update(msg)
	return a, tea.Batch(cmd, a.layout())
}

func (a *app) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		return nil
	case tea.KeyMsg:
		return a.key(msg)
	case ShutdownMsg:
		return a.end("the shop is restarting — reconnect in a moment")
	case eventMsg:
		return a.event(msg)
	case idleMsg:
		return a.idle()
	case balanceMsg:
		a.gotBalance(msg)
		return nil
	case common.BalanceMsg:
		a.balance, a.balanceOK, a.balanceErr = msg.Sats, true, false
		return nil
	case common.OpenShopMsg:
		return a.openShop(msg.ID)
	case common.BackMsg:
		return a.back()
	}
	return a.broadcast(msg)
}

// broadcast hands a message to every page: answers carry enough to be
// recognised by the page that asked, and events concern any page.
func (a *app) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, t := range a.tabs {
		cmds = append(cmds, t.root.Update(msg))
		if t.top != nil {
			cmds = append(cmds, t.top.Update(msg))
		}
	}
	return tea.Batch(cmds...)
}

// key handles one key press. Keys typed faster than they are read arrive
// as one message with several runes ("/song"): they are split back into
// presses so "/" opens the search and the rest lands in it. A bracketed
// paste is text, never commands, and stays whole.
func (a *app) key(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
		cmds := make([]tea.Cmd, 0, len(msg.Runes))
		for _, r := range msg.Runes {
			cmds = append(cmds, a.press(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
			if a.quitting {
				break
			}
		}
		return tea.Batch(cmds...)
	}
	return a.press(msg)
}

func (a *app) press(msg tea.KeyMsg) tea.Cmd {
	a.lastKey = time.Now()
	a.idleWarned = false
	if key.Matches(msg, a.keys.ForceQuit) {
		return a.quit()
	}
	page := a.current()
	if page.Typing() {
		return page.Update(msg)
	}
	switch {
	case key.Matches(msg, a.keys.Quit):
		return a.quit()
	case a.tooSmall():
		return nil
	case key.Matches(msg, a.keys.Help):
		a.footer.Toggle()
		return nil
	case key.Matches(msg, a.keys.Tabs):
		return a.switchTab(int(msg.Runes[0] - '1'))
	case key.Matches(msg, a.keys.NextTab):
		return a.switchTab((a.active + 1) % len(a.tabs))
	case key.Matches(msg, a.keys.PrevTab):
		return a.switchTab((a.active + len(a.tabs) - 1) % len(a.tabs))
	}
	return page.Update(msg)
}

func (a *app) quit() tea.Cmd {
	a.quitting = true
	return tea.Quit
}

// end quits with a last word left on the user's terminal: leaving the
// alternate screen first keeps the final frame visible after ssh exits.
func (a *app) end(why string) tea.Cmd {
	a.ending = why
	return tea.Sequence(tea.ExitAltScreen, tea.Quit)
}

// Farewell is the last word of a session that ended on its own (server
// shutdown, idle), for a host that draws frames itself and wants to leave
// it on the user's terminal after leaving the alternate screen.
func (a *app) Farewell() string { return a.ending }

func (a *app) switchTab(i int) tea.Cmd {
	if i < 0 || i >= len(a.tabs) {
		return nil
	}
	a.active = i
	t := a.tabs[i]
	if !t.inited {
		t.inited = true
		return t.root.Init()
	}
	return t.page().Activate()
}

func (a *app) openShop(id string) tea.Cmd {
	p := shop.New(a.c, id)
	p.SetSize(a.bodyW, a.bodyH)
	a.tabs[a.active].top = p
	return p.Init()
}

func (a *app) back() tea.Cmd {
	t := a.tabs[a.active]
	if t.top == nil {
		return nil
	}
	t.top = nil
	return t.root.Activate()
}

func (a *app) tooSmall() bool { return a.width < MinWidth || a.height < MinHeight }

// layout gives pages the body left between header, status and footer;
// pages refetch only when their page size really changed.
func (a *app) layout() tea.Cmd {
	if a.tooSmall() {
		return nil
	}
	a.header.Width, a.header.Active = a.width, a.active
	a.footer.SetWidth(a.width)
	w, h := a.width, a.height-header.Height-1-strings.Count(a.footerView(), "\n")-1
	if w == a.bodyW && h == a.bodyH {
		return nil
	}
	a.bodyW, a.bodyH = w, h
	var cmds []tea.Cmd
	for _, t := range a.tabs {
		cmds = append(cmds, t.root.SetSize(w, h))
		if t.top != nil {
			cmds = append(cmds, t.top.SetSize(w, h))
		}
	}
	return tea.Batch(cmds...)
}

// View draws the screen.
func (a *app) View() string {
	switch {
	case a.ending != "":
		return a.ending + "\n"
	case a.quitting:
		return ""
	case a.tooSmall():
		return a.tooSmallView()
	}
	a.header.Balance = a.balanceText()
	body := common.Block(a.current().View(), a.bodyW, a.bodyH)
	return a.header.View() + "\n" + body + "\n" + a.statusLine() + "\n" + a.footerView()
}

func (a *app) balanceText() string {
	switch {
	case a.balanceOK:
		return "balance " + common.Sats(a.balance)
	case a.balanceErr:
		return "balance ?"
	}
	return ""
}

func (a *app) statusLine() string {
	if !a.idleWarned {
		return ""
	}
	st := a.c.Styles
	return common.Truncate(st.Warn.Render("idle")+fmt.Sprintf(" — this session closes in %s; press any key to stay", idleLead(a.s.Idle)), a.width)
}

func (a *app) footerView() string {
	page := a.current()
	pinned := []key.Binding{a.keys.Help, a.keys.Quit}
	if page.Typing() {
		pinned = []key.Binding{a.keys.ForceQuit} // q is text now
	}
	full := append(page.FullHelp(), []key.Binding{a.keys.Tabs, a.keys.NextTab, a.keys.Back, a.keys.Help, a.keys.Quit})
	return common.FitLines(a.footer.View(footer.Bindings{Short: page.ShortHelp(), Pinned: pinned, Full: full}), a.width, -1)
}

func (a *app) tooSmallView() string {
	st := a.c.Styles
	msg := st.Warn.Render("terminal too small") + "\n" +
		fmt.Sprintf("make it at least %d×%d", MinWidth, MinHeight) + "\n" +
		st.Muted.Render(fmt.Sprintf("now %d×%d · q quits", a.width, a.height))
	w, h := max(1, a.width), max(1, a.height)
	return common.FitLines(common.Wrap(msg, w), w, h)
}
