// Package action is a consequential step taken from a page: an optional
// text field, a confirmation that states what will happen, the market call
// and its answer. Nothing reaches the market before the confirmation, and
// once it is asked for, nothing can ask twice.
package action

import (
	"context"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/components/textfield"
	"github.com/shopfile/shopfile/tui/keymap"
)

// Spec describes one action.
type Spec struct {
	Title string
	// Field, when Prompt is set: a text to type before confirming.
	Prompt      string
	Placeholder string
	Initial     string
	Suffix      string // after the field: " sats"
	Limit       int    // runes
	Hint        string // under the field
	// Confirm checks the text and returns the consequence to confirm, or
	// why the text will not do. It runs on the UI goroutine.
	Confirm func(text string) (string, error)
	Verb    string // "approve": the confirming key's help
	Working string // "approving…"
	// Run asks the market, off the UI goroutine, with the session's
	// context; it returns what to tell the user. It must capture values,
	// never the page.
	Run func(ctx context.Context, text string) (string, error)
}

type step int

const (
	closed step = iota
	typing
	confirming
	working
)

type doneMsg struct {
	from   *Model
	notice string
	err    error
}

// result says what happened: the market answered (Outcome says what),
// or the user cancelled.
type result struct {
	done      bool
	cancelled bool
}

// Model is one action at a time.
type Model struct {
	c      *common.Common
	dialog keymap.Dialog
	spec   Spec
	in     textfield.Model
	step   step
	body   string
	errMsg string
	// What the last action came to, until the next one opens: what it
	// did, or why the market refused it.
	notice  string
	failure string
}

// New returns a closed action.
func New(c *common.Common) *Model { return &Model{c: c, dialog: keymap.NewDialog()} }

// Open starts s: at its field, or at the confirmation.
func (m *Model) Open(s Spec) {
	m.spec, m.errMsg = s, ""
	m.notice, m.failure = "", ""
	if s.Prompt != "" {
		m.in = textfield.New(m.c.Styles, s.Prompt, s.Placeholder, s.Limit)
		m.in.SetValue(s.Initial)
		m.in.Focus()
		m.step = typing
		return
	}
	m.confirm("")
}

func (m *Model) confirm(text string) {
	body, err := m.spec.Confirm(text)
	if err != nil {
		m.errMsg = err.Error()
		return
	}
	m.body, m.errMsg, m.step = body, "", confirming
	m.in.Blur()
}

// Active reports whether the action is open.
func (m *Model) Active() bool { return m.step != closed }

// Typing reports whether its field has the keyboard.
func (m *Model) Typing() bool { return m.step == typing }

// Update handles keys while open and the market's answer, and reports
// whether the action took msg. Once the market answered, the command
// runs reload too, the page's, to show what the action changed.
func (m *Model) Update(msg tea.Msg, reload func() tea.Cmd) (tea.Cmd, bool) {
	cmd, res := m.update(msg)
	switch {
	case res.done:
		return tea.Batch(cmd, reload()), true
	case cmd != nil || res.cancelled:
		return cmd, true
	}
	return nil, false
}

func (m *Model) update(msg tea.Msg) (tea.Cmd, result) {
	switch msg := msg.(type) {
	case doneMsg:
		if msg.from != m || m.step != working {
			return nil, result{}
		}
		m.step = closed
		m.notice, m.failure = msg.notice, common.ErrText(msg.err)
		if msg.err != nil {
			m.notice = ""
		}
		return nil, result{done: true}
	case tea.KeyMsg:
		switch m.step {
		case typing:
			return m.typingKey(msg)
		case confirming:
			return m.confirmKey(msg)
		}
	}
	return nil, result{}
}

func (m *Model) typingKey(msg tea.KeyMsg) (tea.Cmd, result) {
	switch msg.Type {
	case tea.KeyEsc:
		m.step = closed
		return nil, result{cancelled: true}
	case tea.KeyEnter:
		m.confirm(m.in.Value())
		return nil, result{}
	}
	if m.in.Update(msg) {
		m.errMsg = ""
	}
	return nil, result{}
}

func (m *Model) confirmKey(msg tea.KeyMsg) (tea.Cmd, result) {
	switch {
	case key.Matches(msg, m.dialog.Confirm):
		m.step = working
		run, text := m.spec.Run, m.in.Value()
		return common.Load(m.c.Ctx, func(ctx context.Context) (string, error) {
			return run(ctx, text)
		}, func(notice string, err error) tea.Msg { return doneMsg{from: m, notice: notice, err: err} }), result{}
	case key.Matches(msg, m.dialog.Cancel):
		if m.spec.Prompt != "" {
			m.step = typing // back to the field, text kept
			m.in.Focus()
			return nil, result{}
		}
		m.step = closed
		return nil, result{cancelled: true}
	}
	return nil, result{}
}

// View renders the dialog in at most width cells.
func (m *Model) View(width int) string {
	st := m.c.Styles
	w := max(24, min(width, 96))
	inner := w - 4
	var body string
	switch m.step {
	case typing:
		m.in.Width = max(4, inner-common.Width(m.spec.Prompt)-common.Width(m.spec.Suffix)-2)
		body = m.in.View() + st.Muted.Render(m.spec.Suffix) + "\n"
		if m.errMsg != "" {
			body += st.Error.Render("✗ "+m.errMsg) + "\n"
		} else if m.spec.Hint != "" {
			body += st.Muted.Render(common.Wrap(m.spec.Hint, inner)) + "\n"
		}
		body += "\n" + st.Muted.Render("enter next · esc cancel")
	case confirming:
		back := "esc cancel"
		if m.spec.Prompt != "" {
			back = "esc go back"
		}
		body = common.Wrap(m.body, inner) + "\n\n" + st.Muted.Render("enter "+m.spec.Verb+" · "+back)
	case working:
		body = common.Wrap(m.body, inner) + "\n\n" + st.Muted.Render(m.spec.Working)
	}
	head := st.DialogTitle.Render(common.Truncate(m.spec.Title, inner))
	return st.Dialog.Width(w - 2).Render(head + "\n\n" + body)
}

// Outcome renders what the last action came to in width cells, or "".
func (m *Model) Outcome(width int) string {
	st := m.c.Styles
	switch {
	case m.failure != "":
		return st.Error.Render("✗ refused: ") + common.Wrap(m.failure, max(1, width-11))
	case m.notice != "":
		return st.OK.Render(common.Wrap(m.notice, width))
	}
	return ""
}

// ShortHelp lists the keys that work now.
func (m *Model) ShortHelp() []key.Binding {
	switch m.step {
	case typing:
		in := keymap.NewInput("next", "cancel")
		return []key.Binding{in.Submit, in.Cancel}
	case confirming:
		back := m.dialog.Cancel
		if m.spec.Prompt != "" {
			back.SetHelp("esc", "go back")
		}
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", m.spec.Verb)), back}
	}
	return nil
}
