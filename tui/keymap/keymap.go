// Package keymap holds every key binding of the TUI, with the help text the
// footer shows, so the keys listed are always the keys that work.
package keymap

import "github.com/charmbracelet/bubbles/key"

// bind is a binding of one key, its help naming that key.
func bind(k, desc string) key.Binding { return key.NewBinding(key.WithKeys(k), key.WithHelp(k, desc)) }

// refresh reloads a page's data.
func refresh() key.Binding { return bind("r", "refresh") }

// openShop opens the shop a page or its selected row is about.
func openShop() key.Binding { return bind("o", "open shop") }

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
		Quit:      bind("q", "quit"),
		ForceQuit: bind("ctrl+c", "quit"),
		Help:      bind("?", "more keys"),
		Back:      key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Tabs:      NewTabs(5),
		NextTab:   bind("tab", "next tab"),
		PrevTab:   bind("shift+tab", "previous tab"),
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

// Scroll moves a page taller than the screen.
type Scroll struct {
	Up   key.Binding
	Down key.Binding
}

// NewScroll returns the scroll keys: arrows and vim keys alike.
func NewScroll() Scroll {
	return Scroll{
		Up:   key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down: key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
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
		Open:    bind("enter", "open"),
		Search:  bind("/", "search"),
		Sort:    bind("s", "sort"),
		Clear:   bind("esc", "clear search"),
		Refresh: refresh(),
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
		Submit: bind("enter", submit),
		Cancel: bind("esc", cancel),
	}
}

// Shop is the shop page.
type Shop struct {
	Scroll
	Buy     key.Binding
	Reprice key.Binding
	Refresh key.Binding
}

// NewShop returns the shop page keys.
func NewShop() Shop {
	return Shop{
		Scroll:  NewScroll(),
		Buy:     bind("b", "buy"),
		Reprice: bind("e", "reprice"),
		Refresh: refresh(),
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
		Confirm: bind("enter", "confirm"),
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
		Open:    bind("o", "open"),
		Refresh: refresh(),
	}
}

// Wallet is the wallet page.
type Wallet struct {
	Scroll
	Refresh  key.Binding
	Withdraw key.Binding
	Payouts  key.Binding // switches the list between history and payouts
}

// NewWallet returns the wallet keys.
func NewWallet() Wallet {
	return Wallet{
		Scroll:   NewScroll(),
		Refresh:  refresh(),
		Withdraw: bind("w", "withdraw"),
		Payouts:  bind("p", "payouts/history"),
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
		Review: bind("enter", "review"),
		Cancel: bind("esc", "cancel"),
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
		Show:    bind("enter", "how to get it"),
		Open:    openShop(),
		Refresh: refresh(),
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
		Review:  bind("enter", "review"),
		Refresh: refresh(),
	}
}

// Review is the review page of one match.
type Review struct {
	Scroll
	Approve key.Binding
	Dismiss key.Binding
	Open    key.Binding
	Refresh key.Binding
}

// NewReview returns the review keys.
func NewReview() Review {
	return Review{
		Scroll:  NewScroll(),
		Approve: bind("a", "approve"),
		Dismiss: bind("d", "dismiss"),
		Open:    openShop(),
		Refresh: refresh(),
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
		Show:    bind("enter", "claim & history"),
		Refresh: refresh(),
	}
}

// Claim is one claim's page.
type Claim struct {
	Scroll
	Dispute key.Binding
	Uphold  key.Binding
	Reverse key.Binding
	Open    key.Binding
	Refresh key.Binding
}

// NewClaim returns the claim page keys.
func NewClaim() Claim {
	return Claim{
		Scroll:  NewScroll(),
		Dispute: bind("x", "dispute"),
		Uphold:  bind("u", "uphold"),
		Reverse: bind("v", "reverse"),
		Open:    openShop(),
		Refresh: refresh(),
	}
}
