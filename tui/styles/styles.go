// Package styles builds every style the TUI uses from the session's own
// renderer, so colours follow the client's terminal, never the server's.
package styles

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Styles is the TUI's whole look. Colour is only ever a second cue: every
// state it marks is also shown by a glyph or a word, so the TUI is fully
// usable on a terminal without colour.
type Styles struct {
	Renderer *lipgloss.Renderer

	Brand     lipgloss.Style
	Account   lipgloss.Style
	Balance   lipgloss.Style
	TabActive lipgloss.Style
	Tab       lipgloss.Style
	Rule      lipgloss.Style

	Title    lipgloss.Style
	Label    lipgloss.Style
	Value    lipgloss.Style
	Muted    lipgloss.Style
	Price    lipgloss.Style
	Selected lipgloss.Style
	Row      lipgloss.Style
	Command  lipgloss.Style

	OK    lipgloss.Style
	Warn  lipgloss.Style
	Error lipgloss.Style
	Info  lipgloss.Style

	Dialog      lipgloss.Style
	DialogTitle lipgloss.Style

	InputPrompt      lipgloss.Style
	InputText        lipgloss.Style
	InputPlaceholder lipgloss.Style
	InputCursor      lipgloss.Style

	// Help overrides bubbles/help's defaults, which are built on the
	// global renderer (the server's stdout).
	Help help.Styles
}

// palette holds adaptive colour pairs that read on light and dark
// backgrounds alike.
type palette struct {
	accent, subtle, faint, green, yellow, red, blue lipgloss.AdaptiveColor
}

func defaultPalette() palette {
	return palette{
		accent: lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#A48BFF"},
		subtle: lipgloss.AdaptiveColor{Light: "#6C6C6C", Dark: "#949494"},
		faint:  lipgloss.AdaptiveColor{Light: "#B0B0B0", Dark: "#585858"},
		green:  lipgloss.AdaptiveColor{Light: "#1B7F3B", Dark: "#5FD787"},
		yellow: lipgloss.AdaptiveColor{Light: "#8A6100", Dark: "#FFD75F"},
		red:    lipgloss.AdaptiveColor{Light: "#B00020", Dark: "#FF5F87"},
		blue:   lipgloss.AdaptiveColor{Light: "#0B5CAD", Dark: "#5FAFFF"},
	}
}

// New builds every style from r, the session's renderer. It is the only
// constructor of styles in the TUI.
func New(r *lipgloss.Renderer) *Styles {
	p := defaultPalette()
	s := &Styles{Renderer: r}
	s.chrome(r, p)
	s.content(r, p)
	s.status(r, p)
	s.inputs(r, p)
	s.help(r, p)
	return s
}

func (s *Styles) chrome(r *lipgloss.Renderer, p palette) {
	s.Brand = r.NewStyle().Bold(true).Foreground(p.accent)
	s.Account = r.NewStyle().Foreground(p.subtle)
	s.Balance = r.NewStyle().Bold(true).Foreground(p.green)
	s.TabActive = r.NewStyle().Bold(true).Reverse(true).Foreground(p.accent)
	s.Tab = r.NewStyle().Foreground(p.subtle)
	s.Rule = r.NewStyle().Foreground(p.faint)
	s.Dialog = r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(p.accent).Padding(0, 1)
	s.DialogTitle = r.NewStyle().Bold(true).Foreground(p.accent)
}

func (s *Styles) content(r *lipgloss.Renderer, p palette) {
	s.Title = r.NewStyle().Bold(true).Foreground(p.accent)
	s.Label = r.NewStyle().Foreground(p.subtle)
	s.Value = r.NewStyle()
	s.Muted = r.NewStyle().Foreground(p.subtle)
	s.Price = r.NewStyle().Foreground(p.green)
	s.Selected = r.NewStyle().Bold(true).Reverse(true)
	s.Row = r.NewStyle()
	s.Command = r.NewStyle().Foreground(p.blue)
}

func (s *Styles) status(r *lipgloss.Renderer, p palette) {
	s.OK = r.NewStyle().Bold(true).Foreground(p.green)
	s.Warn = r.NewStyle().Bold(true).Foreground(p.yellow)
	s.Error = r.NewStyle().Bold(true).Foreground(p.red)
	s.Info = r.NewStyle().Foreground(p.blue)
}

func (s *Styles) inputs(r *lipgloss.Renderer, p palette) {
	s.InputPrompt = r.NewStyle().Bold(true).Foreground(p.accent)
	s.InputText = r.NewStyle()
	s.InputPlaceholder = r.NewStyle().Foreground(p.subtle)
	s.InputCursor = r.NewStyle().Reverse(true)
}

func (s *Styles) help(r *lipgloss.Renderer, p palette) {
	s.Help = help.Styles{
		Ellipsis:       r.NewStyle().Foreground(p.faint),
		ShortKey:       r.NewStyle().Bold(true).Foreground(p.subtle),
		ShortDesc:      r.NewStyle().Foreground(p.subtle),
		ShortSeparator: r.NewStyle().Foreground(p.faint),
		FullKey:        r.NewStyle().Bold(true).Foreground(p.subtle),
		FullDesc:       r.NewStyle().Foreground(p.subtle),
		FullSeparator:  r.NewStyle().Foreground(p.faint),
	}
}
