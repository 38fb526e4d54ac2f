package ssh

import (
	"bytes"
	"io"
	"strconv"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// drawer draws a model's view after each update in which it changed,
// rewriting only the lines that differ. Bubble Tea v1's own renderer wakes
// on a ticker (60 times a second by default) even when nothing changes;
// over SSH that costs every idle session ~1 ms of CPU per second, and a
// session must cost nearly nothing while its user reads. Drawing on change
// also shows a key press at once instead of at the next tick.
type drawer struct {
	inner  tea.Model
	w      io.Writer
	width  int
	height int
	shown  []string // lines on the client's screen; nil: unknown, clear first
	buf    bytes.Buffer
}

func newDrawer(inner tea.Model, w io.Writer, width, height int) *drawer {
	return &drawer{inner: inner, w: w, width: width, height: height}
}

// Enter/leave the alternate screen with the cursor hidden, as Bubble Tea's
// renderer would.
const (
	enterScreen = "\x1b[?1049h\x1b[?25l"
	leaveScreen = "\x1b[?25h\x1b[?1049l"
)

func (d *drawer) Init() tea.Cmd {
	_, _ = io.WriteString(d.w, enterScreen)
	cmd := d.inner.Init()
	d.draw()
	return cmd
}

func (d *drawer) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		d.width, d.height = ws.Width, ws.Height
		d.shown = nil
	}
	m, cmd := d.inner.Update(msg)
	d.inner = m
	d.draw()
	return d, cmd
}

// View is empty: the program runs without its own renderer.
func (d *drawer) View() string { return "" }

func (d *drawer) draw() {
	lines := d.frame(d.inner.View())
	d.buf.Reset()
	if d.shown == nil {
		d.buf.WriteString("\x1b[H\x1b[2J")
	}
	for i, l := range lines {
		if d.shown != nil && i < len(d.shown) && d.shown[i] == l {
			continue
		}
		d.moveTo(i)
		d.buf.WriteString(l)
		d.buf.WriteString("\x1b[K")
	}
	for i := len(lines); i < len(d.shown); i++ {
		d.moveTo(i)
		d.buf.WriteString("\x1b[K")
	}
	d.shown = lines
	if d.buf.Len() == 0 {
		return
	}
	_, _ = d.w.Write(d.buf.Bytes())
}

func (d *drawer) moveTo(row int) {
	d.buf.WriteString("\x1b[")
	d.buf.WriteString(strconv.Itoa(row + 1))
	d.buf.WriteString(";1H")
}

// frame cuts a view to the window, so a long line never wraps and scrolls
// the screen.
func (d *drawer) frame(view string) []string {
	lines := strings.Split(strings.ReplaceAll(view, "\r\n", "\n"), "\n")
	if d.height > 0 && len(lines) > d.height {
		lines = lines[:d.height]
	}
	if d.width > 0 {
		for i, l := range lines {
			if ansi.StringWidth(l) > d.width {
				lines[i] = ansi.Truncate(l, d.width, "")
			}
		}
	}
	return lines
}
