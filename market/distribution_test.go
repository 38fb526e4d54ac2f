package market_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
)

func fetchContainer(t *testing.T, e *markettest.Env, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	a := e.Account(t, newKey(t))
	if _, err := e.Market.Fetch(context.Background(), a, id, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(t *testing.T, f *market.File) []byte {
	t.Helper()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestContainerFileIsForAnyone(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	alice := e.Account(t, newKey(t))
	s := e.Upload(t, alice, "song.flac", randomBytes(t, 200_000), 700)
	f, err := e.Market.ContainerFile(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Name != s.ID+".shop" || f.Plaintext || f.ContentID != s.ContentID {
		t.Fatalf("file %+v", f)
	}
	if got, want := readAll(t, f), fetchContainer(t, e, s.ID); !bytes.Equal(got, want) || f.Size != int64(len(want)) {
		t.Fatalf("container differs from fetch (%d vs %d bytes)", len(got), len(want))
	}
	if _, err := e.Market.ContainerFile(context.Background(), "nosuchshop"); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("unknown shop: %v", err)
	}
	if _, err := e.Market.ContainerFile(context.Background(), "../../etc/passwd"); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("path as shop id: %v", err)
	}
}

func TestPlaintextFileOnlyForThoseWhoMayRead(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice, bob := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	data := randomBytes(t, 3*65536+123)
	s := e.Upload(t, alice, "film.mkv", data, 500)

	if _, err := e.Market.PlaintextFile(ctx, bob, s.ID); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("stranger: %v, want ErrForbidden", err)
	}
	if _, err := e.Market.PlaintextFile(ctx, nil, s.ID); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("no account: %v, want ErrForbidden", err)
	}
	if _, err := e.Market.PlaintextFile(ctx, alice, "nosuchshop"); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("unknown shop: %v", err)
	}
	e.Fund(t, bob, 500)
	if _, err := e.Market.Buy(ctx, bob, s.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	for name, actor := range map[string]*store.Account{"uploader": alice, "buyer": bob} {
		f, err := e.Market.PlaintextFile(ctx, actor, s.ID)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !f.Plaintext || f.Size != int64(len(data)) || f.Name != s.ID {
			t.Fatalf("%s: file %+v", name, f)
		}
		if got := readAll(t, f); !bytes.Equal(got, data) {
			t.Fatalf("%s: plaintext differs", name)
		}
		f.Close()
	}
}

// SFTP reads 32 KiB at a time, from many workers at once.
func TestPlaintextFileRandomConcurrentReads(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	alice := e.Account(t, newKey(t))
	data := randomBytes(t, 5*65536+777)
	s := e.Upload(t, alice, "x", data, 1)
	f, err := e.Market.PlaintextFile(context.Background(), alice, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			buf := make([]byte, 32<<10)
			for range 200 {
				off := rng.Int64N(int64(len(data)) + 10)
				n, err := f.ReadAt(buf, off)
				want := data[min(off, int64(len(data))):min(off+int64(len(buf)), int64(len(data)))]
				if !bytes.Equal(buf[:n], want) {
					t.Errorf("ReadAt(%d): wrong bytes", off)
					return
				}
				if n < len(buf) && err != io.EOF || n == len(buf) && err != nil && err != io.EOF {
					t.Errorf("ReadAt(%d) = %d, %v", off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func blobPath(e *markettest.Env, id string) string {
	return filepath.Join(e.DataDir, "blobs", id[:2], id+".shop")
}

// A damaged chunk mid-file is an error, never an early end of file: a face
// passing io.EOF on would hand out a short file as if complete.
func TestPlaintextFileDamageIsAnErrorNotEOF(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	alice := e.Account(t, newKey(t))
	data := randomBytes(t, 6*65536)
	s := e.Upload(t, alice, "x", data, 1)
	p := blobPath(e, s.ID)
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x40
	if err := os.WriteFile(p, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := e.Market.PlaintextFile(context.Background(), alice, s.ID)
	if err != nil {
		t.Fatal(err) // the header and the final chunk are intact
	}
	defer f.Close()
	_, err = io.ReadAll(io.NewSectionReader(f, 0, f.Size))
	if err == nil || errors.Is(err, io.EOF) || !errors.Is(err, container.ErrCorruptChunk) {
		t.Fatalf("reading a damaged file: %v, want a corrupt-chunk error that is not EOF", err)
	}
}

func TestFilesStopWithTheirContext(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	alice := e.Account(t, newKey(t))
	s := e.Upload(t, alice, "x", randomBytes(t, 100_000), 1)
	ctx, cancel := context.WithCancel(context.Background())
	plain, err := e.Market.PlaintextFile(ctx, alice, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	enc, err := e.Market.ContainerFile(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	cancel()
	for _, f := range []*market.File{plain, enc} {
		if _, err := f.ReadAt(make([]byte, 10), 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s after cancel: %v", f.Name, err)
		}
	}
}

func TestEntriesListMineAndBought(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice, bob := e.Account(t, newKey(t)), e.Account(t, newKey(t))
	a1 := e.Upload(t, alice, "a1", randomBytes(t, 10), 5)
	b1 := e.Upload(t, bob, "b1", randomBytes(t, 20), 5)
	e.Upload(t, bob, "b2", randomBytes(t, 30), 5)
	e.Fund(t, alice, 100)
	if _, err := e.Market.Buy(ctx, alice, b1.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	got, err := e.Market.Entries(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Shop != a1.ID || got[1].Shop != b1.ID || !got[0].Readable || !got[1].Readable {
		t.Fatalf("entries %+v", got)
	}
	if got[1].Size != 20 || got[1].ContainerSize <= 20 {
		t.Fatalf("sizes %+v", got[1])
	}
	ent, err := e.Market.Entry(ctx, alice, b1.ID)
	if err != nil || !ent.Readable {
		t.Fatalf("entry of a bought shop: %+v %v", ent, err)
	}
	other, err := e.Market.Entry(ctx, e.Account(t, newKey(t)), b1.ID)
	if err != nil || other.Readable {
		t.Fatalf("entry for a stranger: %+v %v", other, err)
	}
}

func TestTorrentIsReproducibleAndVerifies(t *testing.T) {
	const base = "http://shop.example:8080"
	e := markettest.New(t, markettest.Options{Config: market.Config{HTTPURL: base + "/"}})
	ctx := context.Background()
	alice := e.Account(t, newKey(t))
	s := e.Upload(t, alice, "album.zip", randomBytes(t, 700_000), 900)
	raw := fetchContainer(t, e, s.ID)

	tor, err := e.Market.Torrent(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantSeed := base + "/s/" + s.ID + ".shop"
	if tor.WebSeed != wantSeed || tor.URL != base+"/s/"+s.ID+".torrent" {
		t.Fatalf("urls %q %q", tor.WebSeed, tor.URL)
	}
	mi, err := metainfo.Load(bytes.NewReader(tor.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	if len(mi.UrlList) != 1 || mi.UrlList[0] != wantSeed || strings.HasSuffix(mi.UrlList[0], "/") {
		t.Fatalf("url-list %q, want exactly %q", mi.UrlList, wantSeed)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != s.ContentID+".shop" || info.Length != int64(len(raw)) || len(info.Files) != 0 {
		t.Fatalf("info name %q length %d files %d", info.Name, info.Length, len(info.Files))
	}
	f, _ := os.Open(blobPath(e, s.ID))
	h, err := container.ReadHeader(f, int64(len(raw)))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if mi.CreationDate != h.CreatedAt.Unix() {
		t.Fatalf("creation date %d, envelope created_at %d", mi.CreationDate, h.CreatedAt.Unix())
	}
	for i := 0; i < info.NumPieces(); i++ {
		p := info.Piece(i)
		sum := sha1.Sum(raw[p.Offset() : p.Offset()+p.Length()])
		if !bytes.Equal(sum[:], info.Pieces[i*20:i*20+20]) {
			t.Fatalf("piece %d does not verify against the container", i)
		}
	}
	if tor.InfoHash != mi.HashInfoBytes().HexString() {
		t.Fatalf("infohash %s vs %s", tor.InfoHash, mi.HashInfoBytes().HexString())
	}
	mag, err := metainfo.ParseMagnetV2Uri(tor.Magnet)
	if err != nil {
		t.Fatal(err)
	}
	if !mag.InfoHash.Ok || mag.InfoHash.Value.HexString() != tor.InfoHash || mag.Params.Get("ws") != wantSeed || mag.DisplayName != info.Name {
		t.Fatalf("magnet %q parses to %+v", tor.Magnet, mag)
	}

	// Reproducible: a fresh market on the same data (no cache) builds the
	// same bytes, and the infohash does not depend on the web seed.
	dir := e.DataDir
	e.Close()
	e2 := markettest.New(t, markettest.Options{DataDir: dir, Config: market.Config{HTTPURL: base}})
	again, err := e2.Market.Torrent(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes, tor.Bytes) {
		t.Fatal("two builds of the torrent differ")
	}
	e2.Close()
	e3 := markettest.New(t, markettest.Options{DataDir: dir})
	noHTTP, err := e3.Market.Torrent(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	mi3, _ := metainfo.Load(bytes.NewReader(noHTTP.Bytes))
	if noHTTP.InfoHash != tor.InfoHash || len(mi3.UrlList) != 0 || noHTTP.WebSeed != "" || noHTTP.URL != "" ||
		strings.Contains(noHTTP.Magnet, "ws=") {
		t.Fatalf("without HTTP: infohash %s (want %s), url-list %q, magnet %q", noHTTP.InfoHash, tor.InfoHash, mi3.UrlList, noHTTP.Magnet)
	}
	if _, err := e3.Market.Torrent(ctx, "nosuchshop"); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("unknown shop: %v", err)
	}
}

// Many asking at once hash the container once and agree.
func TestTorrentConcurrent(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	alice := e.Account(t, newKey(t))
	s := e.Upload(t, alice, "x", randomBytes(t, 300_000), 1)
	var wg sync.WaitGroup
	hashes := make([]string, 16)
	for i := range hashes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tor, err := e.Market.Torrent(context.Background(), s.ID)
			if err != nil {
				t.Error(err)
				return
			}
			hashes[i] = tor.InfoHash
		}()
	}
	wg.Wait()
	for _, h := range hashes {
		if h != hashes[0] || len(h) != 40 {
			t.Fatalf("infohashes differ: %v", hashes)
		}
	}
	if _, err := hex.DecodeString(hashes[0]); err != nil {
		t.Fatal(err)
	}
}
