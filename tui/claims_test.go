package tui_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store"
)

// seeded returns n pseudo-random bytes: a stand-in for a recording, the
// same on every run so scores and shares in goldens are stable.
func seeded(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// grant gives a an operator role and returns the account as a new
// session would load it.
func (w *world) grant(a *store.Account, role string) *store.Account {
	w.t.Helper()
	ctx := context.Background()
	if err := w.m.Grant(ctx, a.ID, role); err != nil {
		w.t.Fatal(err)
	}
	b, err := w.m.Account(ctx, a.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// rightsWorld is a shop where an uploader sells a copy of a rights
// holder's film, and the holder has registered the film as a reference.
type rightsWorld struct {
	*world
	holder, uploader, admin, buyer *store.Account
	pirate                         market.Shop
	match                          market.MatchView
}

func newRightsWorld(t *testing.T) *rightsWorld {
	t.Helper()
	w := &rightsWorld{world: newWorld(t, sshtest.Options{NoTUI: true})}
	w.holder, w.uploader, w.admin, w.buyer = w.account("holder"), w.account("uploader"), w.account("admin"), w.account("buyer")
	w.holder = w.grant(w.holder, store.RoleRightsHolder)
	w.admin = w.grant(w.admin, store.RoleAdmin)
	film := seeded(7, 600_000)
	// The copy drops the film's first 40 KB and adds a trailer of its own.
	copied := append(append([]byte{}, film[40_000:]...), seeded(8, 7000)...)
	w.pirate = w.uploadBytes(w.uploader, "pirate.bin", "Pirate Copy", copied, 300)
	ctx := context.Background()
	_, found, err := w.m.AddRef(ctx, w.holder, "film", bytes.NewReader(film))
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Strength != "strong" {
		t.Fatalf("the copy should match the film strongly: %+v", found)
	}
	w.match = found[0]
	w.mask(w.match.ID, "<match>")
	return w
}

func (w *world) uploadBytes(a *store.Account, name, title string, data []byte, price int64) market.Shop {
	w.t.Helper()
	s, err := w.m.Upload(context.Background(), a, market.UploadRequest{Name: name, Title: title, PriceSats: price}, bytes.NewReader(data))
	if err != nil {
		w.t.Fatal(err)
	}
	w.mask(s.ID, "<shop-"+name+">")
	return s
}

func (w *rightsWorld) shop(id string) market.Shop {
	w.t.Helper()
	s, err := w.m.Show(context.Background(), w.buyer, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *rightsWorld) claims(who *store.Account) []market.ClaimView {
	w.t.Helper()
	cs, err := w.m.Claims(context.Background(), who)
	if err != nil {
		w.t.Fatal(err)
	}
	return cs
}

var (
	reClaimID = regexp.MustCompile(`\bc[0-9a-z]{26}\b`)
	reShort   = regexp.MustCompile(`\b[0-9a-f]{12}…`)
)

// see waits until every text shows in the masked view, with nothing
// loading, and returns that view.
func (w *world) see(s *session, texts ...string) string {
	s.t.Helper()
	var masked string
	s.waitFor(strings.Join(texts, " & "), func(v string) bool {
		masked = w.stableClaims(v)
		return !loading(v) && containsAll(masked, texts)
	})
	return masked
}

// stableClaims is stable for views with claim ids and shortened hashes.
func (w *world) stableClaims(v string) string {
	v = reClaimID.ReplaceAllString(w.stable(v), "<claim>")
	return reShort.ReplaceAllString(v, "<hash>")
}

func TestRightsViews(t *testing.T) {
	t.Parallel()
	w := newRightsWorld(t)
	s := w.open(w.holder, 100, 30)
	w.see(s, "5 Rights", "6 Claims", "7 Help")
	s.keys("5")
	v := w.see(s, "Matches of your references", "Pirate Copy", "film", "page 1/1 · 1 match · 1 open")
	if !strings.Contains(v, "▸ 0.") || !strings.Contains(v, "strong") {
		t.Errorf("the queue row lacks the glyph, score or strength:\n%s", v)
	}
	golden(t, "rights_queue_100x30", v)

	s.keys("enter")
	v = w.see(s, "REFERENCE", "SHOP FILE", "⚠ PRIOR ART", "pirate.bin", "█", "a approves")
	for _, want := range []string{"first seen", "covered", "ranges", "585.9 KiB", "(600,000 bytes)", "✓ strong"} {
		if !strings.Contains(v, want) {
			t.Errorf("the review lacks %q:\n%s", want, v)
		}
	}
	golden(t, "rights_review_100x30", v)
}

// The whole life of a claim across four sessions on one market: a buyer
// looking at the shop, the holder approving, the uploader disputing, the
// admin reversing; each sees the others' steps without reconnecting.
func TestClaimLifecycle(t *testing.T) {
	t.Parallel()
	w := newRightsWorld(t)

	visitor := w.open(w.buyer, 100, 30)
	w.see(visitor, "Pirate Copy")
	visitor.keys("enter")
	w.see(visitor, "b buys it for 300 sats", "payee      <uploader>")

	up := w.open(w.uploader, 100, 30)
	v := w.see(up, "Pirate Copy", "5 Help")
	if strings.Contains(v, "Claims") || strings.Contains(v, "Rights") {
		t.Fatalf("an uploader without claims sees a Claims or Rights tab:\n%s", v)
	}

	h := w.open(w.holder, 100, 30)
	h.keys("5")
	w.see(h, "page 1/1 · 1 match · 1 open")
	h.keys("enter")
	w.see(h, "a approves")
	h.keys("a")
	v = w.see(h, "price: 300", "empty keeps 300 sats")
	for _, bad := range []string{"abc", "0", "1.5"} {
		h.keys("ctrl+u")
		h.typ(bad)
		h.keys("enter")
		w.see(h, "✗ price must be a whole number ≥ 1")
	}
	h.keys("ctrl+u")
	h.typ("2,500")
	h.keys("enter")
	w.see(h, "will pay you, at 2,500 sats, for every copy", "It stops paying <uploader>", "enter approve")
	if s := w.shop(w.pirate.ID); s.Payee != w.uploader.ID {
		t.Fatalf("the payee changed before the confirmation: %+v", s)
	}
	h.keys("esc") // back to the price, kept
	w.see(h, "price: 2,500")
	h.keys("enter")
	w.see(h, "will pay you, at 2,500 sats")
	h.keys("enter", "enter") // impatient: one approval
	w.see(h, "✓ CLAIMED", "now pays you, at 2,500 sats", "APPROVED")
	s := w.shop(w.pirate.ID)
	if s.Payee != w.holder.ID || s.PriceSats != 2500 {
		t.Fatalf("after approve the market says payee %s price %d", s.Payee, s.PriceSats)
	}

	// The visitor's open shop page follows: new payee, new price, marked.
	w.see(visitor, "⚑ CLAIMED", "payee      <holder>", "b buys it for 2,500 sats")
	// The uploader's session grows a Claims tab, numbered before Help, and
	// its catalogue row follows the claim.
	w.see(up, "5 Claims", "6 Help", "Pirate Copy · claimed", "2,500 sats")
	up.keys("5")
	v = w.see(up, "Claims", "active", "Pirate Copy", "2,500 sats")
	golden(t, "claims_list_100x30", v)
	up.keys("enter")
	w.see(up, "Claim on “Pirate Copy”", "approved", "x disputes")
	up.keys("x")
	w.see(up, "reason:")
	up.keys("enter")
	w.see(up, "✗ say why the claim is wrong")
	up.typ("this is my own recording, q included") // q is text here
	up.keys("enter")
	w.see(up, "the price of “Pirate Copy” is frozen at 2,500 sats", "held in escrow", "Sales made before now stay")
	up.keys("enter")
	w.see(up, "✓ DISPUTED", "disputed  by <uploader> (you)", "“this is my own recording, q included”")
	if cs := w.claims(w.uploader); len(cs) != 1 || cs[0].Status != store.ClaimDisputed {
		t.Fatalf("after the dispute the market says %+v", cs)
	}
	w.see(visitor, "⚑ DISPUTED — price frozen", "FROZEN")

	// The admin sees every claim and decides.
	ad := w.open(w.admin, 100, 30)
	w.see(ad, "5 Claims", "6 Help")
	ad.keys("5")
	w.see(ad, "every claim (admin)", "disputed", "1 disputed")
	ad.keys("enter")
	v = w.see(ad, "u upholds the claim · v reverses it", "History · 2 entries")
	if !strings.Contains(v, "hash ") || !strings.Contains(v, "← (first entry)") {
		t.Errorf("the history lacks its chained hashes:\n%s", v)
	}
	golden(t, "claim_history_100x30", v)
	ad.keys("v")
	w.see(ad, "Reverse the claim", "paid to the uploader <uploader>", "enter reverse")
	ad.keys("esc") // cancelled: nothing decided
	w.see(ad, "u upholds the claim")
	if cs := w.claims(w.admin); cs[0].Status != store.ClaimDisputed {
		t.Fatalf("a cancelled reverse decided: %+v", cs[0])
	}
	ad.keys("v", "enter")
	w.see(ad, "✓ REVERSED", "pays <uploader>, at 300 sats", "History · 3 entries", "escrow 0 sats to <uploader>")
	s = w.shop(w.pirate.ID)
	if s.Payee != w.uploader.ID || s.PriceSats != 300 || s.Frozen {
		t.Fatalf("after reverse the market says %+v", s)
	}
	visitor.waitFor("the claim marker to go", func(v string) bool {
		v = w.stable(v)
		return strings.Contains(v, "payee      <uploader>") && strings.Contains(v, "b buys it for 300 sats") && !strings.Contains(v, "⚑")
	})
	w.see(up, "reversed", "300 sats")
	// The holder's review of the match says where the claim went.
	w.see(h, "pays <uploader>")
}

func TestNoRightsTabWithoutTheRole(t *testing.T) {
	t.Parallel()
	w := newRightsWorld(t)
	s := w.open(w.buyer, 100, 30)
	v := w.see(s, "Pirate Copy", "5 Help")
	if strings.Contains(v, "Rights") || strings.Contains(v, "Claims") {
		t.Fatalf("a buyer sees the rights console:\n%s", v)
	}
	s.keys("5")
	v = w.see(s, "everywhere", "1-5")
	if strings.Contains(v, "rights") || strings.Contains(v, "claim page") {
		t.Errorf("the help of a buyer lists the rights console:\n%s", v)
	}
	s.keys("6") // no sixth tab
	w.see(s, "[5 Help]")

	// The holder's help numbers the same tabs as the header.
	h := w.open(w.holder, 100, 30)
	w.see(h, "7 Help")
	h.keys("7")
	w.see(h, "5 rights", "6 claims", "1-7")
}

func TestDismissMatch(t *testing.T) {
	t.Parallel()
	w := newRightsWorld(t)
	s := w.open(w.holder, 100, 30)
	s.keys("5")
	w.see(s, "1 open")
	s.keys("enter")
	w.see(s, "d dismisses")
	s.keys("d")
	w.see(s, "Dismiss this match", "nothing is claimed", "keeps paying", "<uploader> at 300 sats")
	s.keys("n") // n cancels too
	w.see(s, "a approves")
	s.keys("d", "enter")
	w.see(s, "✓ dismissed", "DISMISSED")
	ms, err := w.m.Matches(context.Background(), w.holder, "")
	if err != nil || len(ms) != 1 || ms[0].Status != store.MatchDismissed {
		t.Fatalf("after dismiss the market says %+v, %v", ms, err)
	}
	if p := w.shop(w.pirate.ID); p.Payee != w.uploader.ID {
		t.Fatalf("a dismissal changed the payee: %+v", p)
	}
	s.keys("a") // a decided match offers nothing
	s.keys("esc")
	v := w.see(s, "0 open", "dismissed")
	if strings.Contains(v, "price:") {
		t.Errorf("approve opened on a dismissed match:\n%s", v)
	}
}

// A reference found in a small part of a long upload cannot take its
// payee: the refusal comes from the market and shows in the review.
func TestApproveRefusedInline(t *testing.T) {
	t.Parallel()
	w := newRightsWorld(t)
	film := seeded(7, 600_000)
	long := append(append(append([]byte{}, seeded(11, 500_000)...), film[:200_000]...), seeded(12, 500_000)...)
	podcast := w.uploadBytes(w.uploader, "podcast.bin", "Long Podcast", long, 400)
	if _, err := w.m.Report(context.Background(), w.holder, podcast.ID); err != nil {
		t.Fatal(err)
	}
	s := w.open(w.holder, 100, 30)
	s.keys("5")
	v := w.see(s, "2 matches · 2 open", "Long Podcast")
	if !increasing(order(v, "Pirate Copy", "Long Podcast")) {
		t.Fatalf("the queue is not strongest first:\n%s", v)
	}
	s.keys("j", "enter")
	w.see(s, "“Long Podcast”", "✗ ")
	s.keys("a", "ctrl+u", "enter") // empty: keep the price
	w.see(s, "at 400 sats, for every copy")
	s.keys("enter")
	v = w.see(s, "✗ refused:")
	if !strings.Contains(v, "strong match") && !strings.Contains(v, "of the upload") {
		t.Errorf("the refusal does not say why:\n%s", v)
	}
	if p := w.shop(podcast.ID); p.Payee != w.uploader.ID {
		t.Fatalf("a refused approval changed the payee: %+v", p)
	}
}

func TestReviewShowsArchiveMember(t *testing.T) {
	t.Parallel()
	w := newRightsWorld(t)
	if _, err := w.m.Dismiss(context.Background(), w.holder, w.match.ID); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range map[string][]byte{"extras/readme.txt": []byte("hello"), "film.bin": seeded(7, 600_000)} {
		f, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	w.uploadBytes(w.uploader, "bundle.zip", "Film Bundle", buf.Bytes(), 900) // matched on upload
	s := w.open(w.holder, 100, 30)
	s.keys("5")
	v := w.see(s, "2 matches · 1 open")
	if !increasing(order(v, "Film Bundle", "Pirate Copy")) {
		t.Fatalf("the open match is not first:\n%s", v)
	}
	s.keys("enter")
	w.see(s, "name       bundle.zip", "member     film.bin (inside the archive)", "of the upload", "✓ strong")
}
