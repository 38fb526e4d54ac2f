package market

import "sync"

// EventKind says what changed.
type EventKind int

// Event kinds.
const (
	ShopChanged   EventKind = iota + 1 // price, payee or claim state of a shop
	WalletChanged                      // an account's balance moved
)

// Event tells open sessions that something they may show has changed.
type Event struct {
	Kind    EventKind
	Shop    string // ShopChanged
	Account string // WalletChanged
}

// Hub fans events out to subscribers. A slow subscriber misses events
// rather than slowing the market: sends never block.
type Hub struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan Event]struct{}{}} }

// Subscribe returns a channel of events and a func that unsubscribes; call
// it when the session ends.
func (h *Hub) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 16)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, ch)
			h.mu.Unlock()
		})
	}
}

// Publish sends e to every subscriber that has room for it.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// Subscribers counts open subscriptions (tests check nothing leaks).
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
