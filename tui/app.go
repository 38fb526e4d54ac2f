package tui

import (
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
)

// New builds the root model for one session.
func New(m *market.Market, s Session) tea.Model {
	return &app{m: m, s: s}
}

type app struct {
	m *market.Market
	s Session
}

func (a *app) Init() tea.Cmd { return nil }

func (a *app) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if msg.String() == "q" || msg.String() == "ctrl+c" {
			return a, tea.Quit
		}
	case ShutdownMsg:
		return a, tea.Quit
	}
	return a, nil
}

func (a *app) View() string { return "shopfile — " + a.s.Actor.ID + "\n\nq quit\n" }
