// Package keymap holds every key binding of the TUI, with the help text the
// footer shows, so the keys listed are always the keys that work.
package keymap

import "github.com/charmbracelet/bubbles/key"

// Global keys work on every page unless a text input has focus.
type Global struct {
	Quit      key.Binding
	ForceQuit key.Binding // works even while typing
	Help      key.Binding
	Back      key.Binding
	Tabs      key.Binding // 1–N: one key per tab shown
	NextTab   key.Binding
	PrevTab   key.Binding
}

// NewGlobal returns the global keys. ctrl+z is deliberately never bound:
// suspending would stop the server process, not the client.
func NewGlobal() Global {
	return Global{
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
		Back:      key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Tabs:      NewTabs(5),
		NextTab:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next tab")),
		PrevTab:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous tab")),
	}
}

// NewTabs returns the tab keys for n tabs shown (at most 9): the numbers
// in the header are the keys that work.
func NewTabs(n int) key.Binding {
	n = min(max(n, 1), 9)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = string(rune('1' + i))
	}
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp("1-"+keys[n-1], "tabs"))
}

// List moves through a paged list.
type List struct {
	Up       key.Binding
	Down     key.Binding
	PrevPage key.Binding
	NextPage key.Binding
	First    key.Binding
	Last     key.Binding
}

// NewList returns the list keys: arrows and vim keys alike.
func NewList() List {
	return List{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PrevPage: key.NewBinding(key.WithKeys("left", "h", "pgup"), key.WithHelp("←/pgup", "prev page")),
		NextPage: key.NewBinding(key.WithKeys("right", "l", "pgdown"), key.WithHelp("→/pgdn", "next page")),
		First:    key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		Last:     key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
	}
}

// Browse is the catalogue page.
type Browse struct {
	Open    key.Binding
	Search  key.Binding
	Sort    key.Binding
	Clear   key.Binding
	Refresh key.Binding
}

// NewBrowse returns the catalogue keys.
func NewBrowse() Browse {
	return Browse{
		Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Search:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		Sort:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Clear:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear search")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}

// Input is a focused text input.
type Input struct {
	Submit key.Binding
	Cancel key.Binding
}

// NewInput returns the keys of a focused input; everything else is text.
func NewInput(submit, cancel string) Input {
	return Input{
		Submit: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", submit)),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", cancel)),
	}
}

// Shop is the shop page.
type Shop struct {
	Up      key.Binding
	Down    key.Binding
	Buy     key.Binding
	Reprice key.Binding
	Refresh key.Binding
}

// NewShop returns the shop page keys.
func NewShop() Shop {
	return Shop{
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
		Buy:     key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "buy")),
		Reprice: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "reprice")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}

// Dialog is a confirmation.
type Dialog struct {
	Confirm key.Binding
	Cancel  key.Binding
	Close   key.Binding
}

// NewDialog returns the confirmation keys.
func NewDialog() Dialog {
	return Dialog{
		Confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Cancel:  key.NewBinding(key.WithKeys("esc", "backspace", "n"), key.WithHelp("esc", "cancel")),
		Close:   key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "close")),
	}
}

// Mine is the seller's page.
type Mine struct {
	Reprice key.Binding
	Open    key.Binding
	Refresh key.Binding
}

// NewMine returns the seller's keys.
func NewMine() Mine {
	return Mine{
		Reprice: key.NewBinding(key.WithKeys("e", "enter"), key.WithHelp("e/enter", "reprice")),
		Open:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}

// Wallet is the wallet page.
type Wallet struct {
	Up       key.Binding
	Down     key.Binding
	Refresh  key.Binding
	Withdraw key.Binding
	Payouts  key.Binding // switches the list between history and payouts
}

// NewWallet returns the wallet keys.
func NewWallet() Wallet {
	return Wallet{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
		Refresh:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Withdraw: key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "withdraw")),
		Payouts:  key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "payouts/history")),
	}
}

// Withdraw is the withdraw form: two fields, then a confirmation
// (Dialog's keys).
type Withdraw struct {
	Next   key.Binding
	Prev   key.Binding
	Review key.Binding
	Cancel key.Binding
}

// NewWithdraw returns the form's keys; everything else is text.
func NewWithdraw() Withdraw {
	return Withdraw{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next field")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "previous field")),
		Review: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "review")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// Library is the buyer's page.
type Library struct {
	Show    key.Binding
	Open    key.Binding
	Refresh key.Binding
}

// NewLibrary returns the library keys.
func NewLibrary() Library {
	return Library{
		Show:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "how to get it")),
		Open:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open shop")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}

// Rights is the rights holder's queue of matches.
type Rights struct {
	Review  key.Binding
	Refresh key.Binding
}

// NewRights returns the queue's keys.
func NewRights() Rights {
	return Rights{
		Review:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "review")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}

// Review is the review page of one match.
type Review struct {
	Up      key.Binding
	Down    key.Binding
	Approve key.Binding
	Dismiss key.Binding
	Open    key.Binding
	Refresh key.Binding
}

// NewReview returns the review keys.
func NewReview() Review {
	return Review{
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
		Approve: key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve")),
		Dismiss: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "dismiss")),
		Open:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open shop")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}

// Claims is the list of claims.
type Claims struct {
	Show    key.Binding
	Refresh key.Binding
}

// NewClaims returns the claims list keys.
func NewClaims() Claims {
	return Claims{
		Show:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "claim & history")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}

// Claim is one claim's page.
type Claim struct {
	Up      key.Binding
	Down    key.Binding
	Dispute key.Binding
	Uphold  key.Binding
	Reverse key.Binding
	Open    key.Binding
	Refresh key.Binding
}

// NewClaim returns the claim page keys.
func NewClaim() Claim {
	return Claim{
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
		Dispute: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "dispute")),
		Uphold:  key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "uphold")),
		Reverse: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "reverse")),
		Open:    key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open shop")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
	}
}
