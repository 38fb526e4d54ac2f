package common

import (
	"fmt"
	"strings"

	"github.com/shopfile/shopfile/tui/styles"
)

// Scroll shows the part of s starting at line *off that fits height. When
// s is taller, the last line says where the view is and *off is clamped,
// so a page never loses content to a small terminal.
func Scroll(st *styles.Styles, s string, width, height int, off *int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= height || height < 2 {
		*off = 0
		return Block(s, width, height)
	}
	h := height - 1
	*off = min(max(0, *off), len(lines)-h)
	end := *off + h
	more := fmt.Sprintf("── lines %d–%d of %d · ↑/↓ scroll ──", *off+1, end, len(lines))
	return Block(strings.Join(lines[*off:end], "\n"), width, h) + "\n" + Truncate(st.Muted.Render(more), width)
}

// Scrollable reports whether s needs scrolling in height lines.
func Scrollable(s string, height int) bool { return strings.Count(s, "\n")+1 > height }

// OverDialog shows a dialog under the head of the page it acts on, or
// alone when both do not fit in height lines: the dialog's own question
// and keys must never be cut off.
func OverDialog(head, dialog string, height int) string {
	if strings.Count(head, "\n")+1+1+strings.Count(dialog, "\n")+1 > height {
		return dialog
	}
	return head + "\n\n" + dialog
}
