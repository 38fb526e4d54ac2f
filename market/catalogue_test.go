package market_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/store"
	"golang.org/x/crypto/ssh"
)

func newKey(t testing.TB) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoginIsTheKeyFingerprint(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	k := newKey(t)
	a := e.Account(t, k)
	if a.ID != ssh.FingerprintSHA256(k) {
		t.Fatalf("account id %q, want %q", a.ID, ssh.FingerprintSHA256(k))
	}
	again := e.Account(t, k)
	if again.WalletID != a.WalletID {
		t.Fatal("a second login made a second wallet")
	}
}

func TestUploadRoundTrip(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice := e.Account(t, newKey(t))
	for _, size := range []int{0, 1, 65536, 200_001} {
		data := randomBytes(t, size)
		s := e.Upload(t, alice, "f.bin", data, 500)
		if s.Size != int64(size) || s.PriceSats != 500 || s.Payee != alice.ID || s.Title != "f.bin" {
			t.Fatalf("size %d: shop %+v", size, s)
		}
		var got bytes.Buffer
		if _, err := e.Market.Get(ctx, alice, s.ID, &got); err != nil {
			t.Fatalf("size %d: get: %v", size, err)
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("size %d: plaintext differs", size)
		}
		var enc bytes.Buffer
		if _, err := e.Market.Fetch(ctx, alice, s.ID, &enc); err != nil {
			t.Fatal(err)
		}
		if size > 64 && bytes.Contains(enc.Bytes(), data[:64]) {
			t.Fatalf("size %d: the container holds plaintext", size)
		}
	}
}

func TestUploadRefusesBadInput(t *testing.T) {
	e := markettest.New(t, markettest.Options{Config: market.Config{MaxUpload: 1000}})
	ctx := context.Background()
	alice := e.Account(t, newKey(t))
	cases := []struct {
		name string
		req  market.UploadRequest
		size int
		want error
	}{
		{"empty name", market.UploadRequest{Name: ""}, 10, market.ErrInvalid},
		{"slash", market.UploadRequest{Name: "../etc/passwd"}, 10, market.ErrInvalid},
		{"control", market.UploadRequest{Name: "a\x00b"}, 10, market.ErrInvalid},
		{"negative price", market.UploadRequest{Name: "a", PriceSats: -5}, 10, market.ErrInvalid},
		{"title too long", market.UploadRequest{Name: "a", Title: strings.Repeat("x", 300)}, 10, market.ErrInvalid},
		{"too large", market.UploadRequest{Name: "a"}, 1001, market.ErrTooLarge},
	}
	for _, c := range cases {
		_, err := e.Market.Upload(ctx, alice, c.req, bytes.NewReader(randomBytes(t, c.size)))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	page, err := e.Market.List(ctx, alice, market.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 0 {
		t.Fatalf("refused uploads left %d shops", page.Total)
	}
	assertNoBlobs(t, e.DataDir)
}

// assertNoBlobs checks that no container or temp file was left behind.
func assertNoBlobs(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(filepath.Join(dir, "blobs"), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			t.Errorf("stray file %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// failingReader fails after n bytes: an upload aborted by the client.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection lost")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestAbortedUploadLeavesNothing(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	alice := e.Account(t, newKey(t))
	_, err := e.Market.Upload(context.Background(), alice, market.UploadRequest{Name: "x"}, &failingReader{n: 300_000})
	if err == nil {
		t.Fatal("an aborted upload succeeded")
	}
	assertNoBlobs(t, e.DataDir)
}

func TestListSearchSortPage(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice := e.Account(t, newKey(t))
	bob := e.Account(t, newKey(t))
	for i, title := range []string{"Blue Song", "Red Song", "Green Film", "blue_print 100%"} {
		_, err := e.Market.Upload(ctx, alice, market.UploadRequest{Name: "f", Title: title, PriceSats: int64(100 * (i + 1))}, strings.NewReader(title))
		if err != nil {
			t.Fatal(err)
		}
	}
	e.Upload(t, bob, "bobs.bin", []byte("bob"), 50)
	titles := func(q market.ListQuery) []string {
		p, err := e.Market.List(ctx, alice, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range p.Shops {
			out = append(out, s.Title)
		}
		return out
	}
	if got := titles(market.ListQuery{Text: "song"}); len(got) != 2 {
		t.Errorf("search song: %v", got)
	}
	if got := titles(market.ListQuery{Text: "BLUE"}); len(got) != 2 {
		t.Errorf("search is not case-insensitive: %v", got)
	}
	if got := titles(market.ListQuery{Text: "100%"}); len(got) != 1 {
		t.Errorf("a %% in a query must match literally: %v", got)
	}
	if got := titles(market.ListQuery{Sort: store.SortPriceAsc}); got[0] != "bobs.bin" || got[4] != "blue_print 100%" {
		t.Errorf("sort by price: %v", got)
	}
	if got := titles(market.ListQuery{Mine: true}); len(got) != 4 {
		t.Errorf("mine: %v", got)
	}
	p, err := e.Market.List(ctx, alice, market.ListQuery{Limit: 2, Offset: 4})
	if err != nil || p.Total != 5 || len(p.Shops) != 1 {
		t.Errorf("paging: total %d, %d shops, %v", p.Total, len(p.Shops), err)
	}
	if _, err := e.Market.List(ctx, alice, market.ListQuery{Sort: "bogus"}); !errors.Is(err, market.ErrInvalid) {
		t.Errorf("bad sort: %v", err)
	}
}

func TestRepriceOnlyByPayee(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	ctx := context.Background()
	alice := e.Account(t, newKey(t))
	bob := e.Account(t, newKey(t))
	s := e.Upload(t, alice, "a", []byte("data"), 500)
	if _, err := e.Market.Reprice(ctx, bob, s.ID, 1); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("stranger repriced: %v", err)
	}
	for _, bad := range []int64{0, -5, market.MaxPrice + 1} {
		if _, err := e.Market.Reprice(ctx, alice, s.ID, bad); !errors.Is(err, market.ErrInvalid) {
			t.Fatalf("price %d accepted: %v", bad, err)
		}
	}
	got, err := e.Market.Reprice(ctx, alice, s.ID, 700)
	if err != nil || got.PriceSats != 700 {
		t.Fatalf("reprice: %+v %v", got, err)
	}
	shown, err := e.Market.Show(ctx, bob, s.ID)
	if err != nil || shown.PriceSats != 700 {
		t.Fatalf("show after reprice: %+v %v", shown, err)
	}
	if shown.ContentHash != "" {
		t.Fatal("a stranger sees the plaintext hash")
	}
	if _, err := e.Market.Show(ctx, bob, "nosuchshop"); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("unknown shop: %v", err)
	}
	if _, err := e.Market.Show(ctx, bob, "../../x"); !errors.Is(err, market.ErrNotFound) {
		t.Fatalf("path-like id: %v", err)
	}
}

func TestStrangerCannotGet(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	alice := e.Account(t, newKey(t))
	bob := e.Account(t, newKey(t))
	s := e.Upload(t, alice, "a", randomBytes(t, 5000), 500)
	var out bytes.Buffer
	if _, err := e.Market.Get(context.Background(), bob, s.ID, &out); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("stranger got the plaintext: %v", err)
	}
	if out.Len() != 0 {
		t.Fatal("bytes were written before the refusal")
	}
	if _, err := e.Market.Licence(context.Background(), bob, s.ID); !errors.Is(err, market.ErrForbidden) {
		t.Fatalf("stranger got a licence: %v", err)
	}
	if _, err := e.Market.Fetch(context.Background(), bob, s.ID, io.Discard); err != nil {
		t.Fatalf("anyone may fetch the container: %v", err)
	}
}

func TestRestartKeepsShops(t *testing.T) {
	e := markettest.New(t, markettest.Options{})
	k := newKey(t)
	alice := e.Account(t, k)
	data := randomBytes(t, 70_000)
	s := e.Upload(t, alice, "a", data, 500)
	e.Close()
	e2 := markettest.New(t, markettest.Options{DataDir: e.DataDir})
	alice2 := e2.Account(t, k)
	var got bytes.Buffer
	if _, err := e2.Market.Get(context.Background(), alice2, s.ID, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("after restart: %v", err)
	}
	if !bytes.Equal(e.Host.PublicKey().Marshal(), e2.Host.PublicKey().Marshal()) {
		t.Fatal("the host key changed across a restart")
	}
}
