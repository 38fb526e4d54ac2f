// Package bench measures shopfile's purchase path: durable purchases per
// second through market.Buy (or through real SSH sessions), their
// acknowledgement latency and the ledger's batch sizes, against a baseline
// of one purchase per transaction measured in the same run. Every run ends
// with the ledger's invariant checks and fails if one is broken.
package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/shopfile/shopfile/market/keys"
	"github.com/shopfile/shopfile/market/ledger"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/store/blob"
	"github.com/shopfile/shopfile/store/sqlstore"
	gossh "golang.org/x/crypto/ssh"
)

// Funds every seeded wallet starts with: far more than any run spends, so a
// refusal for insufficient funds is a bug the checks report.
const seedFunds = 1_000_000_000_000

// world is a real shop on disk: SQLite whose WAL is fsynced before any acknowledgement (or a fresh
// PostgreSQL database, durable at COMMIT), the ledger writer and the market, seeded with funded
// accounts and a catalogue.
type world struct {
	dir    string
	st     *sqlstore.DB
	drop   func() error // drops the PostgreSQL database made for the run
	led    *ledger.Ledger
	m      *market.Market
	host   gossh.Signer
	feeBps int64

	accounts []*store.Account // sorted by id
	shops    []benchShop
	seeded   int64 // deposit transfers written by the seeding
}

type benchShop struct {
	id    string
	payee int // index into accounts
	price int64
}

type worldOptions struct {
	dir      string
	accounts int
	shops    int
	extra    []gossh.PublicKey // real keys to seed as accounts too (SSH clients)
	maxBatch int
	feeBps   int64
	log      io.Writer
	dbDriver string // "" or "sqlite": SQLite in dir; "postgres": a fresh database on the server dbDSN names
	dbDSN    string
}

// openWorld creates the shop in dir, which must not hold one already.
func openWorld(ctx context.Context, o worldOptions) (*world, error) {
	if o.accounts < 2 {
		return nil, fmt.Errorf("need at least 2 accounts, got %d", o.accounts)
	}
	if o.shops < 1 || o.shops > o.accounts {
		return nil, fmt.Errorf("need between 1 and %d shops, got %d", o.accounts, o.shops)
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	st, drop, err := openBenchStore(ctx, o)
	if err != nil {
		return nil, err
	}
	w := &world{dir: o.dir, st: st, drop: drop, feeBps: o.feeBps}
	if err := w.build(ctx, o); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *world) build(ctx context.Context, o worldOptions) error {
	var err error
	if w.host, err = keys.HostKey(filepath.Join(o.dir, "ssh", "host_ed25519")); err != nil {
		return err
	}
	escrow, err := keys.Escrow(filepath.Join(o.dir, "keys", "escrow.age"))
	if err != nil {
		return err
	}
	sealer, err := keys.SealKey(filepath.Join(o.dir, "keys", "seal.key"))
	if err != nil {
		return err
	}
	blobs, err := blob.NewDir(filepath.Join(o.dir, "blobs"))
	if err != nil {
		return err
	}
	start := time.Now()
	if err := w.seedAccounts(ctx, o); err != nil {
		return err
	}
	if err := w.seedShops(ctx, o.shops); err != nil {
		return err
	}
	progress(o.log, "seeded %d funded accounts and %d shops in %v", len(w.accounts), len(w.shops), time.Since(start).Round(time.Millisecond))
	w.led = ledger.New(w.st, ledger.Options{MaxBatch: o.maxBatch})
	w.m, err = market.New(ctx, market.Config{Host: "127.0.0.1:2222", FeeBps: o.feeBps, Chain: "none"},
		market.Deps{Store: w.st, Blobs: blobs, Ledger: w.led, Host: w.host, Escrow: escrow.Recipient(), Sealer: sealer,
			Logger: log.New(io.Discard)})
	return err
}

// openBenchStore opens a fresh database: SQLite in the data directory, or
// a database of its own (dropped afterwards) on a PostgreSQL server.
func openBenchStore(ctx context.Context, o worldOptions) (*sqlstore.DB, func() error, error) {
	switch o.dbDriver {
	case "", "sqlite":
		dbPath := filepath.Join(o.dir, "shop.db")
		if _, err := os.Stat(dbPath); err == nil {
			return nil, nil, fmt.Errorf("%s already exists: the bench needs a fresh data directory", dbPath)
		}
		st, err := sqlstore.OpenSQLite(ctx, dbPath)
		return st, nil, err
	case "postgres":
		if o.dbDSN == "" {
			return nil, nil, errors.New("--db-driver postgres needs --db-dsn (a server where the bench may create a database)")
		}
		dsn, drop, err := sqlstore.TempDatabase(ctx, o.dbDSN, "shopfile_bench")
		if err != nil {
			return nil, nil, err
		}
		st, err := sqlstore.OpenPostgres(ctx, dsn)
		if err != nil {
			return nil, nil, errors.Join(err, drop())
		}
		return st, drop, nil
	}
	return nil, nil, fmt.Errorf("--db-driver %q: want sqlite or postgres", o.dbDriver)
}

// close stops the writer and closes the database (SQLite's data stays; a
// PostgreSQL database made for the run is dropped).
func (w *world) close() {
	if w.led != nil {
		_ = w.led.Close()
	}
	_ = w.st.Close()
	if w.drop != nil {
		_ = w.drop()
	}
}

// BenchKey derives the i-th synthetic account key. Nobody holds its
// private half: these accounts buy in process, never over SSH.
func benchKey(i int) gossh.PublicKey {
	seed := sha256.Sum256([]byte("shopfile-bench-account:" + strconv.Itoa(i)))
	pub, err := gossh.NewPublicKey(ed25519.PublicKey(seed[:]))
	if err != nil {
		panic(err) // 32 bytes always make an ed25519 key
	}
	return pub
}

func (w *world) seedAccounts(ctx context.Context, o worldOptions) error {
	keys := make([]gossh.PublicKey, 0, o.accounts+len(o.extra))
	keys = append(keys, o.extra...)
	for i := len(o.extra); i < o.accounts; i++ {
		keys = append(keys, benchKey(i))
	}
	seed := make([]sqlstore.SeedAccount, len(keys))
	for i, k := range keys {
		seed[i] = sqlstore.SeedAccount{ID: gossh.FingerprintSHA256(k),
			PublicKey: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))), Funds: seedFunds}
	}
	// In key order the inserts append to every index: seeding stays fast.
	slices.SortFunc(seed, func(a, b sqlstore.SeedAccount) int { return strings.Compare(a.ID, b.ID) })
	wallets, err := w.st.SeedAccounts(ctx, seed)
	if err != nil {
		return err
	}
	w.accounts = make([]*store.Account, len(seed))
	for i, s := range seed {
		w.accounts[i] = &store.Account{ID: s.ID, PublicKey: s.PublicKey, WalletID: wallets[i], Roles: []string{}}
	}
	w.seeded = int64(len(seed))
	return nil
}

// seedShops makes the catalogue: each shop is paid to a different account,
// spread over the whole account range, at a price from 100 to 10,000 sats.
func (w *world) seedShops(ctx context.Context, n int) error {
	r := rand.New(rand.NewPCG(1, 2))
	sc := newScrambler(len(w.accounts), 7)
	now := time.Now().UnixMicro()
	shops := make([]store.Shop, n)
	w.shops = make([]benchShop, n)
	for i := range shops {
		payee := sc.at(uint64(i))
		var item [16]byte
		binary.BigEndian.PutUint64(item[:8], r.Uint64())
		binary.BigEndian.PutUint64(item[8:], r.Uint64())
		id := ids.Shop(item)
		price := 100 + r.Int64N(9901)
		sum := sha256.Sum256(item[:])
		a := w.accounts[payee].ID
		shops[i] = store.Shop{ID: id, Uploader: a, Payee: a, Name: fmt.Sprintf("bench-%d.bin", i),
			Title: fmt.Sprintf("Bench file %d", i), Size: 1 << 20, PriceSats: price, ContentHash: hex.EncodeToString(sum[:]),
			ContentID: hex.EncodeToString(sum[:]), FileKey: sum[:], BlobSize: 1<<20 + 512, CreatedAt: now, UpdatedAt: now}
		w.shops[i] = benchShop{id: id, payee: payee, price: price}
	}
	return w.st.SeedShops(ctx, shops)
}

// scrambler maps a popularity rank to an index, so popular accounts and
// shops are spread over the key space (and the database's pages) instead
// of sitting side by side.
type scrambler struct{ n, mul, off uint64 }

func newScrambler(n int, salt uint64) scrambler {
	mul := uint64(2654435761) % uint64(n)
	for mul < 2 || gcd(mul, uint64(n)) != 1 {
		mul++
	}
	return scrambler{n: uint64(n), mul: mul, off: (salt * 40503) % uint64(n)}
}

func (s scrambler) at(rank uint64) int { return int((rank%s.n*s.mul + s.off) % s.n) }

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// picker draws Zipf-distributed buyers and shops. Each worker has its own.
type picker struct {
	buyers, shops   *rand.Zipf
	buyerSc, shopSc scrambler
	nShops          int
}

// Zipf shapes. Shops are sharply skewed (a few hits take a large share of
// sales); buyers are skewed too but flatter, since one person buys a
// bounded number of files.
const (
	shopZipfS, shopZipfV   = 1.1, 1
	buyerZipfS, buyerZipfV = 1.07, 100
)

func newPicker(seed uint64, nBuyers, nShops int) *picker {
	r := rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
	return &picker{
		buyers:  rand.NewZipf(r, buyerZipfS, buyerZipfV, uint64(nBuyers-1)),
		shops:   rand.NewZipf(r, shopZipfS, shopZipfV, uint64(nShops-1)),
		buyerSc: newScrambler(nBuyers, 3), shopSc: newScrambler(nShops, 5), nShops: nShops,
	}
}

func (p *picker) buyer() int { return p.buyerSc.at(p.buyers.Uint64()) }

// shop draws a shop for buyer that it does not own yet and is not paid
// for, marking it owned; the next less popular one when the draw is taken.
func (p *picker) shop(w *world, own *owned, buyer int) (int, bool) {
	mayBuy := func(rank uint64) bool { return w.shops[p.shopSc.at(rank)].payee != buyer }
	rank, ok := own.take(buyer, p.shops.Uint64(), mayBuy)
	if !ok {
		return 0, false
	}
	return p.shopSc.at(rank), true
}

// owned remembers which (buyer, shop rank) pairs are taken (bought, or the
// buyer's own shop), so the load is made of new purchases rather than
// repeats. Every pick shares one rank-to-shop scrambler, so a buyer's taken
// ranks form runs; each taken rank points at a rank after it that may be
// free (a union-find over "next free rank", with path compression). A hot
// buyer then finds its next free rank in a step or two instead of probing
// every shop it already owns, which cost the benchmark's buyers about a
// tenth of the machine's CPU at a million accounts.
type owned struct {
	shards [256]struct {
		mu   sync.Mutex
		next map[uint64]uint64 // buyer*nShops+rank of a taken rank → a rank to try after it
	}
	nShops uint64
}

func newOwned(nShops int) *owned {
	o := &owned{nShops: uint64(nShops)}
	for i := range o.shards {
		o.shards[i].next = map[uint64]uint64{}
	}
	return o
}

// take marks the first rank at or after rank (wrapping round) that buyer has
// not taken and mayBuy, and returns it; false once every rank is taken.
func (o *owned) take(buyer int, rank uint64, mayBuy func(rank uint64) bool) (uint64, bool) {
	sh := &o.shards[buyer%len(o.shards)]
	base := uint64(buyer) * o.nShops
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var path []uint64
	r := rank % o.nShops
	for steps := uint64(0); steps <= o.nShops; steps++ {
		after, taken := sh.next[base+r]
		if !taken {
			sh.next[base+r] = (r + 1) % o.nShops
			path = append(path, base+r)
			if mayBuy(r) {
				for _, k := range path { // every rank passed is taken: skip to after r
					sh.next[k] = (r + 1) % o.nShops
				}
				return r, true
			}
			after = (r + 1) % o.nShops
		} else {
			path = append(path, base+r)
		}
		r = after
	}
	return 0, false
}

func progress(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", a...)
	}
}

// errBroken marks a failed invariant check.
var errBroken = errors.New("ledger invariant broken")
