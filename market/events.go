package market

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
)

// EventKind says what changed.
type EventKind int

// Event kinds.
const (
	ShopChanged   EventKind = iota + 1 // price, payee or claim state of a shop
	WalletChanged                      // an account's balance moved
)

// Event tells open sessions that something they may show has changed.
type Event struct {
	Kind    EventKind `json:"k"`
	Shop    string    `json:"s,omitempty"` // ShopChanged
	Account string    `json:"a,omitempty"` // WalletChanged
}

// Hub fans events out to subscribers. A slow subscriber misses events
// rather than slowing the market: sends never block. Connected to a Relay
// (several servers on one database), it also sends its events to the
// other servers and delivers theirs to its own subscribers.
type Hub struct {
	mu     sync.Mutex
	subs   map[chan Event]struct{}
	origin string     // this hub's id in relayed messages
	out    chan Event // to the relay; nil when not connected
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Hub{subs: map[chan Event]struct{}{}, origin: hex.EncodeToString(b[:])}
}

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

// Publish sends e to every subscriber that has room for it, and to the
// other servers when the hub is connected to a relay.
func (h *Hub) Publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deliverLocked(e)
	if h.out != nil {
		select {
		case h.out <- e:
		default: // the relay is behind: the other servers miss this one
		}
	}
}

func (h *Hub) deliverLocked(e Event) {
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

// Relay carries messages between the servers of one shop (PostgreSQL
// NOTIFY and LISTEN: *sqlstore.DB implements it).
type Relay interface {
	// Notify sends payload to every server listening on channel.
	Notify(ctx context.Context, channel, payload string) error
	// Listen calls fn with each payload sent on channel until ctx ends;
	// ready is called each time it starts listening.
	Listen(ctx context.Context, channel string, ready func(), fn func(payload string)) error
}

// relayChannel is the channel events travel on.
const relayChannel = "shopfile_events"

// relayMax bounds a relayed message (PostgreSQL's NOTIFY payload limit is
// 8000 bytes).
const relayMax = 7000

// relayed is one message: events of one origin.
type relayed struct {
	Origin string  `json:"o"`
	Events []Event `json:"e"`
}

// Connect relays the hub's events through r until ctx ends: what this
// server publishes goes to the others (batched, in the background: a
// purchase never waits for it), and what the others publish reaches this
// server's subscribers once (a server ignores its own messages, which it
// already delivered). It returns once the hub listens (or after
// connectWait, and the relay keeps trying). Events are hints
// to refresh a screen: one lost while a connection is down is not
// resent.
func (h *Hub) Connect(ctx context.Context, r Relay) {
	out := make(chan Event, 4096)
	h.mu.Lock()
	h.out = out
	h.mu.Unlock()
	ready := make(chan struct{})
	var once sync.Once
	go func() {
		_ = r.Listen(ctx, relayChannel, func() { once.Do(func() { close(ready) }) }, h.receive)
	}()
	go h.send(ctx, r, out)
	t := time.NewTimer(connectWait)
	defer t.Stop()
	select {
	case <-ready:
	case <-ctx.Done():
	case <-t.C: // the database is slow to answer: listen when it does
	}
}

// connectWait bounds how long Connect waits for the relay to listen.
const connectWait = 10 * time.Second

// receive delivers another server's events.
func (h *Hub) receive(payload string) {
	var m relayed
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.Origin == h.origin {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range m.Events {
		h.deliverLocked(e)
	}
}

// send notifies the other servers of this hub's events, as many per
// message as fit.
func (h *Hub) send(ctx context.Context, r Relay, out chan Event) {
	defer func() {
		h.mu.Lock()
		h.out = nil
		h.mu.Unlock()
	}()
	for {
		var first Event
		select {
		case <-ctx.Done():
			return
		case first = <-out:
		}
		m := relayed{Origin: h.origin, Events: []Event{first}}
		size := 64
	drain:
		for size < relayMax && len(m.Events) < 256 {
			select {
			case e := <-out:
				m.Events = append(m.Events, e)
				size += 24 + len(e.Shop) + len(e.Account)
			default:
				break drain
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			continue
		}
		_ = r.Notify(ctx, relayChannel, string(b)) // lost if the database is away: a hint only
	}
}
