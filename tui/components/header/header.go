// Package header draws the top of every screen: the shop's name, whose
// session it is, the live balance, and the tabs with their hotkeys.
package header

import (
	"fmt"
	"strings"

	"github.com/shopfile/shopfile/tui/common"
	"github.com/shopfile/shopfile/tui/styles"
)

// Height is the number of lines the header takes.
const Height = 3

// Tab is one tab's label in two lengths.
type Tab struct {
	Name  string
	Short string
}

// Model is the header's state; the app owns the values it shows.
type Model struct {
	st      *styles.Styles
	Account string
	Balance string // "" while loading
	Tabs    []Tab
	Active  int
	Width   int
}

// New returns a header for account.
func New(st *styles.Styles, account string, tabs []Tab) Model {
	return Model{st: st, Account: account, Tabs: tabs}
}

// View renders the three header lines.
func (m Model) View() string {
	return m.top() + "\n" + m.tabs() + "\n" + m.st.Rule.Render(strings.Repeat("─", max(0, m.Width)))
}

// top puts brand and account left, balance right, dropping the account
// first when the terminal is narrow.
func (m Model) top() string {
	bal := m.Balance
	if bal == "" {
		bal = "balance …"
	}
	right := m.st.Balance.Render(bal)
	brand := m.st.Brand.Render("shopfile")
	left := brand + m.st.Account.Render(" · "+common.ShortID(m.Account))
	if common.Width(left)+common.Width(right)+1 > m.Width {
		left = brand
	}
	gap := m.Width - common.Width(left) - common.Width(right)
	if gap < 1 {
		return common.Truncate(left+" "+right, m.Width)
	}
	return left + strings.Repeat(" ", gap) + right
}

// tabs renders the tab bar in the longest form that fits. The active tab
// is bracketed, so it shows without colour too.
func (m Model) tabs() string {
	for _, form := range []func(i int, t Tab) string{
		func(i int, t Tab) string { return fmt.Sprintf("%d %s", i+1, t.Name) },
		func(i int, t Tab) string { return fmt.Sprintf("%d %s", i+1, t.Short) },
		func(i int, t Tab) string {
			if i == m.Active {
				return fmt.Sprintf("%d %s", i+1, t.Short)
			}
			return fmt.Sprint(i + 1)
		},
	} {
		if s := m.tabLine(form); common.Width(s) <= m.Width {
			return s
		}
	}
	return common.Truncate(m.tabLine(func(i int, _ Tab) string { return fmt.Sprint(i + 1) }), m.Width)
}

func (m Model) tabLine(label func(int, Tab) string) string {
	parts := make([]string, len(m.Tabs))
	for i, t := range m.Tabs {
		if i == m.Active {
			parts[i] = m.st.TabActive.Render("[" + label(i, t) + "]")
			continue
		}
		parts[i] = m.st.Tab.Render(" " + label(i, t) + " ")
	}
	return strings.Join(parts, " ")
}
