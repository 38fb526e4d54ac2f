package header

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/styles"
)

func TestTabsFitEveryWidth(t *testing.T) {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	tabs := []Tab{{"Browse", "Browse"}, {"My shops", "Mine"}, {"Wallet", "Wallet"}, {"Library", "Lib"}, {"Help", "Help"}}
	m := New(styles.New(r), "SHA256:abcdefghijklmnopqrstuvwxyz", tabs)
	m.Active, m.Balance = 2, "balance 1,000 sats"
	for _, w := range []int{40, 45, 60, 100} {
		m.Width = w
		for i, l := range strings.Split(m.View(), "\n") {
			if common.Width(l) > w {
				t.Errorf("width %d: line %d is %d wide: %q", w, i, common.Width(l), l)
			}
		}
		if !strings.Contains(m.View(), "[3 ") {
			t.Errorf("width %d: the active tab is not bracketed:\n%s", w, m.View())
		}
		if !strings.Contains(m.View(), "balance 1,000 sats") {
			t.Errorf("width %d: no balance:\n%s", w, m.View())
		}
	}
}
