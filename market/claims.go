package market

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/shopfile/shopfile/fingerprint"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/store"
)

// MinClaimCoverage: a payee may be reassigned only when the match covers at
// least this share of the upload (research/fingerprint.md §5.5). A song
// inside an hour-long podcast does not make the podcast the song's.
const MinClaimCoverage = 0.5

// maxEvidenceRanges bounds the ranges kept in a match's evidence.
const maxEvidenceRanges = 64

// Evidence is what a match shows both sides: the matched byte ranges in
// both files, the share of each covered, and when each was first seen.
type Evidence struct {
	RefName       string      `json:"ref_name"`
	RefSize       int64       `json:"ref_size"`
	FileName      string      `json:"file_name"`
	Member        string      `json:"member,omitempty"`
	FileSize      int64       `json:"file_size"`
	RefCovered    float64     `json:"ref_covered"`
	FileCovered   float64     `json:"file_covered"`
	UploadCovered float64     `json:"upload_covered"` // share of the whole upload's bytes
	Shared        int         `json:"shared_chunks"`
	MatchedBytes  int64       `json:"matched_bytes"`
	Exact         bool        `json:"exact"`
	Ranges        []RangeJSON `json:"ranges"`
	RangesOmitted int         `json:"ranges_omitted,omitempty"`
	RefFirstSeen  time.Time   `json:"ref_first_seen"`
	FileFirstSeen time.Time   `json:"file_first_seen"`
	PriorArt      bool        `json:"prior_art"` // the upload predates the reference
	Strength      string      `json:"strength"`
}

// RangeJSON is one matched range, at RefOff in the reference and FileOff in
// the file (for a member, within the member).
type RangeJSON struct {
	RefOff  int64 `json:"ref_off"`
	FileOff int64 `json:"file_off"`
	Len     int64 `json:"len"`
}

// Ref is a rights holder's reference.
type Ref struct {
	ID        string
	Name      string
	Size      int64
	CreatedAt time.Time
}

// MatchView is a match with its evidence.
type MatchView struct {
	ID        string
	Ref       string
	Shop      string
	ShopTitle string
	Score     float64
	Strength  string
	Status    string
	Evidence  Evidence
	At        time.Time
}

// ClaimView is a claim as its parties see it.
type ClaimView struct {
	ID            string
	Match         string
	Shop          string
	ShopTitle     string
	Holder        string
	Uploader      string
	Status        string
	PriceSats     int64  // the shop's price now
	Payee         string // the shop's payee now
	PrevPayee     string // before the claim (restored on reverse)
	PrevPriceSats int64
	EscrowSats    int64 // held while disputed
	Reason        string
	At            time.Time
}

func (m *Market) requireRole(actor *store.Account, role, what string) error {
	if !actor.HasRole(role) {
		return fmt.Errorf("%s needs the %s role (granted by the operator): %w", what, role, ErrForbidden)
	}
	return nil
}

func toPrint(size int64, b3 [32]byte, cs []store.FPChunk) *fingerprint.Print {
	p := &fingerprint.Print{Size: size, Blake3: b3, Chunks: make([]fingerprint.Chunk, len(cs))}
	for i, c := range cs {
		p.Chunks[i] = fingerprint.Chunk{Off: c.Off, Len: c.Len, Hash: c.Hash, LowEntropy: c.Low}
	}
	return p
}

func fromPrint(p *fingerprint.Print) []store.FPChunk {
	out := make([]store.FPChunk, len(p.Chunks))
	for i, c := range p.Chunks {
		out[i] = store.FPChunk{Off: c.Off, Len: c.Len, Hash: c.Hash, Low: c.LowEntropy}
	}
	return out
}

// AddRef registers reference content read from r and matches it against
// every shop file at once. References that cannot identify anything (too
// small, too uniform, too common) are refused with the reason.
func (m *Market) AddRef(ctx context.Context, actor *store.Account, name string, r io.Reader) (Ref, []MatchView, error) {
	if err := m.requireRole(actor, store.RoleRightsHolder, "adding a reference"); err != nil {
		return Ref{}, nil, err
	}
	if err := ValidName(name); err != nil {
		return Ref{}, nil, err
	}
	h := fingerprint.NewHasher()
	n, err := copyLimited(ctx, h, r, m.cfg.MaxUpload)
	if err != nil {
		return Ref{}, nil, fmt.Errorf("reference %s: %w", name, err)
	}
	p := h.Sum()
	hashes := scoredHashes(p)
	stop, err := m.stopList(ctx, hashes)
	if err != nil {
		return Ref{}, nil, err
	}
	if ok, reason := fingerprint.Distinctive(p, stop); !ok {
		return Ref{}, nil, fmt.Errorf("reference %s cannot identify anything: %s: %w", name, reason, ErrInvalid)
	}
	now := m.now()
	ref := &store.Ref{ID: ids.New("r", now), Holder: actor.ID, Name: name, Size: n, Blake3: fmt.Sprintf("%x", p.Blake3),
		CreatedAt: now.UnixMicro(), Chunks: fromPrint(p), Hashes: hashes}
	if err := m.st.CreateRef(ctx, ref); err != nil {
		return Ref{}, nil, storeErr(err, "add reference")
	}
	found, err := m.matchRef(ctx, ref, p)
	if err != nil {
		return Ref{}, nil, err
	}
	m.log.Info("reference", "ref", ref.ID, "holder", actor.ID, "size", n, "matches", len(found))
	return Ref{ID: ref.ID, Name: name, Size: n, CreatedAt: now}, found, nil
}

// scoredHashes lists p's distinct hashes that may ever be scored.
func scoredHashes(p *fingerprint.Print) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, c := range p.Chunks {
		if !c.LowEntropy && !seen[c.Hash] {
			seen[c.Hash] = true
			out = append(out, c.Hash)
		}
	}
	return out
}

// stopList returns the stop func for these hashes: content posted by many
// files of many owners is shared building material, not evidence.
func (m *Market) stopList(ctx context.Context, hashes []uint64) (func(uint64) bool, error) {
	stats, total, err := m.st.HashStats(ctx, hashes)
	if err != nil {
		return nil, storeErr(err, "stop list")
	}
	stopped := map[uint64]bool{}
	for h, s := range stats {
		if fingerprint.Stopped(s.Files, s.Owners, total) {
			stopped[h] = true
		}
	}
	return func(h uint64) bool { return stopped[h] }, nil
}

// matchRef compares a new reference against every indexed file sharing
// enough of its hashes.
func (m *Market) matchRef(ctx context.Context, ref *store.Ref, p *fingerprint.Print) ([]MatchView, error) {
	cands, err := m.st.FilesSharing(ctx, ref.Hashes, 2)
	if err != nil {
		return nil, storeErr(err, "match reference")
	}
	stop, err := m.stopList(ctx, ref.Hashes)
	if err != nil {
		return nil, err
	}
	var out []MatchView
	for _, id := range slices.Sorted(maps.Keys(cands)) { // file order: the whole file, then its members
		f, err := m.st.FPFile(ctx, id)
		if err != nil {
			return nil, storeErr(err, "match reference")
		}
		if v, ok, err := m.record(ctx, ref, p, f, stop); err != nil {
			return nil, err
		} else if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// matchFiles compares freshly indexed files against every reference.
func (m *Market) matchFiles(ctx context.Context, files []store.FPFile) error {
	for i := range files {
		f := &files[i]
		cands, err := m.st.RefsSharing(ctx, f.Postings, 2)
		if err != nil {
			return storeErr(err, "match upload")
		}
		if len(cands) == 0 {
			continue
		}
		stop, err := m.stopList(ctx, scoredStore(f.Chunks))
		if err != nil {
			return err
		}
		for refID := range cands {
			ref, err := m.st.Ref(ctx, refID)
			if err != nil {
				return storeErr(err, "match upload")
			}
			var b3 [32]byte
			fmt.Sscanf(ref.Blake3, "%x", &b3)
			if _, _, err := m.record(ctx, ref, toPrint(ref.Size, b3, ref.Chunks), f, stop); err != nil {
				return err
			}
		}
	}
	return nil
}

func scoredStore(cs []store.FPChunk) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, c := range cs {
		if !c.Low && !seen[c.Hash] {
			seen[c.Hash] = true
			out = append(out, c.Hash)
		}
	}
	return out
}

// record compares one reference with one file and keeps the match when it
// is at least worth a review.
func (m *Market) record(ctx context.Context, ref *store.Ref, rp *fingerprint.Print, f *store.FPFile, stop func(uint64) bool) (MatchView, bool, error) {
	var fb3 [32]byte
	fmt.Sscanf(f.Blake3, "%x", &fb3)
	res := fingerprint.Compare(rp, toPrint(f.Size, fb3, f.Chunks), stop)
	if res.Strength == fingerprint.None {
		return MatchView{}, false, nil
	}
	shop, err := m.st.Shop(ctx, f.Shop)
	if err != nil {
		return MatchView{}, false, storeErr(err, "match")
	}
	ev := evidence(ref, shop, f, res)
	body, err := json.Marshal(ev)
	if err != nil {
		return MatchView{}, false, err
	}
	now := m.now().UnixMicro()
	sm := &store.Match{ID: ids.New("m", m.now()), Ref: ref.ID, Holder: ref.Holder, Shop: f.Shop, FileID: f.ID, Score: res.Score,
		Strength: res.Strength.String(), Evidence: string(body), CreatedAt: now, UpdatedAt: now}
	id, err := m.st.UpsertMatch(ctx, sm)
	if err != nil {
		return MatchView{}, false, storeErr(err, "record match")
	}
	return MatchView{ID: id, Ref: ref.ID, Shop: f.Shop, ShopTitle: shop.Title, Score: res.Score, Strength: sm.Strength, Status: store.MatchOpen, Evidence: ev,
		At: time.UnixMicro(now)}, true, nil
}

func evidence(ref *store.Ref, shop *store.Shop, f *store.FPFile, res fingerprint.Match) Evidence {
	ev := Evidence{RefName: ref.Name, RefSize: ref.Size, FileName: shop.Name, Member: f.Member, FileSize: f.Size,
		RefCovered: res.RefCovered, FileCovered: res.FileCovered, Shared: res.Shared, MatchedBytes: res.MatchedBytes, Exact: res.Exact,
		RefFirstSeen: time.UnixMicro(ref.CreatedAt).UTC(), FileFirstSeen: time.UnixMicro(f.FirstSeen).UTC(),
		PriorArt: f.FirstSeen < ref.CreatedAt, Strength: res.Strength.String()}
	var covered int64
	for _, r := range res.Ranges {
		covered += r.Len
	}
	ev.UploadCovered = res.FileCovered
	if f.Member != "" && shop.Size > 0 {
		ev.UploadCovered = min(1, float64(covered)/float64(shop.Size))
	}
	for i, r := range res.Ranges {
		if i == maxEvidenceRanges {
			ev.RangesOmitted = len(res.Ranges) - i
			break
		}
		ev.Ranges = append(ev.Ranges, RangeJSON{RefOff: r.RefOff, FileOff: r.FileOff, Len: r.Len})
	}
	return ev
}

// Refs lists the actor's references.
func (m *Market) Refs(ctx context.Context, actor *store.Account) ([]Ref, error) {
	if err := m.requireRole(actor, store.RoleRightsHolder, "listing references"); err != nil {
		return nil, err
	}
	rs, err := m.st.Refs(ctx, actor.ID)
	if err != nil {
		return nil, storeErr(err, "references")
	}
	out := make([]Ref, 0, len(rs))
	for _, r := range rs {
		out = append(out, Ref{ID: r.ID, Name: r.Name, Size: r.Size, CreatedAt: time.UnixMicro(r.CreatedAt)})
	}
	return out, nil
}

func (m *Market) matchView(ctx context.Context, sm *store.Match) MatchView {
	v := MatchView{ID: sm.ID, Ref: sm.Ref, Shop: sm.Shop, Score: sm.Score, Strength: sm.Strength, Status: sm.Status, At: time.UnixMicro(sm.CreatedAt)}
	_ = json.Unmarshal([]byte(sm.Evidence), &v.Evidence)
	if s, err := m.st.Shop(ctx, sm.Shop); err == nil {
		v.ShopTitle = s.Title
	}
	return v
}

// Matches lists the actor's matches, open ones strongest first.
func (m *Market) Matches(ctx context.Context, actor *store.Account, ref string) ([]MatchView, error) {
	if err := m.requireRole(actor, store.RoleRightsHolder, "listing matches"); err != nil {
		return nil, err
	}
	ms, err := m.st.Matches(ctx, actor.ID, ref)
	if err != nil {
		return nil, storeErr(err, "matches")
	}
	out := make([]MatchView, 0, len(ms))
	for i := range ms {
		out = append(out, m.matchView(ctx, &ms[i]))
	}
	return out, nil
}

// MatchDetail returns one of the actor's matches.
func (m *Market) MatchDetail(ctx context.Context, actor *store.Account, id string) (MatchView, error) {
	sm, err := m.ownMatch(ctx, actor, id)
	if err != nil {
		return MatchView{}, err
	}
	return m.matchView(ctx, sm), nil
}

func (m *Market) ownMatch(ctx context.Context, actor *store.Account, id string) (*store.Match, error) {
	if err := m.requireRole(actor, store.RoleRightsHolder, "reviewing matches"); err != nil {
		return nil, err
	}
	if !ids.Valid(id) {
		return nil, fmt.Errorf("no such match %q: %w", id, ErrNotFound)
	}
	sm, err := m.st.Match(ctx, id)
	if err != nil {
		return nil, storeErr(err, "no such match "+id)
	}
	if sm.Holder != actor.ID {
		return nil, fmt.Errorf("match %s belongs to another rights holder: %w", id, ErrForbidden)
	}
	return sm, nil
}

// Report compares one shop against the actor's references now and returns
// the strongest match.
func (m *Market) Report(ctx context.Context, actor *store.Account, shopID string) (MatchView, error) {
	if err := m.requireRole(actor, store.RoleRightsHolder, "reporting a shop"); err != nil {
		return MatchView{}, err
	}
	if _, err := m.shop(ctx, shopID); err != nil {
		return MatchView{}, err
	}
	files, err := m.st.ShopFiles(ctx, shopID)
	if err != nil {
		return MatchView{}, storeErr(err, "report")
	}
	refs, err := m.st.Refs(ctx, actor.ID)
	if err != nil {
		return MatchView{}, storeErr(err, "report")
	}
	var best MatchView
	for i := range files {
		stop, err := m.stopList(ctx, scoredStore(files[i].Chunks))
		if err != nil {
			return MatchView{}, err
		}
		for _, r := range refs {
			ref, err := m.st.Ref(ctx, r.ID)
			if err != nil {
				return MatchView{}, storeErr(err, "report")
			}
			var b3 [32]byte
			fmt.Sscanf(ref.Blake3, "%x", &b3)
			v, ok, err := m.record(ctx, ref, toPrint(ref.Size, b3, ref.Chunks), &files[i], stop)
			if err != nil {
				return MatchView{}, err
			}
			if ok && v.Score > best.Score {
				best = v
			}
		}
	}
	if best.ID == "" {
		return MatchView{}, fmt.Errorf("no match: %s contains none of your references: %w", shopID, ErrNotFound)
	}
	sm, err := m.st.Match(ctx, best.ID)
	if err != nil {
		return MatchView{}, storeErr(err, "report")
	}
	return m.matchView(ctx, sm), nil
}

// Approve turns one of the actor's open matches into a claim: the actor
// becomes the shop's payee at once and, with price > 0, sets its price.
func (m *Market) Approve(ctx context.Context, actor *store.Account, matchID string, price int64) (ClaimView, error) {
	sm, err := m.ownMatch(ctx, actor, matchID)
	if err != nil {
		return ClaimView{}, err
	}
	if sm.Status != store.MatchOpen {
		return ClaimView{}, fmt.Errorf("match %s is already %s: %w", matchID, sm.Status, ErrInvalid)
	}
	if price != 0 {
		if err := ValidPrice(price); err != nil {
			return ClaimView{}, err
		}
	}
	v := m.matchView(ctx, sm)
	if v.Strength != fingerprint.Strong.String() {
		return ClaimView{}, fmt.Errorf("match %s is only a %s candidate: a claim needs a strong match: %w", matchID, v.Strength, ErrInvalid)
	}
	if v.Evidence.UploadCovered < MinClaimCoverage {
		return ClaimView{}, fmt.Errorf("match %s covers %.0f%% of the upload; taking over its payments needs %.0f%%: %w",
			matchID, 100*v.Evidence.UploadCovered, 100*MinClaimCoverage, ErrInvalid)
	}
	note, _ := json.Marshal(map[string]any{"match": matchID, "price_sats": price, "score": sm.Score, "upload_covered": v.Evidence.UploadCovered})
	c, err := m.st.ApproveMatch(ctx, store.ApproveParams{ClaimID: ids.New("c", m.now()), MatchID: matchID, Holder: actor.ID, Price: price,
		At: m.now().UnixMicro(), Note: string(note)})
	switch {
	case errors.Is(err, store.ErrClaimed):
		return ClaimView{}, fmt.Errorf("shop %s already has an open claim; a shop is claimed once: %w", sm.Shop, ErrInvalid)
	case errors.Is(err, store.ErrConflict):
		return ClaimView{}, fmt.Errorf("match %s changed meanwhile; look again: %w", matchID, ErrInvalid)
	case err != nil:
		return ClaimView{}, storeErr(err, "approve "+matchID)
	}
	m.events.Publish(Event{Kind: ShopChanged, Shop: c.Shop})
	m.log.Info("claim approved", "claim", c.ID, "shop", c.Shop, "holder", c.Holder, "price", c.Price)
	return m.claimView(ctx, c)
}

// Dismiss closes one of the actor's open matches.
func (m *Market) Dismiss(ctx context.Context, actor *store.Account, matchID string) (MatchView, error) {
	sm, err := m.ownMatch(ctx, actor, matchID)
	if err != nil {
		return MatchView{}, err
	}
	if err := m.st.DismissMatch(ctx, matchID, actor.ID, m.now().UnixMicro()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return MatchView{}, fmt.Errorf("match %s is already %s: %w", matchID, sm.Status, ErrInvalid)
		}
		return MatchView{}, storeErr(err, "dismiss")
	}
	sm.Status = store.MatchDismissed
	return m.matchView(ctx, sm), nil
}

func (m *Market) claimView(ctx context.Context, c *store.Claim) (ClaimView, error) {
	s, err := m.st.Shop(ctx, c.Shop)
	if err != nil {
		return ClaimView{}, storeErr(err, "claim")
	}
	v := ClaimView{ID: c.ID, Match: c.Match, Shop: c.Shop, ShopTitle: s.Title, Holder: c.Holder, Uploader: c.Uploader, Status: c.Status,
		PriceSats: s.PriceSats, Payee: s.Payee, PrevPayee: c.PrevPayee, PrevPriceSats: c.PrevPrice, Reason: c.Reason,
		At: time.UnixMicro(c.CreatedAt)}
	if c.Escrow != 0 && c.Status == store.ClaimDisputed {
		b, err := m.st.Balance(ctx, c.Escrow)
		if err != nil {
			return ClaimView{}, storeErr(err, "escrow")
		}
		v.EscrowSats = b.CreditsPosted - b.DebitsPosted
	}
	return v, nil
}

// Claim returns one claim the actor is party to (admins: any).
func (m *Market) Claim(ctx context.Context, actor *store.Account, id string) (ClaimView, error) {
	c, err := m.partyClaim(ctx, actor, id)
	if err != nil {
		return ClaimView{}, err
	}
	return m.claimView(ctx, c)
}

// Claims lists the claims the actor is party to; admins see every claim.
func (m *Market) Claims(ctx context.Context, actor *store.Account) ([]ClaimView, error) {
	party := actor.ID
	if actor.HasRole(store.RoleAdmin) {
		party = ""
	}
	cs, err := m.st.Claims(ctx, party)
	if err != nil {
		return nil, storeErr(err, "claims")
	}
	out := make([]ClaimView, 0, len(cs))
	for i := range cs {
		v, err := m.claimView(ctx, &cs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (m *Market) partyClaim(ctx context.Context, actor *store.Account, id string) (*store.Claim, error) {
	if !ids.Valid(id) {
		return nil, fmt.Errorf("no such claim %q: %w", id, ErrNotFound)
	}
	c, err := m.st.Claim(ctx, id)
	if err != nil {
		return nil, storeErr(err, "no such claim "+id)
	}
	if c.Holder != actor.ID && c.Uploader != actor.ID && !actor.HasRole(store.RoleAdmin) {
		return nil, fmt.Errorf("claim %s is between other parties: %w", id, ErrForbidden)
	}
	return c, nil
}

// Dispute contests a claim on the actor's upload. Until an admin resolves
// it the price is frozen and the payee's share of new sales is held in
// escrow; sales before the dispute stay where they were paid.
func (m *Market) Dispute(ctx context.Context, actor *store.Account, id, reason string) (ClaimView, error) {
	c, err := m.partyClaim(ctx, actor, id)
	if err != nil {
		return ClaimView{}, err
	}
	if c.Uploader != actor.ID {
		return ClaimView{}, fmt.Errorf("only the uploader of %s may dispute claim %s: %w", c.Shop, id, ErrForbidden)
	}
	if reason == "" {
		return ClaimView{}, fmt.Errorf("say why: --reason TEXT: %w", ErrInvalid)
	}
	if err := validText("reason", reason, MaxDescriptionBytes); err != nil {
		return ClaimView{}, err
	}
	if c.Status != store.ClaimActive {
		return ClaimView{}, fmt.Errorf("claim %s is %s: only an active claim can be disputed: %w", id, c.Status, ErrInvalid)
	}
	c, err = m.st.DisputeClaim(ctx, id, actor.ID, reason, m.now().UnixMicro())
	if err != nil {
		return ClaimView{}, storeErr(err, "dispute "+id)
	}
	m.events.Publish(Event{Kind: ShopChanged, Shop: c.Shop})
	return m.claimView(ctx, c)
}

// Resolve ends a dispute (admins only): uphold pays the escrow to the
// rights holder; reverse pays it to the uploader and restores the payee and
// price from before the claim.
func (m *Market) Resolve(ctx context.Context, actor *store.Account, id, decision string) (ClaimView, error) {
	if err := m.requireRole(actor, store.RoleAdmin, "resolving a claim"); err != nil {
		return ClaimView{}, err
	}
	if decision != store.Uphold && decision != store.Reverse {
		return ClaimView{}, fmt.Errorf("decision %q: uphold or reverse: %w", decision, ErrInvalid)
	}
	c, err := m.partyClaim(ctx, actor, id)
	if err != nil {
		return ClaimView{}, err
	}
	if c.Status != store.ClaimDisputed {
		return ClaimView{}, fmt.Errorf("claim %s is %s: only a disputed claim is resolved: %w", id, c.Status, ErrInvalid)
	}
	c, err = m.st.ResolveClaim(ctx, id, actor.ID, decision, m.now().UnixMicro())
	if err != nil {
		return ClaimView{}, storeErr(err, "resolve "+id)
	}
	m.events.Publish(Event{Kind: ShopChanged, Shop: c.Shop})
	m.events.Publish(Event{Kind: WalletChanged, Account: c.Holder})
	m.events.Publish(Event{Kind: WalletChanged, Account: c.Uploader})
	return m.claimView(ctx, c)
}

// AuditEntry is one step of a claim's history.
type AuditEntry struct {
	Actor    string
	Kind     string
	Body     string
	At       time.Time
	PrevHash string
	Hash     string
}

// Audit returns a claim's audit log for its parties, after checking every
// entry's hash against its predecessor.
func (m *Market) Audit(ctx context.Context, actor *store.Account, id string) ([]AuditEntry, error) {
	if _, err := m.partyClaim(ctx, actor, id); err != nil {
		return nil, err
	}
	evs, err := m.st.ClaimEvents(ctx, id)
	if err != nil {
		return nil, storeErr(err, "audit")
	}
	out := make([]AuditEntry, 0, len(evs))
	prev := ""
	for _, e := range evs {
		if e.PrevHash != prev || e.Hash != store.EventHash(e.PrevHash, e.Claim, e.Actor, e.Kind, e.Body, e.At) {
			return nil, fmt.Errorf("audit log of %s is broken at entry %d: %w", id, e.Seq, ErrUnavailable)
		}
		prev = e.Hash
		out = append(out, AuditEntry{Actor: e.Actor, Kind: e.Kind, Body: e.Body, At: time.UnixMicro(e.At), PrevHash: e.PrevHash, Hash: e.Hash})
	}
	return out, nil
}
