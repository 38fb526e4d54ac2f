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
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/footer"
	"github.com/shopfile/shopfile/tui/components/header"
	"github.com/shopfile/shopfile/tui/keymap"
	"github.com/shopfile/shopfile/tui/pages/browse"
	"github.com/shopfile/shopfile/tui/pages/claims"
	"github.com/shopfile/shopfile/tui/pages/help"
	"github.com/shopfile/shopfile/tui/pages/library"
	"github.com/shopfile/shopfile/tui/pages/mine"
	"github.com/shopfile/shopfile/tui/pages/rights"
	"github.com/shopfile/shopfile/tui/pages/shop"
	"github.com/shopfile/shopfile/tui/pages/wallet"
	"github.com/shopfile/shopfile/tui/styles"
)

// The smallest terminal the TUI lays out in; below it, it says so.
const (
	MinWidth  = 40
	MinHeight = 10
)

// tab is a root page and the pages opened over it (a shop, a review, a
// claim), the last one shown.
type tab struct {
	label  header.Tab
	root   common.Page
	stack  []common.Page
	inited bool
}

func (t *tab) page() common.Page {
	if n := len(t.stack); n > 0 {
		return t.stack[n-1]
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
	tabs   []*tab // the tabs shown, numbered 1… in this order
	active int
	help   *help.Model
	// claims is the Claims tab: shown to rights holders and admins, and to
	// anyone else from the moment they are party to a claim.
	claims      *tab
	claimsShown bool
	// mine holds the ids of shops the account uploaded or is paid for, as
	// of the session's start (mineAll: too many to hold, assume any), so a
	// change to one of them can be told apart from the shop's other news.
	mine    map[string]bool
	mineAll bool
	width   int
	height  int
	bodyW   int
	bodyH   int

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
	a.help = help.New(c)
	a.tabs = []*tab{
		{label: header.Tab{Name: "Browse", Short: "Browse"}, root: browse.New(c)},
		{label: header.Tab{Name: "My shops", Short: "Mine"}, root: mine.New(c)},
		{label: header.Tab{Name: "Wallet", Short: "Wallet"}, root: wallet.New(c)},
		{label: header.Tab{Name: "Library", Short: "Lib"}, root: library.New(c)},
	}
	if s.Actor.HasRole(store.RoleRightsHolder) {
		a.tabs = append(a.tabs, &tab{label: header.Tab{Name: "Rights", Short: "Rights"}, root: rights.New(c)})
	}
	a.tabs = append(a.tabs, &tab{label: header.Tab{Name: "Help", Short: "Help"}, root: a.help})
	a.claims = &tab{label: header.Tab{Name: "Claims", Short: "Claims"}, root: claims.New(c)}
	a.header = header.New(c.Styles, s.Actor.ID, nil)
	if s.Actor.HasRole(store.RoleRightsHolder) || s.Actor.HasRole(store.RoleAdmin) {
		a.showClaims()
	}
	a.syncTabs()
	a.layout()
	return a
}

// showClaims puts the Claims tab just before Help. The tabs after it move
// one number up; the tab shown stays shown.
func (a *app) showClaims() tea.Cmd {
	if a.claimsShown {
		return nil
	}
	a.claimsShown = true
	at := len(a.tabs) - 1
	a.tabs = append(a.tabs[:at], append([]*tab{a.claims}, a.tabs[at:]...)...)
	if a.active >= at {
		a.active++
	}
	a.syncTabs()
	if a.bodyW > 0 {
		return a.claims.root.SetSize(a.bodyW, a.bodyH)
	}
	return nil
}

// syncTabs tells the header, the tab keys and the help page which tabs
// are shown, so every number shown is the key that opens it.
func (a *app) syncTabs() {
	labels := make([]header.Tab, len(a.tabs))
	names := make([]string, len(a.tabs))
	for i, t := range a.tabs {
		labels[i], names[i] = t.label, t.label.Name
	}
	a.header.Tabs = labels
	a.keys.Tabs = keymap.NewTabs(len(a.tabs))
	a.help.SetTabs(names)
}

// Init shows the first tab and starts everything that runs in the
// background; each of them ends with the session.
func (a *app) Init() tea.Cmd {
	a.tabs[0].inited = true
	return tea.Batch(a.subscribe(), a.loadBalance(false), a.tabs[0].root.Init(), a.armIdle(), a.loadParty(true))
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
		return a.gotBalance(msg)
	case partyMsg:
		return a.gotParty(msg)
	case common.BalanceMsg:
		a.balance, a.balanceOK, a.balanceErr = msg.Sats, true, false
		return nil
	case common.OpenShopMsg:
		return a.push(shop.New(a.c, msg.ID))
	case common.PushMsg:
		return a.push(msg.Page)
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
		for _, p := range t.stack {
			cmds = append(cmds, p.Update(msg))
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

// push shows p over the current tab.
func (a *app) push(p common.Page) tea.Cmd {
	t := a.tabs[a.active]
	t.stack = append(t.stack, p)
	return tea.Batch(p.SetSize(a.bodyW, a.bodyH), p.Init())
}

// back closes the page on top and refreshes the one under it.
func (a *app) back() tea.Cmd {
	t := a.tabs[a.active]
	n := len(t.stack)
	if n == 0 {
		return nil
	}
	t.stack[n-1] = nil
	t.stack = t.stack[:n-1]
	return t.page().Activate()
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
		for _, p := range t.stack {
			cmds = append(cmds, p.SetSize(w, h))
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
