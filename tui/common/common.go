// Package common holds what every page of the TUI shares: the session's
// market handle, styles and context, the Page interface, the messages pages
// send each other, and helpers that keep every command tied to the session.
package common

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui/styles"
)

// Common is one session's shared state. Pages keep a pointer to it.
type Common struct {
	Ctx    context.Context // the session's: every blocking call takes it
	Market *market.Market
	Actor  *store.Account
	Styles *styles.Styles
	Dial   string // "ssh -p 2222 shop.example", the prefix of commands shown
}

// Page is one screen of the TUI. Pages are pointers updated in place.
type Page interface {
	// Init loads the page's data the first time it is shown.
	Init() tea.Cmd
	// Activate refreshes the page when it is shown again.
	Activate() tea.Cmd
	Update(msg tea.Msg) tea.Cmd
	View() string
	// SetSize gives the page its body; a page may refetch for a new size.
	SetSize(width, height int) tea.Cmd
	// Typing reports a focused text input: keys are text, so global keys
	// like q and 1–5 must reach the page instead.
	Typing() bool
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
}

// OpenShopMsg asks the app to open a shop page over the current tab.
type OpenShopMsg struct{ ID string }

// BackMsg asks the app to close the page on top of the current tab.
type BackMsg struct{}

// ShopChangedMsg says a shop's price, payee, claim or sales changed. Mine
// says the shop is (or may be) one the session's account uploaded or is
// paid for, so a claim on it concerns the session.
type ShopChangedMsg struct {
	ID   string
	Mine bool
}

// PushMsg asks the app to show a page over the current tab (a review, a
// claim); esc on it sends BackMsg and the page under it shows again.
type PushMsg struct{ Page Page }

// WalletChangedMsg says this session's balance moved.
type WalletChangedMsg struct{}

// BalanceMsg carries a fresh balance for the header.
type BalanceMsg struct{ Sats int64 }

// Back is a command sending BackMsg.
func Back() tea.Msg { return BackMsg{} }

// Open is a command opening a shop page.
func Open(id string) tea.Cmd { return func() tea.Msg { return OpenShopMsg{ID: id} } }

// Push is a command showing p over the current tab.
func Push(p Page) tea.Cmd { return func() tea.Msg { return PushMsg{Page: p} } }

// After delivers msg after d, or nothing once the session ends: unlike
// tea.Tick its goroutine never outlives the session.
func After(ctx context.Context, d time.Duration, msg tea.Msg) tea.Cmd {
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return msg
		case <-ctx.Done():
			return nil
		}
	}
}

// Load runs fn with the session's context off the UI goroutine and wraps
// its result in a message. fn must honour ctx, as every market call does,
// so the command returns when the session ends.
func Load[T any](ctx context.Context, fn func(context.Context) (T, error), wrap func(T, error) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		if ctx.Err() != nil {
			return nil
		}
		v, err := fn(ctx)
		if ctx.Err() != nil {
			return nil // nobody is left to show it
		}
		return wrap(v, err)
	}
}
