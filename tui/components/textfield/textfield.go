// Package textfield is a one-line text input. It stands in for
// bubbles/textinput, whose ctrl+v reads the clipboard of the machine the
// program runs on — here the server — and whose cursor blinks on a timer
// that keeps an idle session busy. Pastes from the client arrive as
// bracketed-paste key messages and work as usual.
package textfield

import (
	"strings"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/tui/styles"
)

// Model is the input.
type Model struct {
	st          *styles.Styles
	Prompt      string
	Placeholder string
	Limit       int // runes; 0: none
	Width       int // cells for the text; 0: unbounded
	value       []rune
	pos         int
	focus       bool
}

// New returns an unfocused input.
func New(st *styles.Styles, prompt, placeholder string, limit int) Model {
	return Model{st: st, Prompt: prompt, Placeholder: placeholder, Limit: limit}
}

// Value is the text.
func (m Model) Value() string { return string(m.value) }

// SetValue replaces the text and puts the cursor at its end.
func (m *Model) SetValue(s string) {
	m.value = []rune(clean(s))
	if m.Limit > 0 && len(m.value) > m.Limit {
		m.value = m.value[:m.Limit]
	}
	m.pos = len(m.value)
}

// Focus gives the input the keyboard.
func (m *Model) Focus() { m.focus = true }

// Blur takes the keyboard away.
func (m *Model) Blur() { m.focus = false }

// Focused reports whether the input has the keyboard.
func (m Model) Focused() bool { return m.focus }

// Update edits the text. It reports whether the text changed.
func (m *Model) Update(msg tea.Msg) bool {
	k, ok := msg.(tea.KeyMsg)
	if !ok || !m.focus {
		return false
	}
	before := string(m.value)
	switch k.Type {
	case tea.KeyRunes, tea.KeySpace:
		m.insert(k.Runes)
	case tea.KeyBackspace, tea.KeyCtrlH:
		m.deleteBack(1)
	case tea.KeyDelete, tea.KeyCtrlD:
		m.deleteForward()
	case tea.KeyCtrlW:
		m.deleteBack(m.pos - m.wordStart())
	case tea.KeyCtrlU:
		m.deleteBack(m.pos)
	case tea.KeyCtrlK:
		m.value = m.value[:m.pos]
	default:
		m.move(k.Type)
	}
	return before != string(m.value)
}

func (m *Model) move(t tea.KeyType) {
	switch t {
	case tea.KeyLeft, tea.KeyCtrlB:
		m.pos = max(0, m.pos-1)
	case tea.KeyRight, tea.KeyCtrlF:
		m.pos = min(len(m.value), m.pos+1)
	case tea.KeyHome, tea.KeyCtrlA:
		m.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		m.pos = len(m.value)
	}
}

func (m *Model) insert(rs []rune) {
	rs = []rune(clean(string(rs)))
	if m.Limit > 0 {
		rs = rs[:min(len(rs), max(0, m.Limit-len(m.value)))]
	}
	v := make([]rune, 0, len(m.value)+len(rs))
	v = append(append(append(v, m.value[:m.pos]...), rs...), m.value[m.pos:]...)
	m.value = v
	m.pos += len(rs)
}

func (m *Model) deleteBack(n int) {
	n = min(n, m.pos)
	m.value = append(m.value[:m.pos-n], m.value[m.pos:]...)
	m.pos -= n
}

func (m *Model) deleteForward() {
	if m.pos < len(m.value) {
		m.value = append(m.value[:m.pos], m.value[m.pos+1:]...)
	}
}

func (m *Model) wordStart() int {
	i := m.pos
	for i > 0 && unicode.IsSpace(m.value[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(m.value[i-1]) {
		i--
	}
	return i
}

// clean drops control characters (a paste may carry newlines or escapes).
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			if r == '\n' || r == '\t' {
				return ' '
			}
			return -1
		}
		return r
	}, s)
}

// View renders prompt, text and cursor.
func (m Model) View() string {
	prompt := m.st.InputPrompt.Render(m.Prompt)
	if len(m.value) == 0 && !m.focus {
		return prompt + m.st.InputPlaceholder.Render(m.Placeholder)
	}
	before, after := string(m.value[:m.pos]), string(m.value[m.pos:])
	if !m.focus {
		return prompt + m.st.InputText.Render(m.fit(before+after))
	}
	before = m.fitLeft(before)
	return prompt + m.st.InputText.Render(before) + m.cursor(after)
}

// cursor draws the cursor cell. Without colour, reverse video is not
// drawn either, so a visible glyph stands in for it.
func (m Model) cursor(after string) string {
	plain := m.st.Renderer.ColorProfile() == termenv.Ascii
	r := []rune(after)
	switch {
	case plain && len(r) == 0:
		return "_"
	case plain:
		return "|" + m.fit(after)
	case len(r) == 0:
		return m.st.InputCursor.Render(" ")
	}
	return m.st.InputCursor.Render(string(r[0])) + m.st.InputText.Render(m.fit(string(r[1:])))
}

// fitLeft keeps the end of the text before the cursor when it is too wide.
func (m Model) fitLeft(s string) string {
	if m.Width <= 0 || ansi.StringWidth(s) < m.Width {
		return s
	}
	return ansi.TruncateLeft(s, ansi.StringWidth(s)-m.Width+1, "…")
}

func (m Model) fit(s string) string {
	if m.Width <= 0 {
		return s
	}
	return ansi.Truncate(s, m.Width, "…")
}
