package market_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
)

// seeded returns n pseudo-random bytes (a stand-in for a recording).
func seeded(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

type claimWorld struct {
	*markettest.Env
	ctx                                  context.Context
	uploader, holder, buyer, admin, anon *store.Account
	orig                                 []byte
	pirate                               market.Shop
}

func newClaimWorld(t *testing.T) *claimWorld {
	t.Helper()
	e := markettest.New(t, markettest.Options{})
	w := &claimWorld{Env: e, ctx: context.Background()}
	w.uploader, w.holder, w.buyer, w.admin, w.anon = e.Account(t, newKey(t)), e.Account(t, newKey(t)), e.Account(t, newKey(t)),
		e.Account(t, newKey(t)), e.Account(t, newKey(t))
	for acct, role := range map[*store.Account]string{w.holder: store.RoleRightsHolder, w.admin: store.RoleAdmin} {
		if err := e.Market.Grant(w.ctx, acct.ID, role); err != nil {
			t.Fatal(err)
		}
		a, err := e.Market.Account(w.ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		*acct = *a
	}
	w.orig = seeded(7, 600_000)
	pirated := append(append([]byte{}, w.orig[40_000:]...), seeded(8, 7000)...)
	w.pirate = e.Upload(t, w.uploader, "pirate.bin", pirated, 300)
	return w
}

func (w *claimWorld) addRef(t *testing.T) market.MatchView {
	t.Helper()
	_, found, err := w.Market.AddRef(w.ctx, w.holder, "film", bytes.NewReader(w.orig))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Shop != w.pirate.ID || found[0].Strength != "strong" || found[0].Score < 0.5 {
		t.Fatalf("matches %+v", found)
	}
	return found[0]
}

func TestReferenceMatchesExistingCopy(t *testing.T) {
	w := newClaimWorld(t)
	other := w.Upload(t, w.uploader, "other.bin", seeded(9, 500_000), 300)
	m := w.addRef(t)
	ev := m.Evidence
	if ev.FileCovered < 0.9 || ev.RefCovered < 0.85 || !ev.PriorArt || len(ev.Ranges) == 0 || ev.RefFirstSeen.IsZero() || ev.FileFirstSeen.IsZero() {
		t.Fatalf("evidence %+v", ev)
	}
	if r := ev.Ranges[0]; r.RefOff < 40_000 || r.FileOff > 64<<10 || r.RefOff-r.FileOff != 40_000 {
		t.Fatalf("first matched range %+v: the copy starts 40000 bytes into the reference", r)
	}
	list, err := w.Market.Matches(w.ctx, w.holder, "")
	if err != nil || len(list) != 1 || list[0].Shop == other.ID {
		t.Fatalf("matches %v %v", list, err)
	}
	// An upload made after the reference is matched on upload.
	later := w.Upload(t, w.uploader, "again.bin", append(seeded(10, 3000), w.orig[:300_000]...), 300)
	list, _ = w.Market.Matches(w.ctx, w.holder, "")
	if len(list) != 2 {
		t.Fatalf("the later upload %s was not matched: %+v", later.ID, list)
	}
}

func TestArchiveMembersAreMatched(t *testing.T) {
	w := newClaimWorld(t)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, _ := zw.Create("extras/readme.txt")
	f.Write([]byte("hello"))
	f, _ = zw.Create("film.bin")
	f.Write(w.orig)
	zw.Close()
	z := w.Upload(t, w.uploader, "bundle.zip", buf.Bytes(), 300)
	_, found, err := w.Market.AddRef(w.ctx, w.holder, "film", bytes.NewReader(w.orig))
	if err != nil {
		t.Fatal(err)
	}
	var hit *market.MatchView
	for i := range found {
		if found[i].Shop == z.ID {
			hit = &found[i]
		}
	}
	if hit == nil || hit.Evidence.Member != "film.bin" || hit.Strength != "strong" {
		t.Fatalf("zip member not matched: %+v", found)
	}
}

func TestIndistinctReferencesRefused(t *testing.T) {
	w := newClaimWorld(t)
	for name, data := range map[string][]byte{
		"tiny":  seeded(1, 1000),
		"zeros": make([]byte, 2<<20),
	} {
		if _, _, err := w.Market.AddRef(w.ctx, w.holder, name, bytes.NewReader(data)); !errors.Is(err, market.ErrInvalid) {
			t.Errorf("%s reference accepted: %v", name, err)
		}
	}
}

func TestClaimRefusals(t *testing.T) {
	w := newClaimWorld(t)
	if _, _, err := w.Market.AddRef(w.ctx, w.anon, "x", bytes.NewReader(w.orig)); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("a stranger added a reference: %v", err)
	}
	if _, err := w.Market.Matches(w.ctx, w.anon, ""); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("a stranger listed matches: %v", err)
	}
	m := w.addRef(t)
	other := w.Env.Account(t, newKey(t))
	if err := w.Market.Grant(w.ctx, other.ID, store.RoleRightsHolder); err != nil {
		t.Fatal(err)
	}
	other, _ = w.Market.Account(w.ctx, other.ID)
	for who, acct := range map[string]*store.Account{"stranger": w.anon, "another rights holder": other, "uploader": w.uploader} {
		if _, err := w.Market.Approve(w.ctx, acct, m.ID, 0); !errors.Is(err, market.ErrForbidden) {
			t.Errorf("%s approved someone else's match: %v", who, err)
		}
		if _, err := w.Market.Dismiss(w.ctx, acct, m.ID); !errors.Is(err, market.ErrForbidden) {
			t.Errorf("%s dismissed someone else's match: %v", who, err)
		}
	}
	if _, err := w.Market.Approve(w.ctx, w.holder, m.ID, -1); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("negative claim price: %v", err)
	}
	c, err := w.Market.Approve(w.ctx, w.holder, m.ID, 2500)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Market.Approve(w.ctx, w.holder, m.ID, 2500); !errors.Is(err, market.ErrInvalid) {
		t.Fatalf("a match approved twice: %v", err)
	}
	for who, acct := range map[string]*store.Account{"holder": w.holder, "stranger": w.anon, "admin": w.admin} {
		if _, err := w.Market.Dispute(w.ctx, acct, c.ID, "mine"); !errors.Is(err, market.ErrForbidden) {
			t.Errorf("%s disputed: %v", who, err)
		}
	}
	if _, err := w.Market.Dispute(w.ctx, w.uploader, c.ID, ""); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("a dispute without a reason: %v", err)
	}
	if _, err := w.Market.Resolve(w.ctx, w.admin, c.ID, store.Uphold); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("resolved an undisputed claim: %v", err)
	}
	if _, err := w.Market.Dispute(w.ctx, w.uploader, c.ID, "my own recording"); err != nil {
		t.Fatal(err)
	}
	for who, acct := range map[string]*store.Account{"holder": w.holder, "uploader": w.uploader, "stranger": w.anon} {
		if _, err := w.Market.Resolve(w.ctx, acct, c.ID, store.Reverse); !errors.Is(err, market.ErrForbidden) {
			t.Errorf("%s resolved: %v", who, err)
		}
	}
	if _, err := w.Market.Resolve(w.ctx, w.admin, c.ID, "maybe"); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("unknown decision: %v", err)
	}
	if _, err := w.Market.Audit(w.ctx, w.anon, c.ID); !errors.Is(err, market.ErrForbidden) {
		t.Errorf("a stranger read the audit log: %v", err)
	}
	if cs, _ := w.Market.Claims(w.ctx, w.anon); len(cs) != 0 {
		t.Errorf("a stranger sees %d claims", len(cs))
	}
}

// approve → sale pays the holder → dispute → sale held in escrow, price
// frozen → reverse → escrow to the uploader, old payee and price back.
func TestClaimMoneyFlow(t *testing.T) {
	w := newClaimWorld(t)
	m := w.addRef(t)
	c, err := w.Market.Approve(w.ctx, w.holder, m.ID, 2500)
	if err != nil {
		t.Fatal(err)
	}
	if c.Payee != w.holder.ID || c.PriceSats != 2500 {
		t.Fatalf("claim %+v", c)
	}
	if _, err := w.Market.Reprice(w.ctx, w.uploader, w.pirate.ID, 1); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("the uploader repriced a claimed shop: %v", err)
	}
	w.Fund(t, w.buyer, 10_000)
	if _, err := w.Market.Buy(w.ctx, w.buyer, w.pirate.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	balance := func(a *store.Account) int64 {
		b, err := w.Market.Balance(w.ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if balance(w.holder) != 2500 || balance(w.uploader) != 0 {
		t.Fatalf("holder %d uploader %d after the first sale", balance(w.holder), balance(w.uploader))
	}
	if _, err := w.Market.Dispute(w.ctx, w.uploader, c.ID, "this is my own recording"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Market.Reprice(w.ctx, w.holder, w.pirate.ID, 9000); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("a disputed shop was repriced: %v", err)
	}
	buyer2 := w.Env.Account(t, newKey(t))
	w.Fund(t, buyer2, 10_000)
	if _, err := w.Market.Buy(w.ctx, buyer2, w.pirate.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	if balance(w.holder) != 2500 || balance(w.uploader) != 0 || balance(buyer2) != 7500 {
		t.Fatalf("disputed sale not in escrow: holder %d uploader %d buyer2 %d", balance(w.holder), balance(w.uploader), balance(buyer2))
	}
	w.CheckLedger(t)
	if _, err := w.Market.Resolve(w.ctx, w.admin, c.ID, store.Reverse); err != nil {
		t.Fatal(err)
	}
	s, _ := w.Market.Show(w.ctx, w.anon, w.pirate.ID)
	if s.Payee != w.uploader.ID || s.PriceSats != 300 || s.Frozen {
		t.Fatalf("after reverse: %+v", s)
	}
	if balance(w.uploader) != 2500 || balance(w.holder) != 2500 {
		t.Fatalf("escrow not released to the uploader: uploader %d holder %d", balance(w.uploader), balance(w.holder))
	}
	if total := balance(w.uploader) + balance(w.holder) + balance(w.buyer) + balance(buyer2); total != 20_000 {
		t.Fatalf("money not conserved: %d", total)
	}
	w.CheckLedger(t)
	log, err := w.Market.Audit(w.ctx, w.uploader, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].Kind != "approved" || log[1].Kind != "disputed" || log[2].Kind != "resolved" || log[1].PrevHash != log[0].Hash {
		t.Fatalf("audit log %+v", log)
	}
}

func TestUpholdPaysEscrowToHolder(t *testing.T) {
	w := newClaimWorld(t)
	c, err := w.Market.Approve(w.ctx, w.holder, w.addRef(t).ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.PriceSats != 300 {
		t.Fatalf("approve without --price changed the price to %d", c.PriceSats)
	}
	if _, err := w.Market.Dispute(w.ctx, w.uploader, c.ID, "licensed"); err != nil {
		t.Fatal(err)
	}
	w.Fund(t, w.buyer, 1000)
	if _, err := w.Market.Buy(w.ctx, w.buyer, w.pirate.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Market.Resolve(w.ctx, w.admin, c.ID, store.Uphold); err != nil {
		t.Fatal(err)
	}
	if b, _ := w.Market.Balance(w.ctx, w.holder); b != 300 {
		t.Fatalf("holder got %d from escrow, want 300", b)
	}
	s, _ := w.Market.Show(w.ctx, w.anon, w.pirate.ID)
	if s.Payee != w.holder.ID || s.Frozen {
		t.Fatalf("after uphold: %+v", s)
	}
	w.CheckLedger(t)
}

func TestSmallShareCannotTakeThePayee(t *testing.T) {
	w := newClaimWorld(t)
	// The reference is a small part of a long upload.
	long := w.Upload(t, w.uploader, "podcast.bin", append(append(seeded(11, 900_000), w.orig[:200_000]...), seeded(12, 900_000)...), 300)
	_, found, err := w.Market.AddRef(w.ctx, w.holder, "film", bytes.NewReader(w.orig))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range found {
		if m.Shop != long.ID {
			continue
		}
		if _, err := w.Market.Approve(w.ctx, w.holder, m.ID, 0); !errors.Is(err, market.ErrInvalid) {
			t.Fatalf("a match covering %.0f%% of the upload took its payee: %v", 100*m.Evidence.UploadCovered, err)
		}
		return
	}
	t.Fatalf("the embedded reference was not found: %+v", found)
}
