package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/tui/common"
)

// eventMsg is one market event, with the channel to keep listening on.
type eventMsg struct {
	e  market.Event
	ch <-chan market.Event
}

type balanceMsg struct {
	seq  int
	sats int64
	err  error
}

type idleMsg struct{}

// subscribe listens to the market's events for as long as the session
// lives. The subscription is dropped when the session's context ends,
// however the program stopped.
func (a *app) subscribe() tea.Cmd {
	ch, unsubscribe := a.c.Market.Events().Subscribe()
	context.AfterFunc(a.c.Ctx, unsubscribe)
	return listen(a.c.Ctx, ch)
}

// listen waits for one event; it costs nothing while the shop is quiet.
func listen(ctx context.Context, ch <-chan market.Event) tea.Cmd {
	return func() tea.Msg {
		select {
		case e := <-ch:
			return eventMsg{e: e, ch: ch}
		case <-ctx.Done():
			return nil
		}
	}
}

func (a *app) event(msg eventMsg) tea.Cmd {
	next := listen(a.c.Ctx, msg.ch)
	switch msg.e.Kind {
	case market.ShopChanged:
		return tea.Batch(next, a.broadcast(common.ShopChangedMsg{ID: msg.e.Shop}))
	case market.WalletChanged:
		if msg.e.Account == a.c.Actor.ID {
			return tea.Batch(next, a.loadBalance(), a.broadcast(common.WalletChangedMsg{}))
		}
	}
	return next
}

func (a *app) loadBalance() tea.Cmd {
	a.balanceSeq++
	seq, mk, actor := a.balanceSeq, a.c.Market, a.c.Actor
	return common.Load(a.c.Ctx, func(ctx context.Context) (int64, error) {
		return mk.Balance(ctx, actor)
	}, func(n int64, err error) tea.Msg { return balanceMsg{seq: seq, sats: n, err: err} })
}

func (a *app) gotBalance(msg balanceMsg) {
	if msg.seq != a.balanceSeq {
		return // an older answer than one already asked for
	}
	if msg.err != nil {
		a.balanceErr = !a.balanceOK
		return
	}
	a.balance, a.balanceOK, a.balanceErr = msg.sats, true, false
}

// idleLead is how long before the idle end the warning shows: a minute,
// or half the idle time when that is shorter.
func idleLead(idle time.Duration) time.Duration { return min(time.Minute, idle/2) }

// armIdle schedules the next idle check. One timer is pending at a time:
// a key press does not start a new one, the check re-arms itself from
// the last key press instead.
func (a *app) armIdle() tea.Cmd {
	if a.s.Idle <= 0 {
		return nil
	}
	at := a.lastKey.Add(a.s.Idle - idleLead(a.s.Idle))
	if a.idleWarned {
		at = a.lastKey.Add(a.s.Idle)
	}
	return common.After(a.c.Ctx, max(time.Until(at), time.Millisecond), idleMsg{})
}

func (a *app) idle() tea.Cmd {
	quiet := time.Since(a.lastKey)
	switch {
	case quiet >= a.s.Idle:
		return a.end("closed after " + a.s.Idle.String() + " without a key press — ssh in again any time")
	case quiet >= a.s.Idle-idleLead(a.s.Idle):
		a.idleWarned = true
	}
	return a.armIdle()
}
