package claims

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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

type claimData struct {
	c      market.ClaimView
	log    []market.AuditEntry
	shop   market.Shop
	shopOK bool
}

// Claim is one claim's page: who, what, where it stands, its audit log,
// and what the session may do about it. Loading, scrolling and Init,
// Activate and SetSize come from detail.Model.
type Claim struct {
	*detail.Model[claimData]
	c     *common.Common
	keys  keymap.Claim
	back  key.Binding
	id    string
	title string
	act   *action.Model
}

// NewClaim returns the page of claim id on the shop titled title.
func NewClaim(c *common.Common, id, title string) *Claim {
	return &Claim{Model: detail.New(c, "claim", loadClaim(id)), c: c, keys: keymap.NewClaim(), back: keymap.NewGlobal().Back,
		id: id, title: title, act: action.New(c)}
}

// ID is the claim shown.
func (m *Claim) ID() string { return m.id }

// Typing reports whether the reason field has the keyboard.
func (m *Claim) Typing() bool { return m.act.Typing() }

func loadClaim(id string) detail.LoadFunc[claimData] {
	return func(ctx context.Context, mk *market.Market, actor *store.Account) (claimData, error) {
		var d claimData
		// The market has no one-claim read: find it among the actor's.
		cs, err := mk.Claims(ctx, actor)
		if err != nil {
			return d, err
		}
		found := false
		for _, c := range cs {
			if c.ID == id {
				d.c, found = c, true
			}
		}
		if !found {
			return d, fmt.Errorf("no claim %s among yours: %w", id, market.ErrNotFound)
		}
		if d.log, err = mk.Audit(ctx, actor, id); err != nil {
			return d, err
		}
		d.shop, err = mk.Show(ctx, actor, d.c.Shop)
		d.shopOK = err == nil
		return d, nil
	}
}

// Update handles keys and answers.
func (m *Claim) Update(msg tea.Msg) tea.Cmd {
	if cmd, took := m.act.Update(msg, m.Fetch); took {
		return cmd
	}
	if m.Take(msg) {
		if m.D.shopOK {
			m.title = m.D.shop.Title
		}
		return nil
	}
	switch msg := msg.(type) {
	case common.ShopChangedMsg:
		if m.Loaded && msg.ID == m.D.c.Shop {
			return m.Fetch()
		}
	case tea.KeyMsg:
		return m.key(msg)
	}
	return nil
}

func (m *Claim) key(msg tea.KeyMsg) tea.Cmd {
	if m.act.Active() || m.Scroll(msg, m.keys.Scroll) {
		return nil
	}
	start := func(s action.Spec) {
		m.Top()
		m.act.Open(s)
	}
	switch {
	case key.Matches(msg, m.back):
		return common.Back
	case key.Matches(msg, m.keys.Dispute) && m.canDispute():
		start(m.disputeSpec())
	case key.Matches(msg, m.keys.Uphold) && m.canResolve():
		start(m.resolveSpec(store.Uphold))
	case key.Matches(msg, m.keys.Reverse) && m.canResolve():
		start(m.resolveSpec(store.Reverse))
	case key.Matches(msg, m.keys.Open) && m.Loaded && m.D.shopOK:
		return common.Open(m.D.c.Shop)
	case key.Matches(msg, m.keys.Refresh):
		return m.Fetch()
	}
	return nil
}

// canDispute: the uploader, while the claim is active.
func (m *Claim) canDispute() bool {
	return m.Loaded && m.D.c.Uploader == m.c.Actor.ID && m.D.c.Status == store.ClaimActive
}

// canResolve: an admin, while the claim is disputed.
func (m *Claim) canResolve() bool {
	return m.Loaded && m.c.Actor.HasRole(store.RoleAdmin) && m.D.c.Status == store.ClaimDisputed
}

func (m *Claim) disputeSpec() action.Spec {
	mk, actor, id, title, price := m.c.Market, m.c.Actor, m.id, m.title, m.D.c.PriceSats
	return action.Spec{
		Title:       "Dispute the claim on “" + title + "”",
		Prompt:      "reason: ",
		Placeholder: "why the claim is wrong",
		Limit:       1000, // runes; the market takes 4,096 bytes
		Hint:        "the rights holder and the admin who decides read it",
		Verb:        "dispute",
		Working:     "disputing…",
		Confirm: func(text string) (string, error) {
			text = strings.TrimSpace(text)
			if text == "" {
				return "", errors.New("say why the claim is wrong")
			}
			return fmt.Sprintf("From now on the price of “%s” is frozen at %s, and the payee's share of every new sale "+
				"is held in escrow until an admin decides: uphold pays the escrow to the rights holder; reverse pays it "+
				"to you and gives you back the payee and the price from before the claim. Sales made before now stay "+
				"where they were paid.\n\nYour reason: “%s”", title, common.Sats(price), text), nil
		},
		Run: func(ctx context.Context, text string) (string, error) {
			if _, err := mk.Dispute(ctx, actor, id, strings.TrimSpace(text)); err != nil {
				return "", err
			}
			return "✓ DISPUTED — the price is frozen and new sales are held in escrow until an admin decides", nil
		},
	}
}

func (m *Claim) resolveSpec(decision string) action.Spec {
	mk, actor, id, title, c := m.c.Market, m.c.Actor, m.id, m.title, m.D.c
	self := actor.ID
	spec := action.Spec{Working: "deciding…", Verb: decision}
	reason := ""
	if c.Reason != "" {
		reason = "\n\nThe uploader's reason: “" + c.Reason + "”"
	}
	if decision == store.Uphold {
		spec.Title = "Uphold the claim on “" + title + "”"
		spec.Confirm = func(string) (string, error) {
			return fmt.Sprintf("The claim stands: %s stays the payee of “%s”, the sales held in escrow are paid to them, "+
				"and the price is no longer frozen.%s", common.Party(c.Holder, self), title, reason), nil
		}
	} else {
		spec.Title = "Reverse the claim on “" + title + "”"
		spec.Confirm = func(string) (string, error) {
			return fmt.Sprintf("The claim is undone: the sales held in escrow are paid to the uploader %s, and the "+
				"payee and the price from before the claim come back to “%s”. The price is no longer frozen.%s",
				common.Party(c.Uploader, self), title, reason), nil
		}
	}
	spec.Run = func(ctx context.Context, _ string) (string, error) {
		v, err := mk.Resolve(ctx, actor, id, decision)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("✓ %s — “%s” pays %s, at %s", strings.ToUpper(v.Status), title, common.Party(v.Payee, self),
			common.Sats(v.PriceSats)), nil
	}
	return spec
}

// View renders the page, with the dialog under its head while one is open.
func (m *Claim) View() string {
	if v, waiting := m.Waiting(); waiting {
		return v
	}
	if m.act.Active() {
		return m.Over(m.head(), m.act.View(m.Width()))
	}
	return m.Show(m.content())
}

// content is the whole page, head and body.
func (m *Claim) content() string { return m.head() + "\n\n" + m.body() }

func (m *Claim) head() string {
	st := m.c.Styles
	return common.Truncate(st.Title.Render("Claim on “"+m.title+"”")+st.Muted.Render(" · ")+StatusWord(st, m.D.c.Status), m.Width()) +
		"\n" + st.Muted.Render(common.Truncate(meaning(m.D.c.Status), m.Width()))
}

// meaning says what a status means for the money.
func meaning(status string) string {
	switch status {
	case store.ClaimActive:
		return "the rights holder is paid for every copy; the uploader may dispute"
	case store.ClaimDisputed:
		return "disputed — price frozen; new sales are held in escrow until an admin decides"
	case store.ClaimUpheld:
		return "an admin upheld the claim; the escrow went to the rights holder"
	case store.ClaimReversed:
		return "an admin reversed the claim; the payee and price from before it are back"
	}
	return status
}

func (m *Claim) body() string {
	st, c, self := m.c.Styles, m.D.c, m.c.Actor.ID
	var b strings.Builder
	field := func(name, value string) {
		b.WriteString(st.Label.Render(common.PadRight(name, 10)) + " " + value + "\n")
	}
	field("shop", m.title+st.Muted.Render(" · "+c.Shop))
	field("holder", common.Party(c.Holder, self)+st.Muted.Render(" (rights holder)"))
	field("uploader", common.Party(c.Uploader, self))
	field("payee now", common.Party(c.Payee, self))
	price := st.Price.Render(common.Sats(c.PriceSats))
	if m.D.shopOK && m.D.shop.Frozen {
		price += st.Warn.Render("  FROZEN")
	}
	field("price now", price)
	if c.Reason != "" {
		field("reason", "“"+c.Reason+"”")
	}
	field("claimed", common.When(c.At))
	field("ids", st.Muted.Render("claim "+c.ID+" · match "+c.Match))
	b.WriteString("\n" + st.Label.Render("History") + st.Muted.Render(" · "+entries(len(m.D.log))+" · each hash seals the entry before it") + "\n")
	for _, e := range m.D.log {
		b.WriteString(m.entry(e) + "\n")
	}
	return b.String() + "\n" + m.actionLine()
}

func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}

// entry is one audit log entry in three lines: when, what and who; the
// details; the chained hashes, shortened.
func (m *Claim) entry(e market.AuditEntry) string {
	st, self := m.c.Styles, m.c.Actor.ID
	prev := "(first entry)"
	if e.PrevHash != "" {
		prev = common.ShortHash(e.PrevHash)
	}
	pad := strings.Repeat(" ", 2)
	return pad + st.Muted.Render(common.When(e.At)) + "  " + st.Value.Render(common.PadRight(e.Kind, 9)) + " by " + common.Party(e.Actor, self) + "\n" +
		common.Truncate(pad+"  "+auditBody(e.Body, self), m.Width()) + "\n" +
		st.Muted.Render(pad+"  hash "+common.ShortHash(e.Hash)+" ← "+prev)
}

// auditBody turns an entry's body into words: the JSON the market writes
// for approvals and resolutions, the reason text of a dispute.
func auditBody(body, self string) string {
	var fields map[string]any
	if err := json.Unmarshal([]byte(body), &fields); err != nil || fields == nil {
		if body == "" {
			return "—"
		}
		return "“" + body + "”"
	}
	var parts []string
	num := func(k string) (float64, bool) {
		v, ok := fields[k].(float64)
		delete(fields, k)
		return v, ok
	}
	str := func(k string) (string, bool) {
		v, ok := fields[k].(string)
		delete(fields, k)
		return v, ok
	}
	if d, ok := str("decision"); ok {
		parts = append(parts, d)
	}
	if p, ok := num("price_sats"); ok {
		if p == 0 {
			parts = append(parts, "price kept")
		} else {
			parts = append(parts, "price "+common.Sats(int64(p)))
		}
	}
	if s, ok := num("score"); ok {
		parts = append(parts, fmt.Sprintf("score %.2f", s))
	}
	if u, ok := num("upload_covered"); ok {
		parts = append(parts, "covers "+common.Percent(u)+" of the upload")
	}
	if r, ok := num("escrow_released_sats"); ok {
		to, _ := str("to")
		parts = append(parts, "escrow "+common.Sats(int64(r))+" to "+common.Party(to, self))
	}
	delete(fields, "match") // on the ids line already
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %v", k, fields[k]))
	}
	return strings.Join(parts, " · ")
}

// actionLine is what the last action did, or what the session may do.
func (m *Claim) actionLine() string {
	if said := m.act.Outcome(m.Width()); said != "" {
		return said
	}
	st := m.c.Styles
	switch {
	case m.canDispute():
		return st.Muted.Render("x disputes this claim on your upload")
	case m.canResolve():
		return st.Muted.Render("u upholds the claim · v reverses it")
	}
	return ""
}

// ShortHelp lists the keys that work now.
func (m *Claim) ShortHelp() []key.Binding {
	if m.act.Active() {
		return m.act.ShortHelp()
	}
	b := []key.Binding{m.back}
	if m.canDispute() {
		b = append(b, m.keys.Dispute)
	}
	if m.canResolve() {
		b = append(b, m.keys.Uphold, m.keys.Reverse)
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
func (m *Claim) FullHelp() [][]key.Binding {
	if m.act.Active() {
		return [][]key.Binding{m.act.ShortHelp()}
	}
	return [][]key.Binding{{m.back, m.keys.Dispute, m.keys.Uphold, m.keys.Reverse, m.keys.Open, m.keys.Refresh}, {m.keys.Up, m.keys.Down}}
}
