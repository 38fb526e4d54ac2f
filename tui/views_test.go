package tui_test

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store"
)

// catalogue is a small fixed shop floor for golden views.
func catalogue(t *testing.T) (*world, *store.Account, *store.Account) {
	w := newWorld(t, sshtest.Options{NoTUI: true})
	seller, buyer := w.account("seller"), w.account("buyer")
	w.fund(buyer, 5000)
	w.upload(seller, "song.mp3", "Red Song", "A song about red things.\nRecorded live.", 1000)
	w.upload(seller, "blue.flac", "Blue Song", "", 2500)
	w.upload(seller, "book.pdf", "Green Book", "Three hundred pages of green.", 300)
	return w, seller, buyer
}

func TestBrowseViews(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	for _, size := range []struct {
		name string
		w, h int
	}{{"browse_100x30", 100, 30}, {"browse_60x20", 60, 20}} {
		t.Run(size.name, func(t *testing.T) {
			s := w.open(buyer, size.w, size.h)
			v := s.settled("page 1/1 · 3 shops", "balance 5,000 sats")
			if strings.Contains(v, "\x1b[") {
				t.Errorf("a no-colour view carries escape codes:\n%q", v)
			}
			if !strings.Contains(v, "▸ Green Book") {
				t.Errorf("the selected row has no glyph:\n%s", v)
			}
			golden(t, size.name, w.stable(v))
		})
	}
}

func TestTooSmallAndBack(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	before := s.settled("page 1/1 · 3 shops", "balance 5,000 sats")
	s.tm.Send(tea.WindowSizeMsg{Width: 30, Height: 8})
	small := s.waitText("terminal too small")
	if !strings.Contains(small, "at least 40×10") {
		t.Errorf("the too-small screen does not say the minimum:\n%s", small)
	}
	golden(t, "too_small_30x8", small)
	s.keys("2") // ignored while too small
	s.tm.Send(tea.WindowSizeMsg{Width: 100, Height: 30})
	after := s.settled("page 1/1 · 3 shops")
	if after != before {
		t.Errorf("the view changed across a resize:\n%s\n---\n%s", before, after)
	}
	s.tm.Send(tea.WindowSizeMsg{Width: 60, Height: 20})
	golden(t, "browse_60x20", w.stable(s.settled("page 1/1 · 3 shops")))
}

func TestColourView(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30, opts{color: true})
	v := s.settled("page 1/1 · 3 shops", "balance 5,000 sats")
	if !strings.Contains(v, "\x1b[") || !strings.Contains(v, "38;5;") {
		t.Fatalf("an ANSI256 view has no 256-colour codes:\n%q", v)
	}
	golden(t, "browse_ansi256_100x30", w.stable(v))
}

func TestShopPageView(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	s.waitText("page 1/1 · 3 shops")
	s.keys("j", "j", "enter") // newest first: Green Book, Blue Song, Red Song
	v := s.waitText("Red Song", "Recorded live.", "not owned", "b buys it for 1,000 sats")
	golden(t, "shop_100x30", w.stable(v))
}

func TestHelpView(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30)
	s.waitText("page 1/1 · 3 shops")
	s.keys("5")
	golden(t, "help_100x30", w.stable(s.waitText("everywhere", "shop page")))
	s.keys("1", "?")
	v := s.waitText("g/home")
	if !strings.Contains(v, "shift+tab") && !strings.Contains(v, "next tab") {
		t.Errorf("full help lacks the global keys:\n%s", v)
	}
}
