package tui_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/sshtest"
)

// fakeChain is a deposit side with a fixed address and state.
type fakeChain struct {
	addr   string
	err    error
	status market.ChainStatus
}

func (f fakeChain) DepositAddress(context.Context, string) (string, error) { return f.addr, f.err }
func (f fakeChain) Status() market.ChainStatus                             { return f.status }

const regtestAddr = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"

func TestWalletShowsAddressAndQR(t *testing.T) {
	t.Parallel()
	chain := fakeChain{addr: regtestAddr, status: market.ChainStatus{Network: "regtest", Enabled: true, Reachable: true, Height: 101}}
	w := newWorld(t, sshtest.Options{NoTUI: true, Chain: chain})
	buyer := w.account("buyer")
	w.fund(buyer, 5000)
	s := w.open(buyer, 100, 30)
	s.keys("3")
	v := s.settled("balance    5,000 sats", regtestAddr, "✓ ON regtest · height 101", "deposit")
	if !strings.Contains(v, "▀") || !strings.Contains(v, "█") {
		t.Fatalf("no QR code at 100×30:\n%s", v)
	}
	golden(t, "wallet_qr_100x30", w.stable(v))

	s.keys("1")
	s = w.open(buyer, 60, 20)
	s.keys("3")
	v = s.settled(regtestAddr)
	if !strings.Contains(v, "shows the address as a QR code") {
		t.Errorf("a small terminal neither shows the QR code nor says why:\n%s", v)
	}
}

func TestWalletChainStates(t *testing.T) {
	t.Parallel()
	t.Run("off", func(t *testing.T) {
		w := newWorld(t, sshtest.Options{NoTUI: true})
		s := w.open(w.account("buyer"), 100, 30)
		s.keys("3")
		s.settled("deposits are off (--chain none)", "no movements yet")
	})
	t.Run("unreachable", func(t *testing.T) {
		chain := fakeChain{err: errors.New("connection refused"), status: market.ChainStatus{Network: "regtest", Enabled: true}}
		w := newWorld(t, sshtest.Options{NoTUI: true, Chain: chain})
		buyer := w.account("buyer")
		w.fund(buyer, 1234)
		s := w.open(buyer, 100, 30)
		s.keys("3")
		v := s.settled("node unreachable", "balance    1,234 sats")
		if strings.Contains(v, "█") {
			t.Errorf("a QR code without an address:\n%s", v)
		}
	})
}
