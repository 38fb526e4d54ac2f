package market

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/store"
)

// Distribution: the market API behind scp/sftp, the HTTP face and
// torrents. Every authorization decision stays here; the faces only ask.

// File is one shop's bytes for a download face: its encrypted container
// (for anyone) or its plaintext (for those who may read it). ReadAt is safe
// for concurrent use and returns io.EOF only at the true end; every other
// failure (a damaged chunk, an I/O error, lost authorization, the caller's
// context ending) is an error a face must pass on as a failure, never as a
// short file. Close it when done.
type File struct {
	Shop      string
	Name      string // SHOP.shop for the container, SHOP for the plaintext
	Plaintext bool
	Size      int64
	ModTime   time.Time
	ContentID string // hex; the container's identity, for ETags

	r     io.ReaderAt
	close func() error
	once  sync.Once
	err   error
}

// ReadAt reads the file; see File.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("read %s: %w", f.Name, err)
	}
	return n, err
}

// Close releases the file (idempotent).
func (f *File) Close() error {
	f.once.Do(func() {
		if f.close != nil {
			f.err = f.close()
		}
	})
	return f.err
}

// ContainerName is a shop's container file name.
func ContainerName(id string) string { return id + ".shop" }

// ContainerFile opens a shop's .shop container. Anyone may have it: it is
// encrypted, and signed by the shop so a copy found anywhere can be checked.
func (m *Market) ContainerFile(ctx context.Context, id string) (*File, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return nil, err
	}
	r, hdr, closeFn, err := m.openContainer(s)
	if err != nil {
		return nil, err
	}
	return &File{Shop: s.ID, Name: ContainerName(s.ID), Size: hdr.Size(), ModTime: time.UnixMicro(s.CreatedAt),
		ContentID: s.ContentID, r: ctxReaderAt{ctx: ctx, r: r}, close: closeFn}, nil
}

// plainRecheck is how often an open plaintext download asks again whether
// its reader may still have the file.
const plainRecheck = 30 * time.Second

// PlaintextFile opens a shop's plaintext for its uploader, its payee and
// its buyers. Reads are served through the container's pooled random-access
// decrypter (32 KiB SFTP reads decrypt each chunk once), every chunk is
// authenticated as it is read, and the reader's right to the file is asked
// again every 30 s, so a download outlives neither its session nor its
// authorization.
func (m *Market) PlaintextFile(ctx context.Context, actor *store.Account, id string) (*File, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := m.mayReadErr(ctx, actor, s); err != nil {
		return nil, err
	}
	r, hdr, closeFn, err := m.openContainer(s)
	if err != nil {
		return nil, err
	}
	key, err := m.sealer.Open(s.FileKey, s.ID)
	if err != nil {
		closeFn()
		return nil, fmt.Errorf("open %s: %w: %w", id, ErrUnavailable, err)
	}
	plain, size, err := container.NewReaderAt(r, hdr, key)
	if err != nil {
		closeFn()
		return nil, fmt.Errorf("open %s: %w: %w", id, ErrUnavailable, err)
	}
	ar := &authorizedReaderAt{r: plain, ctx: ctx, now: m.now, every: plainRecheck,
		check: func(ctx context.Context) error {
			s, err := m.shop(ctx, id)
			if err != nil {
				return err
			}
			return m.mayReadErr(ctx, actor, s)
		}}
	ar.last.Store(m.now().UnixNano())
	return &File{Shop: s.ID, Name: s.ID, Plaintext: true, Size: size, ModTime: time.UnixMicro(s.CreatedAt),
		ContentID: s.ContentID, r: ar, close: closeFn}, nil
}

// mayReadErr is mayRead as an error a face can show.
func (m *Market) mayReadErr(ctx context.Context, actor *store.Account, s *store.Shop) error {
	if actor == nil {
		return fmt.Errorf("buy %s first: %w", s.ID, ErrForbidden)
	}
	ok, err := m.mayRead(ctx, actor, s)
	if err != nil {
		return storeErr(err, "ownership of "+s.ID)
	}
	if !ok {
		return fmt.Errorf("buy %s first (ssh … buy %s): %w", s.ID, s.ID, ErrForbidden)
	}
	return nil
}

// ctxReaderAt fails reads once ctx ends.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// authorizedReaderAt re-checks a reader's right to a file every so often.
// A failed check fails that read and every later one.
type authorizedReaderAt struct {
	r     io.ReaderAt
	ctx   context.Context
	now   func() time.Time
	every time.Duration
	check func(context.Context) error

	mu     sync.Mutex // serialises checks
	last   atomic.Int64
	denied atomic.Pointer[error]
}

func (a *authorizedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := a.ctx.Err(); err != nil {
		return 0, err
	}
	if err := a.authorized(); err != nil {
		return 0, err
	}
	return a.r.ReadAt(p, off)
}

func (a *authorizedReaderAt) authorized() error {
	if e := a.denied.Load(); e != nil {
		return *e
	}
	if a.now().UnixNano()-a.last.Load() < int64(a.every) {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.denied.Load(); e != nil {
		return *e
	}
	if a.now().UnixNano()-a.last.Load() < int64(a.every) {
		return nil // another reader checked meanwhile
	}
	if err := a.check(a.ctx); err != nil {
		if errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("no longer allowed to read this file: %w", err)
			a.denied.Store(&err)
		}
		return err
	}
	a.last.Store(a.now().UnixNano())
	return nil
}

// PublicShop is a shop as anyone sees it, for pages without an account.
func (m *Market) PublicShop(ctx context.Context, id string) (Shop, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return Shop{}, err
	}
	return m.view("", s), nil
}

// Entry is one shop as a download face lists it.
type Entry struct {
	Shop          string
	Title         string
	Size          int64 // plaintext bytes
	ContainerSize int64
	Readable      bool // the actor may have the plaintext
	ModTime       time.Time
}

// maxEntries bounds a listing.
const maxEntries = 1000

// Entry describes one shop for the actor (its sizes are public).
func (m *Market) Entry(ctx context.Context, actor *store.Account, id string) (Entry, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return Entry{}, err
	}
	ok := false
	if actor != nil {
		if ok, err = m.mayRead(ctx, actor, s); err != nil {
			return Entry{}, storeErr(err, "ownership of "+id)
		}
	}
	return entryOf(s, ok), nil
}

func entryOf(s *store.Shop, readable bool) Entry {
	return Entry{Shop: s.ID, Title: s.Title, Size: s.Size, ContainerSize: s.BlobSize, Readable: readable,
		ModTime: time.UnixMicro(s.CreatedAt)}
}

// Entries lists the shops the actor may open: those it uploaded or is paid
// for, then those it bought, newest first, at most 1000.
func (m *Market) Entries(ctx context.Context, actor *store.Account) ([]Entry, error) {
	res, err := m.st.ListShops(ctx, store.ShopQuery{Party: actor.ID, Sort: store.SortNewest, Limit: maxEntries})
	if err != nil {
		return nil, storeErr(err, "list shops")
	}
	out := make([]Entry, 0, len(res.Shops))
	seen := make(map[string]bool, len(res.Shops))
	for i := range res.Shops {
		out = append(out, entryOf(&res.Shops[i], true))
		seen[res.Shops[i].ID] = true
	}
	items, err := m.st.Library(ctx, actor.ID, maxEntries)
	if err != nil {
		return nil, storeErr(err, "library")
	}
	for _, it := range items {
		if len(out) >= maxEntries {
			break
		}
		if seen[it.Shop] {
			continue
		}
		s, err := m.st.Shop(ctx, it.Shop)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			return nil, storeErr(err, "library shop "+it.Shop)
		}
		seen[s.ID] = true
		out = append(out, entryOf(s, true))
	}
	return out, nil
}

// Torrent is a shop's container as a single-file BitTorrent v1 torrent.
type Torrent struct {
	Shop     string
	Bytes    []byte // the bencoded .torrent
	InfoHash string // hex, v1
	Magnet   string
	WebSeed  string // the container's HTTP URL; empty when the HTTP face is off
	URL      string // where the .torrent itself is served; empty when off
	ModTime  time.Time
}

// ContainerURL is the public HTTP URL of a shop's container, "" without
// the HTTP face. It has no trailing slash: BEP 19 clients append the
// torrent's name to a web seed URL that ends in "/".
func (m *Market) ContainerURL(id string) string {
	if m.cfg.HTTPURL == "" {
		return ""
	}
	return strings.TrimRight(m.cfg.HTTPURL, "/") + "/s/" + url.PathEscape(ContainerName(id))
}

// TorrentURL is the public HTTP URL of a shop's .torrent, "" without the
// HTTP face.
func (m *Market) TorrentURL(id string) string {
	if m.cfg.HTTPURL == "" {
		return ""
	}
	return strings.TrimRight(m.cfg.HTTPURL, "/") + "/s/" + url.PathEscape(id+".torrent")
}

// Torrent describes a shop's container as a torrent anyone may seed. It is
// reproducible: the name is the content id, the creation date the
// envelope's created_at, and the web seed (url-list) sits outside the info
// dictionary, so the infohash depends on the container's bytes alone. The
// piece hashes are computed once per shop and process.
func (m *Market) Torrent(ctx context.Context, id string) (Torrent, error) {
	s, err := m.shop(ctx, id)
	if err != nil {
		return Torrent{}, err
	}
	ti, err := m.dist.info(ctx, s, m.openContainer)
	if err != nil {
		return Torrent{}, fmt.Errorf("torrent of %s: %w", id, err)
	}
	mi := metainfo.MetaInfo{InfoBytes: ti.infoBytes, CreationDate: ti.created.Unix(), CreatedBy: "shopfile",
		Comment: "shopfile shop " + s.ID + ": buy at ssh://" + m.cfg.Host}
	t := Torrent{Shop: s.ID, WebSeed: m.ContainerURL(s.ID), URL: m.TorrentURL(s.ID), ModTime: ti.created}
	if t.WebSeed != "" {
		mi.UrlList = metainfo.UrlList{t.WebSeed}
	}
	if t.Bytes, err = bencode.Marshal(mi); err != nil {
		return Torrent{}, fmt.Errorf("torrent of %s: %w", id, err)
	}
	mag, err := mi.MagnetV2()
	if err != nil {
		return Torrent{}, fmt.Errorf("magnet of %s: %w", id, err)
	}
	mag.Params.Set("xl", strconv.FormatInt(ti.length, 10))
	t.Magnet = mag.String()
	t.InfoHash = mi.HashInfoBytes().HexString()
	return t, nil
}

// distribution caches what is costly to derive from a container: its
// piece hashes. Containers never change under a shop id's content id, so
// entries stay valid; the cache is bounded and evicts the oldest.
type distribution struct {
	mu       sync.Mutex
	torrents map[string]*torrentInfo
	order    []string
}

const maxCachedTorrents = 4096

type torrentInfo struct {
	contentID string
	ready     chan struct{}
	err       error
	infoBytes []byte
	length    int64
	created   time.Time
}

type opener func(*store.Shop) (io.ReaderAt, *container.Header, func() error, error)

// info returns the bencoded info dictionary of s's container, computing it
// once even when many ask at the same time.
func (d *distribution) info(ctx context.Context, s *store.Shop, open opener) (*torrentInfo, error) {
	d.mu.Lock()
	if d.torrents == nil {
		d.torrents = map[string]*torrentInfo{}
	}
	ti := d.torrents[s.ID]
	if ti != nil && ti.contentID != s.ContentID {
		ti = nil // the shop's container was replaced (re-keyed)
	}
	owner := ti == nil
	if owner {
		ti = &torrentInfo{contentID: s.ContentID, ready: make(chan struct{})}
		if _, had := d.torrents[s.ID]; !had {
			d.order = append(d.order, s.ID)
		}
		d.torrents[s.ID] = ti
		for len(d.order) > maxCachedTorrents {
			delete(d.torrents, d.order[0])
			d.order = d.order[1:]
		}
	}
	d.mu.Unlock()
	if owner {
		// Hash to the end even if this caller leaves: others may be
		// waiting, and a shop is hashed at most once per process.
		ti.err = ti.build(s, open)
		if ti.err != nil {
			d.forget(s.ID, ti)
		}
		close(ti.ready)
	}
	select {
	case <-ti.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if ti.err != nil {
		return nil, ti.err
	}
	return ti, nil
}

func (d *distribution) forget(id string, ti *torrentInfo) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.torrents[id] == ti {
		delete(d.torrents, id)
		for i, o := range d.order {
			if o == id {
				d.order = append(d.order[:i], d.order[i+1:]...)
				break
			}
		}
	}
}

func (ti *torrentInfo) build(s *store.Shop, open opener) error {
	r, hdr, closeFn, err := open(s)
	if err != nil {
		return err
	}
	defer closeFn()
	size := hdr.Size()
	info := metainfo.Info{Name: s.ContentID + ".shop", Length: size, PieceLength: metainfo.ChoosePieceLength(size)}
	src := io.NewSectionReader(r, 0, size)
	if info.Pieces, err = metainfo.GeneratePieces(src, info.PieceLength, nil); err != nil {
		return fmt.Errorf("hashing pieces: %w", err)
	}
	if ti.infoBytes, err = bencode.Marshal(info); err != nil {
		return err
	}
	ti.length, ti.created = size, hdr.CreatedAt
	return nil
}
