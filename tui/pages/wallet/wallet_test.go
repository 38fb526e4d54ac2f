package wallet

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/components/textfield"
)

func TestParseSats(t *testing.T) {
	for in, want := range map[string]int64{"60000": 60000, "60,000": 60000, " 60_000 sats ": 60000, "1": 1} {
		if got, err := parseSats(in); err != nil || got != want {
			t.Errorf("parseSats(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"": "whole number", "0": "whole number", "-5": "whole number", "1.5": "whole number", "abc": "whole number",
		"1e5": "whole number", "99999999999999999999": "more bitcoin", "2100000000000001": "more bitcoin",
	} {
		if _, err := parseSats(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseSats(%q): %v, want an error saying %q", in, err, want)
		}
	}
}

func TestShortAddressKeepsBothEnds(t *testing.T) {
	a := "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
	if got := shortAddress(a, 60); got != a {
		t.Errorf("an address that fits was shortened: %q", got)
	}
	got := shortAddress(a, 20)
	if len([]rune(got)) != 20 || !strings.HasPrefix(got, "bcrt1q") || !strings.HasSuffix(got, "gt080") || !strings.Contains(got, "…") {
		t.Errorf("shortAddress(…, 20) = %q", got)
	}
}

func TestRefusalWords(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("not a regtest address: %w: %w", market.ErrInvalid, fmt.Errorf("decoded address is of unknown format")):   "not a regtest address",
		fmt.Errorf("%w: withdrawing 5 sats costs 287 sats with the fee; the balance is 9 sats", market.ErrInsufficientFunds): "not enough: withdrawing 5 sats costs 287 sats with the fee; the balance is 9 sats",
	} {
		if got := refusal(err); got != want {
			t.Errorf("refusal(%v) = %q, want %q", err, got, want)
		}
	}
	if sure(fmt.Errorf("store: %w", market.ErrUnavailable)) {
		t.Error("an unavailable store is taken as certainly holding nothing")
	}
}

// The page shows the market's rows, with words for the payout kinds.
func TestMovementsLabelPayouts(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	items := []market.HistoryItem{ // newest first, as the market lists them
		{Transfer: "payout:w2:void", Kind: "payout-refund", AmountSats: 1282, BalanceSats: 39718, At: at},
		{Transfer: "payout:w2", Kind: "payout-held", AmountSats: -1282, BalanceSats: 38436, At: at},
		{Transfer: "d1", Kind: "deposit", AmountSats: 100000, BalanceSats: 100000, At: at},
	}
	got := movements(items)
	want := []struct {
		kind, amount string
		balance      int64
	}{
		{"payout refunded", "+1,282", 39718},
		{"payout held", "-1,282", 38436},
		{"deposit", "+100,000", 100000},
	}
	for i, w := range want {
		if g := got[i]; g.kind != w.kind || g.amount != w.amount || g.balance != w.balance {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
}

// The form's checks, without a market: the quote stands in for its answer.
func TestCheckAmount(t *testing.T) {
	const addr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
	q := market.WithdrawQuote{FeeSats: 282, MinSats: 1000, AvailableSats: 100_000, MaxSats: 99_718}
	form := func(address, amount string, quoted bool) *Model {
		m := &Model{d: data{w: market.Wallet{BalanceSats: 100_000, Chain: market.ChainStatus{Network: "regtest"}}}}
		wd := &withdrawForm{}
		wd.fields[fieldAddress] = textfield.New(nil, "", "", 100)
		wd.fields[fieldAmount] = textfield.New(nil, "", "", 24)
		wd.fields[fieldAddress].SetValue(address)
		wd.fields[fieldAmount].SetValue(amount)
		if quoted {
			wd.quoted, wd.quote = address, q
		}
		m.wd = wd
		return m
	}
	for _, c := range []struct {
		address, amount string
		quoted, ok      bool
		want            string
	}{
		{"", "", false, false, "the regtest address to send to"},
		{addr, "5000", false, false, "checking the address…"},
		{addr, "", true, false, "whole sats · at least 1,000 · at most 99,718 sats"},
		{addr, "999", true, false, "✗ below the minimum: at least 1,000 sats"},
		{addr, "99,719", true, false, "✗ above the maximum: at most 99,718 sats (balance 100,000 − 282 fee)"},
		{addr, "60000", true, true, "✓ 60,000 + 282 fee = 60,282 sats held; balance after: 39,718 sats"},
		{addr, "99718", true, true, "balance after: 0 sats"},
		{"", "200000", false, false, "✗ above your balance of 100,000 sats"},
	} {
		c2 := form(c.address, c.amount, c.quoted).check()
		line := c2.address + " | " + c2.amount
		if c2.ok != c.ok || !strings.Contains(line, c.want) {
			t.Errorf("address %q amount %q quoted %v: ok %v, %q; want ok %v and %q", c.address, c.amount, c.quoted, c2.ok, line, c.ok, c.want)
		}
	}
	poor := form(addr, "1000", true)
	poor.wd.quote = market.WithdrawQuote{FeeSats: 282, MinSats: 1000, AvailableSats: 900, MaxSats: 618}
	if c := poor.check(); c.ok || !strings.Contains(c.amount, "covers no withdrawal") {
		t.Errorf("a balance below the minimum plus the fee: %+v", c)
	}
}
