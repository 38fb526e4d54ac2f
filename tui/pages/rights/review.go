package rights

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/action"
	"github.com/shopfile/shopfile/tui/components/detail"
	"github.com/shopfile/shopfile/tui/keymap"
)

// strong is the only strength a claim may be made from.
const strong = "strong"

// shownRanges is how many matched ranges each side lists; the bar shows
// them all.
const shownRanges = 3

type reviewData struct {
	mv     market.MatchView
	shop   market.Shop
	shopOK bool // the shop could be read (it may be gone)
}

// Review is one match side by side with the shop file it was found in,
// and the approve and dismiss actions. Loading, scrolling and Init,
// Activate and SetSize come from detail.Model.
type Review struct {
	*detail.Model[reviewData]
	c    *common.Common
	keys keymap.Review
	back key.Binding
	id   string
	act  *action.Model
}

// NewReview returns the review page of match id; Init loads it.
func NewReview(c *common.Common, id string) *Review {
	return &Review{Model: detail.New(c, "match", loadReview(id)), c: c, keys: keymap.NewReview(), back: keymap.NewGlobal().Back,
		id: id, act: action.New(c)}
}

// ID is the match reviewed.
func (m *Review) ID() string { return m.id }

// Typing reports whether the price field has the keyboard.
func (m *Review) Typing() bool { return m.act.Typing() }

func loadReview(id string) detail.LoadFunc[reviewData] {
	return func(ctx context.Context, mk *market.Market, actor *store.Account) (reviewData, error) {
		var d reviewData
		var err error
		if d.mv, err = mk.MatchDetail(ctx, actor, id); err != nil {
			return d, err
		}
		d.shop, err = mk.Show(ctx, actor, d.mv.Shop)
		d.shopOK = err == nil
		return d, nil
	}
}

// Update handles keys and answers.
func (m *Review) Update(msg tea.Msg) tea.Cmd {
	if cmd, took := m.act.Update(msg, m.Fetch); took {
		return cmd
	}
	if m.Take(msg) {
		return nil
	}
	switch msg := msg.(type) {
	case common.ShopChangedMsg:
		if m.Loaded && msg.ID == m.D.mv.Shop {
			return m.Fetch()
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Review) key(msg tea.KeyMsg) tea.Cmd {
	if m.act.Active() || m.Scroll(msg, m.keys.Scroll) {
		return nil // the dialog had the key, or it scrolled
	}
	switch {
	case key.Matches(msg, m.back):
		return common.Back
	case key.Matches(msg, m.keys.Approve) && m.canDecide():
		m.Top()
		m.act.Open(m.approveSpec())
	case key.Matches(msg, m.keys.Dismiss) && m.canDecide():
		m.Top()
		m.act.Open(m.dismissSpec())
	case key.Matches(msg, m.keys.Open) && m.Loaded && m.D.shopOK:
		return common.Open(m.D.mv.Shop)
	case key.Matches(msg, m.keys.Refresh):
		return m.Fetch()
	}
	return nil
}

// canDecide: an open match whose shop is still there.
func (m *Review) canDecide() bool {
	return m.Loaded && m.D.shopOK && m.D.mv.Status == store.MatchOpen
}

func (m *Review) approveSpec() action.Spec {
	s := m.D.shop
	mk, actor, id, title, now := m.c.Market, m.c.Actor, m.id, s.Title, s.PriceSats
	price := func(text string) (int64, error) {
		if strings.TrimSpace(text) == "" {
			return 0, nil // the market keeps the shop's price
		}
		return common.ParsePrice(text)
	}
	return action.Spec{
		Title:   "Approve: take over the payments of “" + title + "”",
		Prompt:  "price: ",
		Initial: common.Thousands(now),
		Suffix:  " sats",
		Limit:   24,
		Hint:    "the price every copy will cost; empty keeps " + common.Sats(now),
		Verb:    "approve",
		Working: "approving…",
		Confirm: func(text string) (string, error) {
			p, err := price(text)
			if err != nil {
				return "", err
			}
			if p == 0 {
				p = now
			}
			return fmt.Sprintf("Shop “%s” will pay you, at %s, for every copy — at once, wherever its file is.\n\n"+
				"It stops paying %s. The uploader may dispute: the price then freezes and new sales are held in escrow "+
				"until an admin decides.", title, common.Sats(p), common.Party(s.Payee, actor.ID)), nil
		},
		Run: func(ctx context.Context, text string) (string, error) {
			p, err := price(text)
			if err != nil {
				return "", err
			}
			c, err := mk.Approve(ctx, actor, id, p)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("✓ CLAIMED — “%s” now pays you, at %s, for every copy", title, common.Sats(c.PriceSats)), nil
		},
	}
}

func (m *Review) dismissSpec() action.Spec {
	s := m.D.shop
	mk, actor, id, title := m.c.Market, m.c.Actor, m.id, s.Title
	return action.Spec{
		Title:   "Dismiss this match",
		Verb:    "dismiss",
		Working: "dismissing…",
		Confirm: func(string) (string, error) {
			return fmt.Sprintf("The match leaves your queue and nothing is claimed: “%s” keeps paying %s at %s.",
				title, common.Party(s.Payee, actor.ID), common.Sats(s.PriceSats)), nil
		},
		Run: func(ctx context.Context, _ string) (string, error) {
			if _, err := mk.Dismiss(ctx, actor, id); err != nil {
				return "", err
			}
			return "✓ dismissed — “" + title + "” is unchanged", nil
		},
	}
}

// View renders the page, with the dialog under its head while one is open.
func (m *Review) View() string {
	if v, waiting := m.Waiting(); waiting {
		return v
	}
	if m.act.Active() {
		return m.Over(m.head(), m.act.View(m.Width()))
	}
	return m.Show(m.content())
}

// content is the whole page, head and body.
func (m *Review) content() string { return m.head() + "\n\n" + m.body() }

// head says what is reviewed: the match, the shop and, first of all, a
// warning when the upload is older than the reference.
func (m *Review) head() string {
	st, mv := m.c.Styles, m.D.mv
	lines := []string{st.Title.Render("Review match") + st.Muted.Render(fmt.Sprintf(" · %s · score %.2f · ", mv.Strength, mv.Score)) + m.statusWord(mv.Status)}
	if m.D.shopOK {
		s := m.D.shop
		shop := st.Label.Render("shop ") + "“" + s.Title + "” · " + st.Price.Render(common.Sats(s.PriceSats)) + " · pays " + common.Party(s.Payee, m.c.Actor.ID)
		switch {
		case s.Frozen:
			shop += " · " + st.Warn.Render("DISPUTED — price frozen")
		case s.Payee != s.Uploader:
			shop += " · " + st.Warn.Render("CLAIMED")
		}
		lines = append(lines, shop)
	} else {
		lines = append(lines, st.Warn.Render("the shop cannot be read: ")+mv.Shop)
	}
	if mv.Evidence.PriorArt {
		lines = append(lines, st.Warn.Render("⚠ PRIOR ART")+" the upload was first seen before your reference — make sure it is not the original")
	}
	return common.FitLines(strings.Join(lines, "\n"), m.Width(), -1)
}

// statusWord names a match status in capitals, coloured only as a second cue.
func (m *Review) statusWord(s string) string {
	st := m.c.Styles
	switch s {
	case store.MatchOpen:
		return st.Info.Render("OPEN")
	case store.MatchApproved:
		return st.OK.Render("APPROVED")
	}
	return st.Muted.Render(strings.ToUpper(s))
}

// body is both files side by side, the evidence in numbers, whether a
// claim is possible, and the action line.
func (m *Review) body() string {
	ev := m.D.mv.Evidence
	return m.sides() + "\n\n" +
		m.field("evidence", fmt.Sprintf("%d shared chunks · %s matched", ev.Shared, common.Bytes(ev.MatchedBytes))+exact(ev)) + "\n" +
		m.field("claim", m.eligibility()) + "\n\n" + m.actionLine()
}

func exact(ev market.Evidence) string {
	if ev.Exact {
		return " · identical files"
	}
	return ""
}

func (m *Review) field(label, value string) string {
	return m.c.Styles.Label.Render(common.PadRight(label, 10)) + " " + value
}

// eligibility says beforehand what the market will check on approve.
func (m *Review) eligibility() string {
	st, mv := m.c.Styles, m.D.mv
	need := fmt.Sprintf("%.0f%%", 100*market.MinClaimCoverage)
	covers := common.Percent(mv.Evidence.UploadCovered)
	switch {
	case mv.Strength != strong:
		return st.Warn.Render("✗") + " only a " + mv.Strength + " candidate: a claim needs a strong match"
	case mv.Evidence.UploadCovered < market.MinClaimCoverage:
		return st.Warn.Render("✗") + " covers " + covers + " of the upload; taking over its payments needs " + need
	}
	return st.OK.Render("✓") + " strong, and covers " + covers + " of the upload (a claim needs " + need + ")"
}

// actionLine is what the last action did, or what can be done.
func (m *Review) actionLine() string {
	if said := m.act.Outcome(m.Width()); said != "" {
		return said
	}
	st := m.c.Styles
	switch {
	case m.canDecide():
		return st.Muted.Render("a approves (you become the shop's payee) · d dismisses")
	case m.D.mv.Status == store.MatchApproved:
		return st.Muted.Render("approved: the claim and its history are on the Claims tab")
	}
	return st.Muted.Render("this match is " + m.D.mv.Status)
}

// sideBySide is the narrowest body the two files are laid out next to
// each other in; below it the shop file goes under the reference.
const sideBySide = 84

// sides lays the reference and the shop file out in two columns, the
// same facts on the same line, or one above the other when narrow.
func (m *Review) sides() string {
	st, ev, self := m.c.Styles, m.D.mv.Evidence, m.c.Actor.ID
	wide := m.Width() >= sideBySide
	colW := m.Width()
	if wide {
		colW = (m.Width() - 3) / 2
	}
	valW := max(1, colW-11)
	uploader := ""
	if m.D.shopOK {
		uploader = " · uploaded by " + common.Party(m.D.shop.Uploader, self)
	}
	fileCovered := common.Percent(ev.FileCovered) + " of it"
	if ev.Member != "" {
		fileCovered += " · " + common.Percent(ev.UploadCovered) + " of the upload"
	}
	type row struct{ label, ref, file string }
	rows := []row{{"name", ev.RefName, ev.FileName}}
	if ev.Member != "" {
		rows = append(rows, row{"member", "", ev.Member + " (inside the archive)"})
	}
	rows = append(rows,
		row{"size", sizeText(ev.RefSize), sizeText(ev.FileSize)},
		row{"first seen", common.When(ev.RefFirstSeen), common.When(ev.FileFirstSeen)},
		row{"covered", common.Percent(ev.RefCovered) + " of it", fileCovered},
		row{"where", bar(refSpans(ev), ev.RefSize, valW), bar(fileSpans(ev), ev.FileSize, valW)},
	)
	refR, fileR := rangeLines(refSpans(ev), ev.RangesOmitted, shownRanges), rangeLines(fileSpans(ev), ev.RangesOmitted, shownRanges)
	for i := range max(len(refR), len(fileR)) {
		label := ""
		if i == 0 {
			label = "ranges"
		}
		rows = append(rows, row{label, at(refR, i), at(fileR, i)})
	}
	cell := func(label, value string) string {
		return common.PadRight(st.Label.Render(common.PadRight(label, 10))+" "+common.Truncate(value, valW), colW)
	}
	refHead := common.Truncate(st.Label.Render("REFERENCE")+st.Muted.Render(" · yours"), colW)
	fileHead := common.Truncate(st.Label.Render("SHOP FILE")+st.Muted.Render(uploader), colW)
	if !wide {
		refLines, fileLines := []string{refHead}, []string{fileHead}
		for _, r := range rows {
			if r.ref != "" || r.label == "name" {
				refLines = append(refLines, cell(r.label, r.ref))
			}
			if r.file != "" {
				fileLines = append(fileLines, cell(r.label, r.file))
			}
		}
		return strings.Join(refLines, "\n") + "\n\n" + strings.Join(fileLines, "\n")
	}
	sep := st.Rule.Render(" │ ")
	lines := []string{common.PadRight(refHead, colW) + sep + fileHead}
	for _, r := range rows {
		lines = append(lines, cell(r.label, r.ref)+sep+cell(r.label, r.file))
	}
	return strings.Join(lines, "\n")
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func sizeText(n int64) string {
	return fmt.Sprintf("%s (%s bytes)", common.Bytes(n), common.Thousands(n))
}

// ShortHelp lists the keys that work now.
func (m *Review) ShortHelp() []key.Binding {
	if m.act.Active() {
		return m.act.ShortHelp()
	}
	b := []key.Binding{m.back}
	if m.canDecide() {
		b = append(b, m.keys.Approve, m.keys.Dismiss)
	}
	if m.Loaded && m.Scrollable(m.content()) {
		b = append(b, m.keys.Down)
	}
	if m.Loaded && m.D.shopOK {
		b = append(b, m.keys.Open)
	}
	return append(b, m.keys.Refresh)
}

// FullHelp lists every key of the page.
func (m *Review) FullHelp() [][]key.Binding {
	if m.act.Active() {
		return [][]key.Binding{m.act.ShortHelp()}
	}
	return [][]key.Binding{{m.back, m.keys.Approve, m.keys.Dismiss, m.keys.Open, m.keys.Refresh}, {m.keys.Up, m.keys.Down}}
}
