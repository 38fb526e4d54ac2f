// Package tui is the shop's terminal UI, one Bubble Tea program per SSH
// session. It is the second face of the market API: everything it does it
// asks market/ to do, and it never touches SQL.
package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/shopfile/shopfile/store"
)

// Session is what the TUI gets from its SSH session.
type Session struct {
	Ctx      context.Context // ends when the channel closes or the server stops
	Actor    *store.Account
	Renderer *lipgloss.Renderer // one per session: every style is built from it
	Width    int
	Height   int
	Dial     string          // "ssh -p 2222 shop.example", for commands shown to the user
	Stop     <-chan struct{} // closed when the server shuts down
	// Idle ends the session after this long without a key press (output
	// alone keeps an SSH connection alive, so the server's idle timeout
	// cannot). Zero: never.
	Idle time.Duration
}

// ShutdownMsg tells the TUI that the server is stopping.
type ShutdownMsg struct{}
