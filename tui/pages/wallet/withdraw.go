package wallet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/textfield"
	"github.com/shopfile/shopfile/tui/keymap"
)

// The withdraw form: an address and an amount checked as they are typed
// (the market quotes the fee, the minimum and the maximum for the
// address), a confirmation that says what will happen, one Withdraw, and
// its answer. The TUI checks; the market has the last word.

type wstep int

const (
	wForm    wstep = iota // typing the address and the amount
	wConfirm              // what will happen; enter withdraws
	wSending              // Withdraw is on its way: nothing can start another
	wDone                 // the payout, held
	wOff                  // withdrawals are off on this shop
)

const (
	fieldAddress = iota
	fieldAmount
)

// maxSats is 21 million bitcoin.
const maxSats = 21_000_000 * 100_000_000

// intent is what one idempotency key stands for.
type intent struct {
	address string
	sats    int64
}

type withdrawForm struct {
	keys   keymap.Withdraw
	dialog keymap.Dialog
	step   wstep
	fields [2]textfield.Model
	focus  int
	tried  bool // enter was pressed: empty fields are errors now, not hints
	// The market's quote for the address quoted: fee, minimum and maximum,
	// or why the address will not do. A newer question drops older answers.
	quoted   string
	quote    market.WithdrawQuote
	quoteErr error
	quoteSeq int
	asking   bool // a quote is on its way
	// review: enter was pressed while the address was being quoted; the
	// confirmation opens when the answer allows it.
	review bool
	// key is the idempotency key of intent: made when the confirmation
	// first opens for it and kept while the intent stays the same, so a
	// second Enter or a retry after an error can never hold twice.
	key    string
	intent intent
	err    error // the market refused (shown in the confirmation)
	result market.PayoutView
}

type quotedMsg struct {
	from    *withdrawForm
	seq     int
	address string
	q       market.WithdrawQuote
	err     error
}

type withdrawnMsg struct {
	from    *withdrawForm
	key     string
	p       market.PayoutView
	balance int64
	balErr  error
	err     error
}

// openWithdraw opens the form, or says why withdrawals are off.
func (m *Model) openWithdraw() tea.Cmd {
	if !m.loaded {
		return nil
	}
	st := m.c.Styles
	wd := &withdrawForm{keys: keymap.NewWithdraw(), dialog: keymap.NewDialog()}
	if !m.d.payoutsOn {
		wd.step = wOff
		m.wd = wd
		return nil
	}
	wd.fields[fieldAddress] = textfield.New(st, "", "bc1… / tb1… / bcrt1…", 100)
	wd.fields[fieldAmount] = textfield.New(st, "", "sats", 24)
	wd.fields[fieldAddress].Focus()
	m.wd = wd
	return nil
}

func (wd *withdrawForm) address() string { return strings.TrimSpace(wd.fields[fieldAddress].Value()) }

// quoteValid reports whether the quote is for the address as typed and
// accepts it.
func (wd *withdrawForm) quoteValid() bool {
	return wd.address() != "" && wd.quoted == wd.address() && wd.quoteErr == nil
}

// ask quotes the address as typed.
func (m *Model) ask() tea.Cmd {
	wd := m.wd
	wd.quoteSeq++
	addr := wd.address()
	if addr == "" {
		wd.asking, wd.quoted, wd.quoteErr = false, "", nil
		return nil
	}
	wd.asking = true
	seq, mk, actor := wd.quoteSeq, m.c.Market, m.c.Actor
	return common.Load(m.c.Ctx, func(ctx context.Context) (market.WithdrawQuote, error) {
		return mk.QuoteWithdraw(ctx, actor, addr)
	}, func(q market.WithdrawQuote, err error) tea.Msg {
		return quotedMsg{from: wd, seq: seq, address: addr, q: q, err: err}
	})
}

// requote asks again after the wallet moved: the maximum follows the
// balance.
func (m *Model) requote() tea.Cmd {
	if m.wd == nil || m.wd.step != wForm && m.wd.step != wConfirm || m.wd.address() == "" {
		return nil
	}
	return m.ask()
}

func (m *Model) quoted(msg quotedMsg) tea.Cmd {
	wd := m.wd
	if wd == nil || msg.from != wd || msg.seq != wd.quoteSeq {
		return nil
	}
	wd.asking, wd.quoted, wd.quote, wd.quoteErr = false, msg.address, msg.q, msg.err
	if wd.review && wd.step == wForm {
		wd.review = false
		return m.review(false)
	}
	return nil
}

func (m *Model) withdrawKey(msg tea.KeyMsg) tea.Cmd {
	wd := m.wd
	switch wd.step {
	case wForm:
		return m.formKey(msg)
	case wConfirm:
		switch {
		case key.Matches(msg, wd.dialog.Confirm):
			return m.send()
		case key.Matches(msg, wd.dialog.Cancel):
			wd.step, wd.err, wd.focus = wForm, nil, fieldAmount
			wd.fields[fieldAmount].Focus()
		}
	case wDone, wOff:
		if key.Matches(msg, wd.dialog.Close) {
			m.wd = nil
		}
	}
	return nil // wSending: the answer is on its way
}

func (m *Model) formKey(msg tea.KeyMsg) tea.Cmd {
	wd := m.wd
	switch {
	case key.Matches(msg, wd.keys.Cancel):
		m.wd = nil
		return nil
	case key.Matches(msg, wd.keys.Review):
		return m.review(true)
	case key.Matches(msg, wd.keys.Next), key.Matches(msg, wd.keys.Prev):
		m.focus(1 - wd.focus)
		return nil
	}
	wd.review = false
	if !wd.fields[wd.focus].Update(msg) || wd.focus != fieldAddress {
		return nil
	}
	return m.ask()
}

func (m *Model) focus(f int) {
	wd := m.wd
	wd.fields[wd.focus].Blur()
	wd.focus = f
	wd.fields[f].Focus()
}

// review moves on from the form: from a filled address to an empty amount,
// to the confirmation when both are right, else to the first field that
// is wrong, its problem now shown as an error. On a key press (retry), a
// quote that failed for another reason than the address is asked again.
func (m *Model) review(retry bool) tea.Cmd {
	wd := m.wd
	c := m.check()
	switch {
	case c.ok:
		it := intent{address: wd.address(), sats: c.sats}
		if wd.key == "" || wd.intent != it {
			wd.key, wd.intent = m.c.Market.NewWithdrawKey(), it
		}
		wd.step, wd.err = wConfirm, nil
		wd.fields[wd.focus].Blur()
	case wd.focus == fieldAddress && c.addressOK && strings.TrimSpace(wd.fields[fieldAmount].Value()) == "":
		m.focus(fieldAmount)
	case wd.asking && c.amountOK:
		wd.review = true // the answer opens the confirmation
	case retry && wd.quoted == wd.address() && wd.quoteErr != nil && !errors.Is(wd.quoteErr, market.ErrInvalid):
		wd.review = true
		return m.ask()
	default:
		wd.tried = true
		if !c.addressOK {
			m.focus(fieldAddress)
		} else {
			m.focus(fieldAmount)
		}
	}
	return nil
}

// check is the form's live validation.
type check struct {
	address, amount     string // the line under each field
	addressOK, amountOK bool   // no error (an empty field is no error until enter)
	sats                int64
	ok                  bool // ready to confirm
}

func (m *Model) check() check {
	wd := m.wd
	var c check
	network := m.d.w.Chain.Network
	switch addr := wd.address(); {
	case addr == "":
		c.address = "the " + network + " address to send to"
		if wd.tried {
			c.address = "✗ address empty: enter the " + network + " address to send to"
		}
	case wd.quoted != addr:
		c.address, c.addressOK = "checking the address…", true
	case wd.quoteErr != nil:
		c.address = "✗ " + refusal(wd.quoteErr)
	default:
		c.address, c.addressOK = fmt.Sprintf("✓ a %s address · fee %s", network, common.Sats(wd.quote.FeeSats)), true
	}
	c.amount, c.amountOK, c.sats = m.checkAmount()
	c.ok = wd.quoteValid() && c.amountOK && c.sats > 0
	return c
}

func (m *Model) checkAmount() (string, bool, int64) {
	wd := m.wd
	q, quoted := wd.quote, wd.quoteValid()
	text := strings.TrimSpace(wd.fields[fieldAmount].Value())
	if text == "" {
		hint := "whole sats"
		if quoted {
			hint = fmt.Sprintf("whole sats · at least %s · at most %s", common.Thousands(q.MinSats), common.Sats(q.MaxSats))
		}
		if wd.tried {
			return "✗ amount empty: " + hint, false, 0
		}
		return hint, true, 0
	}
	n, err := parseSats(text)
	if err != nil {
		return "✗ " + err.Error(), false, 0
	}
	if !quoted {
		if bal := m.d.w.BalanceSats; n > bal {
			return fmt.Sprintf("✗ above your balance of %s", common.Sats(bal)), false, n
		}
		return "the fee, minimum and maximum show once the address is right", true, n
	}
	switch {
	case q.MaxSats < q.MinSats:
		return fmt.Sprintf("✗ your balance of %s covers no withdrawal to this address: it takes at least %s plus the %s fee",
			common.Sats(q.AvailableSats), common.Sats(q.MinSats), common.Sats(q.FeeSats)), false, n
	case n < q.MinSats:
		return fmt.Sprintf("✗ below the minimum: at least %s to this address (dust limit, and more than the %s fee)",
			common.Sats(q.MinSats), common.Sats(q.FeeSats)), false, n
	case n > q.MaxSats:
		return fmt.Sprintf("✗ above the maximum: at most %s (balance %s − %s fee)",
			common.Sats(q.MaxSats), common.Thousands(q.AvailableSats), common.Thousands(q.FeeSats)), false, n
	}
	return "✓ " + sums(n, q), true, n
}

// sums is the form's line for an amount it accepts.
func sums(n int64, q market.WithdrawQuote) string {
	return fmt.Sprintf("%s + %s fee = %s held; balance after: %s", common.Thousands(n), common.Thousands(q.FeeSats),
		common.Sats(n+q.FeeSats), common.Sats(q.AvailableSats-n-q.FeeSats))
}

// parseSats reads an amount as typed: "60000", "60,000", "60_000 sats".
func parseSats(s string) (int64, error) {
	s = strings.TrimSpace(strings.NewReplacer(",", "", "_", "").Replace(s))
	s = strings.TrimSpace(strings.TrimSuffix(s, "sats"))
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(s, "-"):
		return 0, errors.New("more bitcoin than there will ever be")
	case err != nil || n < 1:
		return 0, errors.New("the amount must be a whole number of sats, 1 or more")
	case n > maxSats:
		return 0, errors.New("more bitcoin than there will ever be")
	}
	return n, nil
}

// refusal is a market refusal in words, without the sentinel's and the
// decoder's noise.
func refusal(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, market.ErrInsufficientFunds):
		return "not enough: " + strings.TrimPrefix(msg, market.ErrInsufficientFunds.Error()+": ")
	case errors.Is(err, market.ErrInvalid):
		if i := strings.Index(msg, ": "+market.ErrInvalid.Error()); i > 0 {
			return msg[:i]
		}
	}
	return common.ErrText(err)
}

// sure reports whether a refusal certainly held nothing: the market
// refused before it held, rather than failing somewhere unknown.
func sure(err error) bool {
	return errors.Is(err, market.ErrInvalid) || errors.Is(err, market.ErrInsufficientFunds) ||
		errors.Is(err, market.ErrForbidden)
}

// send asks the market to withdraw, once: the key was made when the
// confirmation opened.
func (m *Model) send() tea.Cmd {
	wd := m.wd
	wd.step, wd.err = wSending, nil
	mk, actor, it, k := m.c.Market, m.c.Actor, wd.intent, wd.key
	return common.Load(m.c.Ctx, func(ctx context.Context) (withdrawnMsg, error) {
		var r withdrawnMsg
		var err error
		if r.p, err = mk.Withdraw(ctx, actor, it.address, it.sats, k); err != nil {
			return r, err
		}
		r.balance, r.balErr = mk.Balance(ctx, actor)
		return r, nil
	}, func(r withdrawnMsg, err error) tea.Msg {
		r.from, r.key, r.err = wd, k, err
		return r
	})
}

func (m *Model) withdrawn(msg withdrawnMsg) tea.Cmd {
	wd := m.wd
	if wd == nil || msg.from != wd || wd.step != wSending {
		return nil
	}
	if msg.err != nil {
		wd.step, wd.err = wConfirm, msg.err
		return tea.Batch(m.fetch(), m.ask()) // the balance may have moved
	}
	wd.step, wd.result = wDone, msg.p
	m.pane, m.scroll = panePayouts, 0
	cmds := []tea.Cmd{m.fetch()}
	if msg.balErr == nil {
		bal := msg.balance
		cmds = append(cmds, func() tea.Msg { return common.BalanceMsg{Sats: bal} })
	}
	return tea.Batch(cmds...)
}

func (wd *withdrawForm) help() []key.Binding {
	switch wd.step {
	case wForm:
		return []key.Binding{wd.keys.Next, wd.keys.Review, wd.keys.Cancel}
	case wConfirm:
		verb := "withdraw " + common.Sats(wd.intent.sats)
		if wd.err != nil {
			verb = "try again"
		}
		back := wd.dialog.Cancel
		back.SetHelp("esc", "go back")
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", verb)), back}
	case wDone, wOff:
		return []key.Binding{wd.dialog.Close}
	}
	return nil
}

// view renders the dialog in at most the page's width, in fewer words
// when the full ones do not fit its height.
func (wd *withdrawForm) view(m *Model) string {
	d := wd.render(m, false)
	if lipgloss.Height(d) > m.height {
		d = wd.render(m, true)
	}
	return d
}

func (wd *withdrawForm) render(m *Model, compact bool) string {
	st := m.c.Styles
	w := max(24, min(m.width, 96))
	inner := w - 4
	var title, body string
	switch wd.step {
	case wOff:
		title = "Withdraw"
		body = common.Wrap(m.offReason()+": nothing can be sent to a Bitcoin address from this shop. "+
			"Your balance stays yours to spend here.", inner) + "\n\n" + st.Muted.Render("esc closes")
	case wForm:
		title = "Withdraw to a Bitcoin address"
		body = wd.formView(m, inner, compact)
	case wConfirm, wSending:
		title = "Withdraw " + common.Sats(wd.intent.sats)
		body = wd.confirmView(m, inner, compact)
	case wDone:
		title = "Withdrawal held"
		body = wd.doneView(m, inner, compact)
	}
	head := st.DialogTitle.Render(common.Truncate(title, inner))
	return st.Dialog.Width(w - 2).Render(head + "\n\n" + body)
}

// labelW is the width of the field labels; the lines under the fields
// start after it.
const labelW = 10

func (wd *withdrawForm) formView(m *Model, inner int, compact bool) string {
	st := m.c.Styles
	c := m.check()
	under := func(text string, ok bool) string {
		lines := strings.Split(common.Wrap(text, max(8, inner-labelW)), "\n")
		style := st.Muted
		switch {
		case !ok:
			style = st.Error
		case strings.HasPrefix(text, "✓"):
			style = st.OK
		}
		for i, l := range lines {
			lines[i] = strings.Repeat(" ", labelW) + style.Render(l)
		}
		return strings.Join(lines, "\n")
	}
	field := func(i int, label, suffix string) string {
		mark := "  "
		if wd.focus == i {
			mark = "▸ "
		}
		f := &wd.fields[i]
		f.Width = max(4, inner-labelW-common.Width(suffix)-1)
		return mark + st.Label.Render(common.PadRight(label, labelW-2)) + f.View() + st.Muted.Render(suffix)
	}
	lines := []string{
		field(fieldAddress, "address", ""),
		under(c.address, c.addressOK),
		field(fieldAmount, "amount", " sats"),
		under(c.amount, c.amountOK),
		"",
	}
	if !compact {
		lines = append(lines, st.Muted.Render(common.Wrap("The fee is this payment's share of the network fee of the "+
			"batch it goes out in; it is held with the amount.", inner)), "")
	}
	return strings.Join(append(lines, st.Muted.Render("tab next field · enter review · esc cancel")), "\n")
}

func (wd *withdrawForm) confirmView(m *Model, inner int, compact bool) string {
	st := m.c.Styles
	q, n := wd.quote, wd.intent.sats
	held := n + q.FeeSats
	row := func(label, value string) string { return st.Label.Render(common.PadRight(label, 14)) + value }
	// The address whole on one line where it fits: it is checked by eye.
	to := wd.intent.address
	if common.Width(to) > inner-14 {
		to = "\n" + common.Wrap(to, inner)
	}
	what := fmt.Sprintf("%s are held from your balance as soon as you confirm. The %s go out in the shop's "+
		"next payout batch, once its signer signs it; the %s fee pays this payment's share of the batch's network fee. "+
		"The payouts list (p) follows it: pending, signed, broadcast, confirmed. If the transaction can never "+
		"confirm, the payout fails and the hold comes back to your balance. A payment to a wrong address cannot "+
		"be undone: check the address.", common.Sats(held), common.Sats(n), common.Sats(q.FeeSats))
	if compact {
		what = "Held now; sent in the next payout batch once its signer signs it. It cannot be undone: check the address."
	}
	lines := []string{
		row("to", to),
		row("amount", st.Price.Render(common.Sats(n))),
		row("fee", common.Sats(q.FeeSats)),
		row("held now", st.Value.Render(common.Sats(held))),
		row("balance after", common.Sats(q.AvailableSats-held)),
		"",
		common.Wrap(what, inner),
		"",
	}
	switch {
	case wd.step == wSending:
		lines = append(lines, st.Muted.Render("withdrawing…"))
	case wd.err == nil && held > q.AvailableSats:
		// The balance moved since the form: the market will refuse.
		lines = append(lines, st.Error.Render("✗ ")+common.Wrap(fmt.Sprintf("your balance (%s) no longer covers this; esc to change the amount",
			common.Sats(q.AvailableSats)), max(8, inner-2)), st.Muted.Render("enter withdraw "+common.Sats(n)+" · esc go back"))
	case wd.err != nil:
		why := refusal(wd.err)
		if sure(wd.err) {
			why += " — nothing was held"
		}
		again := "enter tries again (it can never hold twice) · esc go back"
		lines = append(lines, st.Error.Render("✗ refused: ")+common.Wrap(why, max(8, inner-11)), st.Muted.Render(again))
	default:
		lines = append(lines, st.Muted.Render("enter withdraw "+common.Sats(n)+" · esc go back"))
	}
	return strings.Join(lines, "\n")
}

func (wd *withdrawForm) doneView(m *Model, inner int, compact bool) string {
	st, p := m.c.Styles, wd.result
	head := st.OK.Render("✓ HELD") + " " + common.Sats(p.AmountSats+p.FeeSats) + " · status " + statusWord(st, p.Status, 0)
	if compact {
		return head + "\n" + st.Label.Render("payout ") + p.ID + "\n" +
			common.Wrap("sent in the next payout batch once its signer signs it; p lists your payouts", inner) +
			"\n\n" + st.Muted.Render("esc closes")
	}
	return strings.Join([]string{
		head,
		st.Label.Render("payout ") + p.ID,
		"",
		common.Wrap(fmt.Sprintf("%s go to %s in the shop's next payout batch, once its signer signs it. "+
			"The payouts list under your balance follows it to confirmed; so does this command:",
			common.Sats(p.AmountSats), p.Address), inner),
		st.Command.Render("  " + common.WrapCommand(m.c.Dial+" payouts", inner-2)),
		"",
		st.Muted.Render("esc closes"),
	}, "\n")
}
