package wallet

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/styles"
)

// inFlight reports whether a payout still holds money on its way out.
func inFlight(status string) bool {
	switch status {
	case store.PayoutPending, store.PayoutSigned, store.PayoutBroadcast:
		return true
	}
	return false
}

// statusWord renders a payout's status as its word, coloured only as a
// second cue.
func statusWord(st *styles.Styles, status string, width int) string {
	word := status
	if width > 0 {
		word = common.PadRight(status, width)
	}
	switch status {
	case store.PayoutConfirmed:
		return st.OK.Render(word)
	case store.PayoutFailed:
		return st.Error.Render(word)
	case store.PayoutPending:
		return st.Warn.Render(word)
	}
	return st.Info.Render(word)
}

// payoutsLine sums the payouts up for the summary, or says withdrawals
// are off.
func (m *Model) payoutsLine() string {
	st := m.c.Styles
	var n int
	var held int64
	for _, p := range m.d.payouts {
		if inFlight(p.Status) {
			n++
			held += p.AmountSats + p.FeeSats
		}
	}
	switch {
	case len(m.d.payouts) == 0 && !m.d.payoutsOn:
		return st.Warn.Render("OFF") + " " + m.offReason()
	case len(m.d.payouts) == 0:
		return "none yet" + st.Muted.Render(" · w withdraws to a Bitcoin address")
	case n > 0:
		return fmt.Sprintf("%d on the way, %s held", n, common.Sats(held)) + st.Muted.Render(" · p lists them")
	}
	return fmt.Sprintf("%d, none on the way", len(m.d.payouts)) + st.Muted.Render(" · p lists them")
}

// offReason says why withdrawals are off.
func (m *Model) offReason() string {
	if c := m.d.w.Chain; !c.Enabled || c.Network == "none" {
		return "withdrawals are off (--chain none)"
	}
	return "withdrawals are off on this shop"
}

// payoutsView lists the payouts, newest first, in h lines: one line each,
// and a second with the full txid once the payout is signed.
func (m *Model) payoutsView(h int) string {
	st := m.c.Styles
	if h < 2 {
		return ""
	}
	head := st.Label.Render("payouts") + st.Muted.Render(" · newest first · p shows the history")
	if len(m.d.payouts) == 0 {
		empty := "no payouts yet — w withdraws to a Bitcoin address"
		if !m.d.payoutsOn {
			empty = "no payouts — " + m.offReason()
		}
		return head + "\n" + st.Muted.Render(empty)
	}
	// The date is the first column to go on a narrow terminal; the
	// address is shortened in the middle to what is left.
	const whenW, statusW, amountW, feeW = 16, 9, 12, 8
	wide := m.width >= 76
	indent := 0
	if wide {
		indent = whenW + 2
	}
	addrW := max(12, m.width-(indent+statusW+amountW+feeW+2))
	row := func(when, status, amount, fee, to string) string {
		line := status + common.PadLeft(amount, amountW) + common.PadLeft(fee, feeW) + "  " + to
		if wide {
			line = common.PadRight(when, whenW) + "  " + line
		}
		return line
	}
	lines := []string{head, st.Label.Render(row("when (UTC)", common.PadRight("status", statusW), "amount", "fee", "to"))}
	for _, p := range m.d.payouts[min(m.scroll, len(m.d.payouts)):] {
		lines = append(lines, row(p.At.UTC().Format("2006-01-02 15:04"), statusWord(st, p.Status, statusW),
			common.Thousands(p.AmountSats), common.Thousands(p.FeeSats), shortAddress(p.Address, addrW)))
		if p.TxID != "" {
			lines = append(lines, strings.Repeat(" ", max(2, indent))+st.Muted.Render("txid ")+p.TxID)
		}
	}
	return strings.Join(lines[:min(len(lines), h)], "\n")
}

// shortAddress fits an address in width cells, keeping its start (the
// network's prefix) and its end (the checksum) so it can still be checked
// by eye against the one the payout was sent to.
func shortAddress(a string, width int) string {
	if len(a) <= width || width < 5 {
		return a
	}
	tail := (width - 1) / 3
	return a[:width-1-tail] + "…" + a[len(a)-tail:]
}

// movement is one history row as the wallet shows it.
type movement struct {
	at      time.Time
	kind    string
	amount  string
	balance int64 // available after it
}

// movements turns the market's history into rows. The market already
// gives each row its effect on the available balance (a payout's hold takes
// the money at once, a void gives it back, the post moves nothing and is
// not listed); only the kinds get words.
func movements(items []market.HistoryItem) []movement {
	out := make([]movement, len(items))
	for i, it := range items {
		out[i] = movement{at: it.At, kind: kindLabel(it.Kind), amount: common.Signed(it.AmountSats), balance: it.BalanceSats}
	}
	return out
}

func kindLabel(kind string) string {
	switch kind {
	case "payout-held":
		return "payout held"
	case "payout-refund":
		return "payout refunded"
	}
	return kind
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
