package market_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
)

// Two servers on one database (PostgreSQL; on SQLite each server is
// alone and the relay is a no-op): an event published on one reaches
// the other's subscribers, once, and the publisher's own subscribers
// exactly once too.
func TestClaimApprovedOnOneServerReachesSessionsOnTheOther(t *testing.T) {
	if markettest.Driver() != "postgres" {
		t.Skip("several servers share a database on PostgreSQL only (SHOPFILE_TEST_DB=postgres)")
	}
	w := newClaimWorld(t) // server A
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := markettest.New(t, markettest.Options{DataDir: w.DataDir}) // server B: the same database
	w.Market.Events().Connect(ctx, w.Store)
	b.Market.Events().Connect(ctx, b.Store)

	onB, unsubB := b.Market.Events().Subscribe()
	defer unsubB()
	onA, unsubA := w.Market.Events().Subscribe()
	defer unsubA()

	m := w.addRef(t)
	if _, err := w.Market.Approve(w.ctx, w.holder, m.ID, 0); err != nil {
		t.Fatal(err)
	}
	want := market.Event{Kind: market.ShopChanged, Shop: w.pirate.ID}
	wait := func(ch <-chan market.Event, where string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e := <-ch:
				if e == want {
					return
				}
			case <-deadline:
				t.Fatalf("server %s never heard that the claimed shop changed", where)
			}
		}
	}
	wait(onB, "B")
	wait(onA, "A")
	// A's own event must not come back to A through the relay.
	time.Sleep(500 * time.Millisecond)
	for {
		select {
		case e := <-onA:
			if e == want {
				t.Fatalf("server A got its own event twice")
			}
			continue
		default:
		}
		break
	}
	// B's view of the shop is the claim's.
	s, err := b.Market.Show(w.ctx, w.buyer, w.pirate.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Payee != w.holder.ID {
		t.Fatalf("server B shows payee %s, want the rights holder", s.Payee)
	}
}
