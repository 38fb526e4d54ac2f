package textfield

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/tui/styles"
)

func field() Model {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	m := New(styles.New(r), "> ", "type", 10)
	m.Focus()
	return m
}

func keys(m *Model, ks ...tea.KeyMsg) {
	for _, k := range ks {
		m.Update(k)
	}
}

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func TestEditing(t *testing.T) {
	m := field()
	keys(&m, runes("hello"), tea.KeyMsg{Type: tea.KeyLeft}, tea.KeyMsg{Type: tea.KeyLeft}, runes("X"),
		tea.KeyMsg{Type: tea.KeyBackspace}, tea.KeyMsg{Type: tea.KeyHome}, tea.KeyMsg{Type: tea.KeyDelete})
	if m.Value() != "ello" {
		t.Fatalf("value %q", m.Value())
	}
	keys(&m, tea.KeyMsg{Type: tea.KeyEnd}, runes(" wor"), tea.KeyMsg{Type: tea.KeyCtrlW})
	if m.Value() != "ello " {
		t.Fatalf("after ctrl+w: %q", m.Value())
	}
	keys(&m, tea.KeyMsg{Type: tea.KeyCtrlU})
	if m.Value() != "" {
		t.Fatalf("after ctrl+u: %q", m.Value())
	}
}

func TestPasteIsCleanedAndLimited(t *testing.T) {
	m := field()
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("a\x1b[31mb\nc0123456789"), Paste: true})
	if m.Value() != "a[31mb c01" {
		t.Fatalf("value %q", m.Value())
	}
}

func TestBlurredIgnoresKeys(t *testing.T) {
	m := field()
	m.Blur()
	if m.Update(runes("x")) || m.Value() != "" {
		t.Fatal("a blurred field took a key")
	}
	if got := m.View(); got != "> type" {
		t.Fatalf("placeholder view %q", got)
	}
}

func TestNoColourCursorIsVisible(t *testing.T) {
	m := field()
	m.SetValue("ab")
	if got := m.View(); got != "> ab_" {
		t.Fatalf("view %q", got)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyLeft})
	if got := m.View(); got != "> a|b" {
		t.Fatalf("view %q", got)
	}
}
