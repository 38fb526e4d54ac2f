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
	// notify: the load followed a change to some wallets, perhaps this
	// one; if the balance moved, the pages are told.
	notify bool
}

type idleMsg struct{}

// partyMsg answers loadParty: how many claims the account is party to
// (-1: not asked) and, at the start, the shops it uploaded or is paid for.
type partyMsg struct {
	claims  int
	mine    []string
	mineAll bool
	start   bool
	err     error
}

// mineLimit bounds the shop ids a session holds; beyond it every shop
// change is treated as possibly the account's.
const mineLimit = 500

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
		mine := a.mineAll || a.mine[msg.e.Shop]
		cmds := []tea.Cmd{next, a.broadcast(common.ShopChangedMsg{ID: msg.e.Shop, Mine: mine})}
		if mine && !a.claimsShown { // perhaps a claim on one of your uploads
			cmds = append(cmds, a.loadParty(false))
		}
		return tea.Batch(cmds...)
	case market.WalletChanged:
		switch msg.e.Account {
		case a.c.Actor.ID:
			return tea.Batch(next, a.loadBalance(false), a.broadcast(common.WalletChangedMsg{}))
		case "": // some wallets moved (a resolved claim's escrow, a deposit): maybe yours
			return tea.Batch(next, a.loadBalance(true))
		}
	}
	return next
}

// loadParty asks whether the account is party to any claim, to show the
// Claims tab; at the start it also learns which shops are the account's.
func (a *app) loadParty(start bool) tea.Cmd {
	if !start && a.claimsShown {
		return nil
	}
	mk, actor, probe := a.c.Market, a.c.Actor, !a.claimsShown
	return common.Load(a.c.Ctx, func(ctx context.Context) (partyMsg, error) {
		p := partyMsg{claims: -1, start: start}
		if probe {
			cs, err := mk.Claims(ctx, actor)
			if err != nil {
				return p, err
			}
			p.claims = len(cs)
		}
		if start {
			page, err := mk.List(ctx, actor, market.ListQuery{Mine: true, Limit: mineLimit})
			if err != nil {
				return p, err
			}
			for _, s := range page.Shops {
				p.mine = append(p.mine, s.ID)
			}
			p.mineAll = page.Total > len(page.Shops)
		}
		return p, nil
	}, func(p partyMsg, err error) tea.Msg {
		p.err = err
		return p
	})
}

func (a *app) gotParty(p partyMsg) tea.Cmd {
	if p.err != nil {
		if p.start {
			a.mineAll = true // unknown: treat every change as possibly yours
		}
		return nil
	}
	if p.start {
		a.mine = make(map[string]bool, len(p.mine))
		for _, id := range p.mine {
			a.mine[id] = true
		}
		a.mineAll = p.mineAll
	}
	if p.claims > 0 {
		return a.showClaims()
	}
	return nil
}

func (a *app) loadBalance(notify bool) tea.Cmd {
	a.balanceSeq++
	seq, mk, actor := a.balanceSeq, a.c.Market, a.c.Actor
	return common.Load(a.c.Ctx, func(ctx context.Context) (int64, error) {
		return mk.Balance(ctx, actor)
	}, func(n int64, err error) tea.Msg { return balanceMsg{seq: seq, sats: n, err: err, notify: notify} })
}

// gotBalance shows a fresh balance. After a change to unnamed wallets (a
// deposit credited), a balance that moved means this wallet was one of
// them: the pages showing it reload.
func (a *app) gotBalance(msg balanceMsg) tea.Cmd {
	if msg.seq != a.balanceSeq {
		return nil // an older answer than one already asked for
	}
	if msg.err != nil {
		a.balanceErr = !a.balanceOK
		return nil
	}
	moved := a.balanceOK && msg.sats != a.balance
	a.balance, a.balanceOK, a.balanceErr = msg.sats, true, false
	if msg.notify && moved {
		return a.broadcast(common.WalletChangedMsg{})
	}
	return nil
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
