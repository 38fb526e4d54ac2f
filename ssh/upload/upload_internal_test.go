package upload

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
	gossh "golang.org/x/crypto/ssh"
)

func TestParsePath(t *testing.T) {
	root := []string{"", ".", "/", "~", "./", "//", "/./", "./."}
	for _, p := range root {
		if tg, err := parsePath(p); err != nil || !tg.root {
			t.Errorf("parsePath(%q) = %+v, %v; want the directory", p, tg, err)
		}
	}
	names := map[string]string{"song.flac": "song.flac", "/song.flac": "song.flac", "./a b.mp3": "a b.mp3",
		"~song": "~song", "ünïcode.txt": "ünïcode.txt", "x.shop": "x.shop", "...": "..."}
	for p, want := range names {
		if tg, err := parsePath(p); err != nil || tg.root || tg.name != want {
			t.Errorf("parsePath(%q) = %+v, %v; want %q", p, tg, err, want)
		}
	}
	bad := []string{"..", "../x", "a/../b", "/tmp/pwned", "../../../../tmp/pwned", "a/b", "dir/", "a\x00b", "a\nb",
		"a\x01b", "a\x7fb", "\xff\xfe", strings.Repeat("x", 256), "a\\b", "/..", "./../x"}
	for _, p := range bad {
		if tg, err := parsePath(p); err == nil || !errors.Is(err, market.ErrInvalid) {
			t.Errorf("parsePath(%q) = %+v, %v; want a refusal", p, tg, err)
		}
	}
}

func TestUploadName(t *testing.T) {
	cases := []struct{ path, file, want string }{
		{".", "song.flac", "song.flac"},
		{"", "a b.mp3", "a b.mp3"},
		{"renamed.flac", "song.flac", "renamed.flac"},
		{"/renamed.flac", "song.flac", "renamed.flac"},
	}
	for _, c := range cases {
		if got, err := uploadName(c.path, c.file); err != nil || got != c.want {
			t.Errorf("uploadName(%q, %q) = %q, %v; want %q", c.path, c.file, got, err, c.want)
		}
	}
	for _, c := range [][2]string{{"../x", "f"}, {".", "../f"}, {".", "a/b"}, {".", ""}, {".", "a\x00"}, {"tmp/x", "f"}} {
		if got, err := uploadName(c[0], c[1]); err == nil {
			t.Errorf("uploadName(%q, %q) = %q; want a refusal", c[0], c[1], got)
		}
	}
}

func newAccount(t *testing.T, e *markettest.Env) *store.Account {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return e.Account(t, k)
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// shopsOf lists the actor's shops.
func shopsOf(t *testing.T, e *markettest.Env, a *store.Account) []market.Shop {
	t.Helper()
	p, err := e.Market.List(context.Background(), a, market.ListQuery{Mine: true})
	if err != nil {
		t.Fatal(err)
	}
	return p.Shops
}

func plaintextOf(t *testing.T, e *markettest.Env, a *store.Account, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := e.Market.Get(context.Background(), a, id, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// assertEmptyDir fails unless dir has no entries (no stray spool or temp).
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("stray file %s", filepath.Join(dir, e.Name()))
	}
}

type piece struct {
	off  int64
	data []byte
}

func split(data []byte, size int) []piece {
	var ps []piece
	for off := 0; off < len(data); off += size {
		ps = append(ps, piece{int64(off), data[off:min(off+size, len(data))]})
	}
	return ps
}

// Out-of-order writes, in memory or spooled, seal the exact file.
func TestSinkReordersWrites(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	data := randomBytes(t, 700_001)
	orders := map[string]func([]piece){
		"in order": func([]piece) {},
		"reversed": func(ps []piece) {
			for i, j := 0, len(ps)-1; i < j; i, j = i+1, j-1 {
				ps[i], ps[j] = ps[j], ps[i]
			}
		},
		"shuffled": func(ps []piece) {
			r := mrand.New(mrand.NewPCG(7, 7))
			r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		},
		"pairs swapped": func(ps []piece) {
			for i := 0; i+1 < len(ps); i += 2 {
				ps[i], ps[i+1] = ps[i+1], ps[i]
			}
		},
	}
	for name, reorder := range orders {
		for _, mem := range []int64{0, 64 << 10, 8 << 20} {
			spool := t.TempDir()
			s := newSink(context.Background(), e.Market, a, "f-"+name, 1<<20, mem, spool)
			ps := split(data, 32<<10)
			reorder(ps)
			for _, p := range ps {
				if n, err := s.WriteAt(p.data, p.off); err != nil || n != len(p.data) {
					t.Fatalf("%s/%d: WriteAt(%d) = %d, %v", name, mem, p.off, n, err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatalf("%s/%d: Close: %v", name, mem, err)
			}
			shop := s.result()
			if shop.Name != "f-"+name || shop.Title != "f-"+name || shop.PriceSats != 100 || shop.Size != int64(len(data)) {
				t.Fatalf("%s/%d: shop %+v", name, mem, shop)
			}
			if !bytes.Equal(plaintextOf(t, e, a, shop.ID), data) {
				t.Fatalf("%s/%d: sealed bytes differ", name, mem)
			}
			assertEmptyDir(t, spool) // the spool file was unlinked at once
		}
	}
	assertEmptyDir(t, filepath.Join(e.DataDir, "blobs", "tmp"))
}

func TestSinkEmptyFile(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	s := newSink(context.Background(), e.Market, a, "empty", 1<<20, 1<<20, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.result().Size != 0 || len(plaintextOf(t, e, a, s.result().ID)) != 0 {
		t.Fatalf("empty upload: %+v", s.result())
	}
}

// Every way an upload can go wrong leaves no shop and no file.
func TestSinkRefusals(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	ten := bytes.Repeat([]byte("x"), 10)
	cases := map[string]struct {
		writes  []piece
		abort   bool
		wantErr error // from the failing write, or from Close
	}{
		"gap":               {writes: []piece{{0, ten}, {20, ten}}, wantErr: market.ErrInvalid},
		"gap at the start":  {writes: []piece{{10, ten}}, wantErr: market.ErrInvalid},
		"rewrite":           {writes: []piece{{0, ten}, {5, ten}}, wantErr: market.ErrInvalid},
		"overlap parked":    {writes: []piece{{0, ten}, {20, ten}, {25, ten}}, wantErr: market.ErrInvalid},
		"overlap before":    {writes: []piece{{0, ten}, {20, ten}, {15, ten}}, wantErr: market.ErrInvalid},
		"negative offset":   {writes: []piece{{-1, ten}}, wantErr: market.ErrInvalid},
		"past the limit":    {writes: []piece{{0, ten}, {95, ten}}, wantErr: market.ErrTooLarge},
		"far past limit":    {writes: []piece{{1 << 62, ten}}, wantErr: market.ErrTooLarge},
		"offset overflow":   {writes: []piece{{1<<63 - 5, ten}}, wantErr: market.ErrInvalid},
		"interrupted":       {writes: []piece{{0, ten}, {10, ten}}, abort: true},
		"interrupted early": {abort: true},
	}
	spool := t.TempDir()
	for name, c := range cases {
		s := newSink(context.Background(), e.Market, a, "bad", 100, 15, spool)
		var werr error
		for _, p := range c.writes {
			if _, err := s.WriteAt(p.data, p.off); err != nil {
				werr = err
				break
			}
		}
		if c.abort {
			s.TransferError(io.ErrUnexpectedEOF)
		}
		cerr := s.Close()
		if cerr == nil {
			t.Fatalf("%s: Close succeeded; want the upload refused", name)
		}
		if c.wantErr != nil && !errors.Is(werr, c.wantErr) && !errors.Is(cerr, c.wantErr) {
			t.Fatalf("%s: write %v, close %v; want %v", name, werr, cerr, c.wantErr)
		}
		if _, err := s.WriteAt(ten, 0); err == nil {
			t.Fatalf("%s: a write after the failure was accepted", name)
		}
		if err := s.Close(); err == nil {
			t.Fatalf("%s: a second Close succeeded", name)
		}
	}
	if got := shopsOf(t, e, a); len(got) != 0 {
		t.Fatalf("refused uploads made shops: %+v", got)
	}
	assertEmptyDir(t, spool)
	assertEmptyDir(t, filepath.Join(e.DataDir, "blobs", "tmp"))
}

// The session ending cancels the sealer; nothing is created.
func TestSinkStopsWithItsSession(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	a := newAccount(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	s := newSink(ctx, e.Market, a, "x", 1<<20, 1<<20, t.TempDir())
	if _, err := s.WriteAt(randomBytes(t, 1000), 0); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.Close(); err == nil {
		t.Fatal("an upload whose session ended was sealed")
	}
	if got := shopsOf(t, e, a); len(got) != 0 {
		t.Fatalf("shops %+v", got)
	}
}

func TestExactReader(t *testing.T) {
	r := &exactReader{r: strings.NewReader("hello world"), left: 5}
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "hello" {
		t.Fatalf("%q, %v", b, err)
	}
	short := &exactReader{r: strings.NewReader("hi"), left: 5}
	if _, err := io.ReadAll(short); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short stream: %v", err)
	}
}
