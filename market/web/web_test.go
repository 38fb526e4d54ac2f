package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/market/web"
	"github.com/shopfile/shopfile/store"
	gossh "golang.org/x/crypto/ssh"
)

type site struct {
	*markettest.Env
	URL string
	srv *httptest.Server
}

// newSite runs the HTTP face on a loopback port whose URL the market knows
// from the start, as serve does.
func newSite(t *testing.T) *site {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	e := markettest.New(t, markettest.Options{Config: market.Config{HTTPURL: base, Host: "shop.example:2222"}})
	ts.Config.Handler = web.New(e.Market, web.Options{})
	ts.Start()
	t.Cleanup(ts.Close)
	return &site{Env: e, URL: base, srv: ts}
}

func (s *site) account(t *testing.T) *store.Account {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return s.Account(t, k)
}

func (s *site) upload(t *testing.T, title string, data []byte) market.Shop {
	t.Helper()
	a := s.account(t)
	sh, err := s.Market.Upload(context.Background(), a, market.UploadRequest{Name: "f.bin", Title: title, PriceSats: 1234}, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

func (s *site) container(t *testing.T, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Market.Fetch(context.Background(), s.account(t), id, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShopPage(t *testing.T) {
	s := newSite(t)
	sh := s.upload(t, `Song <script>alert(1)</script> & "more"`, randomBytes(t, 5000))
	res, body := get(t, s.URL+"/s/"+sh.ID)
	page := string(body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	text := html.UnescapeString(page)
	for _, want := range []string{sh.ID, "1234 sats", sh.Payee, "4.9 KiB", gossh.FingerprintSHA256(s.Market.HostKey()),
		"ssh -p 2222 shop.example buy " + sh.ID, "scp -P 2222 shop.example:" + sh.ID + ".shop", "shopfile open " + sh.ID + ".shop",
		`href="/s/` + sh.ID + `.shop"`, `href="/s/` + sh.ID + `.torrent"`, `href="magnet:?xt=urn:btih:`,
		`Song <script>alert(1)</script> & "more"`} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script") {
		t.Fatal("the title reached the page unescaped")
	}
	// Strict CSP: no scripts, and the one inline style pinned by its hash.
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP %q", csp)
	}
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no style element")
	}
	sum := sha256.Sum256([]byte(m[1]))
	if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Fatalf("CSP %q does not pin the inline style", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	// The price is live.
	if _, err := s.Market.Reprice(context.Background(), mustAccount(t, s, sh.Payee), sh.ID, 777); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, s.URL+"/s/"+sh.ID); !strings.Contains(string(body), "777 sats") {
		t.Fatal("the page shows a stale price")
	}
	if res, body := get(t, s.URL+"/"); res.StatusCode != 200 || !strings.Contains(string(body), "ssh -p 2222 shop.example") {
		t.Fatalf("index: %d %s", res.StatusCode, body)
	}
}

func mustAccount(t *testing.T, s *site, id string) *store.Account {
	t.Helper()
	a, err := s.Market.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestContainerDownloadAndRange(t *testing.T) {
	s := newSite(t)
	sh := s.upload(t, "x", randomBytes(t, 300_000))
	raw := s.container(t, sh.ID)
	url := s.URL + "/s/" + sh.ID + ".shop"

	res, body := get(t, url)
	if res.StatusCode != 200 || !bytes.Equal(body, raw) || res.Header.Get("Accept-Ranges") != "bytes" ||
		res.Header.Get("Content-Type") != "application/octet-stream" || res.Header.Get("ETag") != `"`+sh.ContentID+`"` {
		t.Fatalf("full download: %d, %d bytes, headers %v", res.StatusCode, len(body), res.Header)
	}
	res, body = get(t, url, "Range", "bytes=100-199")
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(body, raw[100:200]) ||
		res.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(raw)) {
		t.Fatalf("range: %d %q", res.StatusCode, res.Header.Get("Content-Range"))
	}
	res, body = get(t, url, "Range", "bytes=-10")
	if res.StatusCode != 206 || !bytes.Equal(body, raw[len(raw)-10:]) {
		t.Fatalf("suffix range: %d", res.StatusCode)
	}
	res, _ = get(t, url, "Range", fmt.Sprintf("bytes=%d-", len(raw)+5))
	if res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("range past the end: %d", res.StatusCode)
	}
	res, _ = get(t, url, "If-None-Match", `"`+sh.ContentID+`"`)
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional: %d", res.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, url, nil)
	hres, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hres.Body.Close()
	if hres.StatusCode != 200 || hres.ContentLength != int64(len(raw)) {
		t.Fatalf("HEAD: %d, length %d", hres.StatusCode, hres.ContentLength)
	}
}

func TestRefusals(t *testing.T) {
	s := newSite(t)
	sh := s.upload(t, "x", randomBytes(t, 10))
	for _, p := range []string{"/s/nosuchshop", "/s/nosuchshop.shop", "/s/nosuchshop.torrent", "/s/..%2f..%2fetc%2fpasswd",
		"/s/" + sh.ID + "/../../../etc/passwd", "/nothing", "/s/", "/s/" + sh.ID + ".exe"} {
		res, body := get(t, s.URL+p)
		if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMovedPermanently {
			t.Errorf("%s: %d %q", p, res.StatusCode, body)
		}
		if bytes.Contains(body, []byte("root:")) {
			t.Fatalf("%s leaked a file", p)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, s.URL+"/s/"+sh.ID+".shop", strings.NewReader("x"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d", m, res.StatusCode)
		}
	}
}

// The torrent describes the container piece by piece, and its web seed
// alone serves every piece: fetch each with a Range request and check its
// SHA-1, as a BitTorrent client with only the web seed would.
func TestTorrentWebSeed(t *testing.T) {
	s := newSite(t)
	sh := s.upload(t, "x", randomBytes(t, 1_500_000))
	raw := s.container(t, sh.ID)
	res, body := get(t, s.URL+"/s/"+sh.ID+".torrent")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/x-bittorrent" {
		t.Fatalf("torrent: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	mi, err := metainfo.Load(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	seed := s.URL + "/s/" + sh.ID + ".shop"
	if len(mi.UrlList) != 1 || mi.UrlList[0] != seed {
		t.Fatalf("url-list %q, want [%q]", mi.UrlList, seed)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Length != int64(len(raw)) || info.Name != sh.ContentID+".shop" || info.NumPieces() < 2 {
		t.Fatalf("info: length %d name %q pieces %d", info.Length, info.Name, info.NumPieces())
	}
	for i := 0; i < info.NumPieces(); i++ {
		p := info.Piece(i)
		res, piece := get(t, mi.UrlList[0], "Range", fmt.Sprintf("bytes=%d-%d", p.Offset(), p.Offset()+p.Length()-1))
		if res.StatusCode != 206 {
			t.Fatalf("piece %d: status %d", i, res.StatusCode)
		}
		sum := sha1.Sum(piece)
		if !bytes.Equal(sum[:], info.Pieces[i*20:i*20+20]) {
			t.Fatalf("piece %d fetched from the web seed does not verify", i)
		}
	}
	// Reproducible across requests.
	if _, again := get(t, s.URL+"/s/"+sh.ID+".torrent"); !bytes.Equal(again, body) {
		t.Fatal("the torrent changed between requests")
	}
}
