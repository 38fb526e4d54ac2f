package market

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopfile/shopfile/fingerprint"
	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/store"
)

// Limits on what a shop may say about itself.
const (
	MaxNameBytes        = 255
	MaxTitleBytes       = 256
	MaxDescriptionBytes = 4096
	MaxPrice            = 21_000_000 * 100_000_000 // every bitcoin there will ever be
)

// Shop is a shop as its faces show it (no secrets).
type Shop struct {
	ID          string
	Title       string
	Description string
	Name        string
	Size        int64
	PriceSats   int64
	Payee       string
	Uploader    string
	Sales       int64
	ContentID   string
	ContentHash string // only for the uploader and payee; empty otherwise
	Frozen      bool
	CreatedAt   time.Time
	Claim       string // Show only: the open claim's id, "" when unclaimed
	ClaimStatus string // Show only: "active" or "disputed"
}

func (m *Market) view(actor string, s *store.Shop) Shop {
	v := Shop{ID: s.ID, Title: s.Title, Description: s.Description, Name: s.Name, Size: s.Size, PriceSats: s.PriceSats,
		Payee: s.Payee, Uploader: s.Uploader, Sales: s.Sales, ContentID: s.ContentID, Frozen: s.Frozen,
		CreatedAt: time.UnixMicro(s.CreatedAt)}
	if actor == s.Uploader || actor == s.Payee {
		v.ContentHash = s.ContentHash
	}
	return v
}

// UploadRequest describes a new shop.
type UploadRequest struct {
	Name        string
	Title       string // defaults to Name
	Description string
	PriceSats   int64 // 0: the default price
}

// Upload streams r once: blake3 of the plaintext and the container
// encrypter in one pass, into a temp blob renamed into place only when
// whole. A failed or aborted upload leaves no shop and no file.
func (m *Market) Upload(ctx context.Context, actor *store.Account, req UploadRequest, r io.Reader) (Shop, error) {
	if err := m.validateUpload(&req); err != nil {
		return Shop{}, err
	}
	item := ids.NewItem()
	id := ids.Shop(item)
	tmp, err := m.blobs.Create()
	if err != nil {
		return Shop{}, fmt.Errorf("upload %s: %w", req.Name, err)
	}
	defer tmp.Abort()
	// One pass: the fingerprint hasher (whole-file blake3 and chunks) sees
	// every plaintext byte on its way into the encrypter.
	fp := fingerprint.NewHasher()
	src := io.TeeReader(contextReader{ctx: ctx, r: r}, fp)
	now := m.now()
	meta := container.Meta{ItemID: item, PayAddr: "ssh://" + m.cfg.Host, PriceHint: req.PriceSats, CreatedAt: now, Title: req.Title}
	hdr, fileKey, err := container.Seal(tmp, src, meta, m.host, m.escrow, m.cfg.MaxUpload)
	if err != nil {
		if errors.Is(err, container.ErrTooLarge) {
			return Shop{}, fmt.Errorf("upload %s: larger than the %s limit: %w", req.Name, FormatBytes(m.cfg.MaxUpload), ErrTooLarge)
		}
		return Shop{}, fmt.Errorf("upload %s: %w", req.Name, err)
	}
	sealed, err := m.sealer.Seal(fileKey, id)
	if err != nil {
		return Shop{}, fmt.Errorf("upload %s: seal key: %w", req.Name, err)
	}
	if err := m.blobs.Commit(tmp, id); err != nil {
		return Shop{}, fmt.Errorf("upload %s: %w", req.Name, err)
	}
	fpPrint := fp.Sum()
	s := &store.Shop{ID: id, Uploader: actor.ID, Payee: actor.ID, Name: req.Name, Title: req.Title, Description: req.Description,
		Size: hdr.PlaintextSize, PriceSats: req.PriceSats, ContentHash: "", // set from the print below
		ContentID: hex.EncodeToString(hdr.ContentID[:]), FileKey: sealed, BlobSize: hdr.Size(),
		CreatedAt: now.UnixMicro(), UpdatedAt: now.UnixMicro()}
	s.ContentHash = hex.EncodeToString(fpPrint.Blake3[:])
	if err := m.st.CreateShop(ctx, s); err != nil {
		_ = m.blobs.Remove(id)
		return Shop{}, fmt.Errorf("upload %s: %w", req.Name, err)
	}
	// The shop exists from here; matching is best effort and logged, so a
	// fingerprint problem never loses an upload.
	if err := m.index(ctx, s, fpPrint, fileKey); err != nil {
		m.log.Error("fingerprint", "shop", id, "err", err)
	}
	m.log.Info("upload", "shop", id, "account", actor.ID, "size", s.Size, "price", s.PriceSats)
	return m.view(actor.ID, s), nil
}

func (m *Market) validateUpload(req *UploadRequest) error {
	if err := ValidName(req.Name); err != nil {
		return err
	}
	if req.Title == "" {
		req.Title = req.Name
	}
	if err := validText("title", req.Title, MaxTitleBytes); err != nil {
		return err
	}
	if err := validText("description", req.Description, MaxDescriptionBytes); err != nil {
		return err
	}
	if req.PriceSats == 0 {
		req.PriceSats = m.cfg.DefaultPrice
	}
	return ValidPrice(req.PriceSats)
}

// ValidName checks a file name: one path element, printable, bounded.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a file name is required: %w", ErrInvalid)
	case len(name) > MaxNameBytes:
		return fmt.Errorf("file name is longer than %d bytes: %w", MaxNameBytes, ErrInvalid)
	case name == "." || name == ".." || strings.ContainsAny(name, "/\\"):
		return fmt.Errorf("file name %q must be a plain name, without / or ..: %w", name, ErrInvalid)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("file name has control characters or invalid UTF-8: %w", ErrInvalid)
	}
	return nil
}

func validText(what, s string, limit int) error {
	switch {
	case len(s) > limit:
		return fmt.Errorf("%s is longer than %d bytes: %w", what, limit, ErrInvalid)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8: %w", what, ErrInvalid)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0:
		return fmt.Errorf("%s has control characters: %w", what, ErrInvalid)
	}
	return nil
}

// ValidPrice checks a price in satoshis.
func ValidPrice(p int64) error {
	if p < 1 || p > MaxPrice {
		return fmt.Errorf("price must be a whole number of satoshis from 1 to %d: %w", int64(MaxPrice), ErrInvalid)
	}
	return nil
}

// ListQuery selects a page of shops.
type ListQuery struct {
	Text   string
	Mine   bool // only shops the actor uploaded or is paid for
	Sort   string
	Limit  int
	Offset int
}

// Page is a page of shops and the total that matched.
type Page struct {
	Shops []Shop
	Total int
}

// List searches the catalogue.
func (m *Market) List(ctx context.Context, actor *store.Account, q ListQuery) (Page, error) {
	sq := store.ShopQuery{Text: q.Text, Sort: q.Sort, Limit: q.Limit, Offset: q.Offset}
	if q.Mine {
		sq.Party = actor.ID
	}
	switch sq.Sort {
	case "", store.SortNewest, store.SortPriceAsc, store.SortPriceDesc:
	default:
		return Page{}, fmt.Errorf("unknown sort %q (newest, price, price-desc): %w", q.Sort, ErrInvalid)
	}
	res, err := m.st.ListShops(ctx, sq)
	if err != nil {
		return Page{}, storeErr(err, "list shops")
	}
	page := Page{Total: res.Total, Shops: make([]Shop, 0, len(res.Shops))}
	for i := range res.Shops {
		page.Shops = append(page.Shops, m.view(actor.ID, &res.Shops[i]))
	}
	return page, nil
}

// Show returns one shop.
func (m *Market) Show(ctx context.Context, actor *store.Account, id string) (Shop, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return Shop{}, err
	}
	v := m.view(actor.ID, s)
	c, err := m.st.ShopClaim(ctx, id)
	switch {
	case err == nil:
		v.Claim, v.ClaimStatus = c.ID, c.Status
	case !errors.Is(err, store.ErrNotFound):
		return Shop{}, storeErr(err, "claim of "+id)
	}
	return v, nil
}

func (m *Market) shop(ctx context.Context, id string) (*store.Shop, error) {
	if !ids.Valid(id) {
		return nil, fmt.Errorf("no such shop %q: %w", id, ErrNotFound)
	}
	s, err := m.st.Shop(ctx, id)
	if err != nil {
		return nil, storeErr(err, "no such shop "+id)
	}
	return s, nil
}

// Reprice sets a shop's price. Only its current payee may, and not while a
// dispute has frozen it.
func (m *Market) Reprice(ctx context.Context, actor *store.Account, id string, price int64) (Shop, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return Shop{}, err
	}
	if s.Payee != actor.ID {
		return Shop{}, fmt.Errorf("only the shop's payee may reprice %s: %w", id, ErrForbidden)
	}
	if s.Frozen {
		return Shop{}, fmt.Errorf("the price of %s is frozen while a claim is disputed: %w", id, ErrForbidden)
	}
	if err := ValidPrice(price); err != nil {
		return Shop{}, err
	}
	if err := m.st.SetPrice(ctx, id, actor.ID, price, m.now().UnixMicro()); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Shop{}, fmt.Errorf("the payee or terms of %s changed meanwhile; look again: %w", id, ErrForbidden)
		}
		return Shop{}, storeErr(err, "reprice "+id)
	}
	m.events.Publish(Event{Kind: ShopChanged, Shop: id})
	s.PriceSats = price
	return m.view(actor.ID, s), nil
}

// mayRead reports whether actor may have the plaintext of s.
func (m *Market) mayRead(ctx context.Context, actor *store.Account, s *store.Shop) (bool, error) {
	if actor.ID == s.Uploader || actor.ID == s.Payee {
		return true, nil
	}
	_, err := m.st.PurchaseFor(ctx, actor.ID, s.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// openContainer opens and verifies a shop's container.
func (m *Market) openContainer(s *store.Shop) (io.ReaderAt, *container.Header, func() error, error) {
	f, err := m.blobs.Open(s.ID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("container of %s: %w: %w", s.ID, ErrUnavailable, err)
	}
	hdr, err := container.ReadHeader(f, f.Size())
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("container of %s is damaged: %w: %w", s.ID, ErrUnavailable, err)
	}
	return f, hdr, f.Close, nil
}

// Get streams the plaintext of a shop to w, for its uploader, its payee
// and its buyers.
func (m *Market) Get(ctx context.Context, actor *store.Account, id string, w io.Writer) (int64, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return 0, err
	}
	ok, err := m.mayRead(ctx, actor, s)
	if err != nil {
		return 0, storeErr(err, "get "+id)
	}
	if !ok {
		return 0, fmt.Errorf("buy %s first (ssh … buy %s): %w", id, id, ErrForbidden)
	}
	r, hdr, closeFn, err := m.openContainer(s)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	key, err := m.sealer.Open(s.FileKey, s.ID)
	if err != nil {
		return 0, fmt.Errorf("get %s: %w: %w", id, ErrUnavailable, err)
	}
	n, err := container.Decrypt(contextWriter{ctx: ctx, w: w}, r, hdr, key)
	if err != nil {
		return n, fmt.Errorf("get %s: %w", id, err)
	}
	return n, nil
}

// Fetch streams the encrypted .shop container to w; anyone may have it.
func (m *Market) Fetch(ctx context.Context, actor *store.Account, id string, w io.Writer) (int64, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return 0, err
	}
	f, err := m.blobs.Open(s.ID)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w: %w", id, ErrUnavailable, err)
	}
	defer f.Close()
	n, err := io.Copy(contextWriter{ctx: ctx, w: w}, f)
	if err != nil {
		return n, fmt.Errorf("fetch %s: %w", id, err)
	}
	return n, nil
}

// FormatBytes renders a size for people: 1.5 MiB.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	s = strings.TrimSuffix(s, ".0")
	return s + " " + string("KMGTPE"[exp]) + "iB"
}

// contextReader stops a stream when its session ends.
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type contextWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c contextWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// copyLimited copies r into w, at most limit bytes (more is ErrTooLarge).
func copyLimited(ctx context.Context, w io.Writer, r io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(contextReader{ctx: ctx, r: r}, limit+1))
	if err != nil {
		return n, err
	}
	if n > limit {
		return n, fmt.Errorf("larger than the %s limit: %w", FormatBytes(limit), ErrTooLarge)
	}
	return n, nil
}
