package tui_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui"
)

// order returns the positions of titles in a view, -1 when absent.
func order(v string, titles ...string) []int {
	out := make([]int, len(titles))
	for i, t := range titles {
		out[i] = strings.Index(v, t)
	}
	return out
}

func increasing(pos []int) bool {
	for i := range pos {
		if pos[i] < 0 || i > 0 && pos[i] < pos[i-1] {
			return false
		}
	}
	return true
}

func TestSearchNarrowsTheList(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	s.waitText("page 1/1 · 3 shops")
	s.keys("/")
	s.typ("song q") // q is text while typing, not quit
	v := s.waitText("0 shops", "no shops match")
	s.keys("backspace", "backspace")
	v = s.waitText("page 1/1 · 2 shops") // debounced: no Enter needed
	if strings.Contains(v, "Green Book") || !strings.Contains(v, "Red Song") || !strings.Contains(v, "Blue Song") {
		t.Fatalf("search for song shows:\n%s", v)
	}
	s.keys("enter", "esc") // leave the input, then clear the search
	s.waitText("page 1/1 · 3 shops", "Green Book")

	// Keys typed faster than the server reads them arrive as one message.
	s.keys("/book")
	s.waitText("page 1/1 · 1 shop", "/ book")
	s.keys("esc")
	s.tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q2"), Paste: true}) // a paste is no command
	s.waitText("page 1/1 · 3 shops", "[1 Browse]")
}

func TestSortCyclesOrder(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	v := s.waitText("page 1/1 · 3 shops")
	if !increasing(order(v, "Green Book", "Blue Song", "Red Song")) {
		t.Fatalf("newest first expected:\n%s", v)
	}
	s.keys("s")
	v = s.waitFor("price ascending", func(v string) bool {
		return strings.Contains(v, "price ↑") && increasing(order(v, "Green Book", "Red Song", "Blue Song"))
	})
	s.keys("s")
	s.waitFor("price descending", func(v string) bool {
		return strings.Contains(v, "price ↓") && increasing(order(v, "Blue Song", "Red Song", "Green Book"))
	})
	s.keys("s")
	s.waitText("sort: newest")
}

func TestPagingFromTheStore(t *testing.T) {
	t.Parallel()
	w := newWorld(t, sshtest.Options{NoTUI: true})
	seller := w.account("seller")
	for i := range 30 {
		w.upload(seller, fmt.Sprintf("f%02d.bin", i), fmt.Sprintf("Item %02d", i), "", int64(100+i))
	}
	s := w.open(seller, 60, 20) // 13 rows a page
	v := s.waitText("page 1/3 · 30 shops", "▸ Item 29")
	if strings.Contains(v, "Item 16") {
		t.Fatalf("the first page holds more than 13 rows:\n%s", v)
	}
	s.keys("pgdown")
	s.waitText("page 2/3 · 30 shops", "▸ Item 16")
	s.keys("G")
	s.waitText("page 3/3 · 30 shops", "▸ Item 00")
	s.keys("k", "k", "k", "k", "k")
	s.waitText("page 2/3 · 30 shops", "▸ Item 05")
	s.keys("g")
	s.waitText("page 1/3 · 30 shops", "▸ Item 29")
}

func TestBuyChargesOnceAndShowsTheReceipt(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	s.waitText("page 1/1 · 3 shops", "balance 5,000 sats")
	s.keys("j", "j", "enter")
	s.waitText("b buys it for 1,000 sats")
	s.keys("b")
	s.waitText("price         1,000 sats", "your balance  5,000 sats", "after         4,000 sats")
	s.keys("enter", "enter", "enter") // impatient: must still charge once
	v := s.waitText("✓ PAID", "balance now 4,000 sats", "balance 4,000 sats")
	for _, want := range []string{
		dial + " get ", " > song.mp3",
		dial + " licence ", ".slip",
		"shopfile open ", ".shop --licence ", "--identity ~/.ssh/id_ed25519",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("receipt lacks %q:\n%s", want, v)
		}
	}
	if !rePurchase.MatchString(v) {
		t.Errorf("receipt shows no purchase id:\n%s", v)
	}
	golden(t, "receipt_100x30", w.stable(v))
	s.keys("enter") // Enter on a receipt does nothing, and charges nothing
	time.Sleep(50 * time.Millisecond)
	if got := w.balance(buyer); got != 4000 {
		t.Fatalf("balance after one purchase and four Enters: %d, want 4000", got)
	}
	lib, err := w.m.Library(context.Background(), buyer)
	if err != nil || len(lib) != 1 {
		t.Fatalf("library: %v, %v", lib, err)
	}
	s.keys("esc")
	v = s.waitText("✓ OWNED", "get the file:")
	if strings.Contains(v, "b buys") {
		t.Errorf("an owned shop still offers to buy:\n%s", v)
	}
	s.keys("4")
	s.waitText("page 1/1 · 1 purchase", "Red Song")
	s.keys("enter")
	s.waitText("purchase p", " get ", " > song.mp3")
}

func TestInsufficientFunds(t *testing.T) {
	t.Parallel()
	w, seller, _ := catalogue(t)
	poor := w.account("poor")
	w.fund(poor, 100)
	_ = seller
	s := w.open(poor, 100, 30)
	s.waitText("page 1/1 · 3 shops", "balance 100 sats")
	s.keys("j", "enter")
	s.waitText("Blue Song", "b buys it for 2,500 sats")
	s.keys("b")
	s.waitText("✗ not enough", "you need 2,400 sats more")
	s.keys("enter")
	v := s.waitText("✗ insufficient funds", "nothing was charged")
	if !strings.Contains(v, "balance 100 sats") {
		t.Errorf("header balance changed:\n%s", v)
	}
	if got := w.balance(poor); got != 100 {
		t.Fatalf("balance after a refused purchase: %d, want 100", got)
	}
	s.keys("esc")
	s.waitText("not owned")
}

func TestRepriceInline(t *testing.T) {
	t.Parallel()
	w, seller, _ := catalogue(t)
	s := w.open(seller, 100, 30)
	s.keys("2")
	s.waitText("Your shops", "page 1/1 · 3 shops", "▸ Green Book")
	for _, bad := range []string{"abc", "0", "-5", "1.5"} {
		s.keys("e", "ctrl+u")
		s.typ(bad)
		s.keys("enter")
		s.waitText("✗ price must be a whole number ≥ 1")
		s.keys("esc")
		s.waitFor("the form to close", func(v string) bool { return !strings.Contains(v, "new price") })
	}
	s.keys("enter", "ctrl+u") // enter opens the form too
	s.typ("4200")
	s.keys("esc") // cancel: nothing saved
	s.waitFor("the form to close", func(v string) bool { return !strings.Contains(v, "new price") })
	s.keys("e", "ctrl+u")
	s.typ("2,500")
	s.keys("enter")
	s.waitText("“Green Book” now costs 2,500 sats")
	id := findShop(t, w.m, seller, "Green Book")
	got, err := w.m.Show(context.Background(), seller, id)
	if err != nil || got.PriceSats != 2500 {
		t.Fatalf("price after reprice: %d, %v", got.PriceSats, err)
	}
}

func findShop(t *testing.T, m *market.Market, who *store.Account, title string) string {
	t.Helper()
	p, err := m.List(context.Background(), who, market.ListQuery{Text: title})
	if err != nil || len(p.Shops) == 0 {
		t.Fatalf("find %q: %v", title, err)
	}
	return p.Shops[0].ID
}

func TestStrangerCannotReprice(t *testing.T) {
	t.Parallel()
	w, _, _ := catalogue(t)
	stranger := w.account("stranger")
	s := w.open(stranger, 100, 30)
	s.waitText("page 1/1 · 3 shops")
	s.keys("enter")
	v := s.waitText("Green Book", "b buys it for 300 sats")
	if strings.Contains(v, "reprice") {
		t.Errorf("a stranger is offered reprice:\n%s", v)
	}
	s.keys("e")
	s.keys("r")
	v = s.waitText("b buys it for 300 sats")
	if strings.Contains(v, "new price") {
		t.Errorf("e opened a price form for a stranger:\n%s", v)
	}
	s.keys("esc", "2")
	s.waitText("you sell nothing yet")
}

func TestLiveUpdates(t *testing.T) {
	t.Parallel()
	w, seller, buyer := catalogue(t)
	s := w.open(seller, 100, 30)
	s.waitText("page 1/1 · 3 shops", "balance 0 sats")
	id := findShop(t, w.m, seller, "Green Book")
	if _, err := w.m.Reprice(context.Background(), seller, id, 777); err != nil {
		t.Fatal(err)
	}
	s.waitText("777 sats") // a ShopChanged event refreshed the visible row
	if _, err := w.m.Buy(context.Background(), buyer, id, "", 0); err != nil {
		t.Fatal(err)
	}
	s.waitText("balance 777 sats") // a WalletChanged event for the payee
}

func TestQuitKeys(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	s.waitText("page 1/1 · 3 shops")
	s.keys("/", "q")
	s.waitText("/ q")
	s.keys("ctrl+c")
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))

	s = w.open(buyer, 100, 30)
	s.waitText("page 1/1 · 3 shops")
	s.keys("q")
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

func TestShutdownQuits(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	s.waitText("page 1/1 · 3 shops")
	s.tm.Send(tui.ShutdownMsg{})
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(2*time.Second))
	if v := s.tm.FinalModel(t).View(); !strings.Contains(v, "the shop is restarting") {
		t.Fatalf("last frame: %q", v)
	}
}

func TestIdleWarnsThenQuits(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30, opts{idle: 2 * time.Second})
	s.waitText("page 1/1 · 3 shops")
	s.waitText("idle — this session closes in 1s; press any key to stay")
	s.keys("j") // a key press clears the warning and restarts the clock
	s.waitFor("the warning to clear", func(v string) bool { return !strings.Contains(v, "idle —") })
	s.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if v := s.tm.FinalModel(t).View(); !strings.Contains(v, "without a key press") {
		t.Fatalf("last frame: %q", v)
	}
}
