// Package web is the shop's public HTTP face, for people and programs
// without an SSH key at hand:
//
//	/s/SHOP          a small page: title, size, live price, payee, how to
//	                 buy over SSH, the host key fingerprint
//	/s/SHOP.shop     the encrypted container, with Range support
//	/s/SHOP.torrent  a single-file torrent of the container whose web seed
//	                 (BEP 19 url-list) is the /s/SHOP.shop URL
//	/s/SHOP.json     the live price and the receipt key, for pay buttons
//	/s/SHOP/content  402 Payment Required, or the plaintext for a receipt
//	/button.js       the pay button publishers embed; /pay/… and /pair/…
//	                 are its shop-origin side (pay.go)
//
// It uses only the market's API and serves nothing secret: the container is
// encrypted and public by design. Pages carry a strict Content-Security-
// Policy: no scripts at all, one inline style pinned by its hash.
package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/log"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/receipt"
	gossh "golang.org/x/crypto/ssh"
)

// Options tune the HTTP face.
type Options struct {
	Logger *log.Logger
}

// Server is the HTTP face; it is an http.Handler.
type Server struct {
	m    *market.Market
	log  *log.Logger
	mux  *http.ServeMux
	page *template.Template
	csp  string
	pay  *payFace // the pay button, pairing, receipts (pay.go)
}

// New builds the HTTP face for m. Its public URLs come from the market's
// Config().HTTPURL.
func New(m *market.Market, o Options) *Server {
	s := &Server{m: m, log: o.Logger, mux: http.NewServeMux(), page: template.Must(template.New("page").Parse(pageHTML))}
	if s.log == nil {
		s.log = log.New(io.Discard)
	}
	sum := sha256.Sum256([]byte(pageCSS))
	s.csp = "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	s.mux.HandleFunc("GET /s/{name}", s.serveShop)
	s.mux.HandleFunc("GET /{$}", s.serveIndex)
	s.pay = newPayFace(m.Config().HTTPURL, nil)
	s.routePay()
	return s
}

// ServeHTTP sets the headers every response carries, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) serveShop(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	switch {
	case strings.HasSuffix(name, ".shop"):
		s.serveContainer(w, r, strings.TrimSuffix(name, ".shop"))
	case strings.HasSuffix(name, ".torrent"):
		s.serveTorrent(w, r, strings.TrimSuffix(name, ".torrent"))
	case strings.HasSuffix(name, ".json"):
		s.serveShopJSON(w, r, strings.TrimSuffix(name, ".json"))
	default:
		s.servePage(w, r, name)
	}
}

// fail answers with the status an error deserves, without internals.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, market.ErrNotFound):
		http.Error(w, "no such shop", http.StatusNotFound)
	case errors.Is(err, market.ErrUnavailable):
		s.log.Error("http", "path", r.URL.Path, "err", err)
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
	default:
		s.log.Error("http", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

// serveContainer serves SHOP.shop with Range, If-Range and conditional
// requests (http.ServeContent), validated by the content id.
func (s *Server) serveContainer(w http.ResponseWriter, r *http.Request, id string) {
	f, err := s.m.ContainerFile(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+f.Name+`"`)
	h.Set("ETag", `"`+f.ContentID+`"`)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*") // web seeds in browsers
	http.ServeContent(w, r, f.Name, f.ModTime, io.NewSectionReader(f, 0, f.Size))
}

func (s *Server) serveTorrent(w http.ResponseWriter, r *http.Request, id string) {
	t, err := s.m.Torrent(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-bittorrent")
	h.Set("Content-Disposition", `attachment; filename="`+t.Shop+`.torrent"`)
	h.Set("ETag", `"`+t.InfoHash+`-`+strconv.Itoa(len(t.Bytes))+`"`)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, t.Shop+".torrent", t.ModTime, bytes.NewReader(t.Bytes))
}

// pageData is what the shop page shows.
type pageData struct {
	CSS          template.CSS
	Shop         market.Shop
	Size         string
	HostKeyFP    string
	SSH          string // "ssh -p 2222 host" or "ssh host"
	SCP          string // "scp -P 2222 host:" or "scp host:"
	ContainerURL string
	TorrentURL   string
	Magnet       template.URL
	Button       string // the pay button snippet, "" without a public URL
	ReceiptKey   string // base64url Ed25519 key receipts verify with
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request, id string) {
	shop, err := s.m.PublicShop(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := s.common()
	d.Shop, d.Size = shop, market.FormatBytes(shop.Size)
	d.ContainerURL = "/s/" + market.ContainerName(shop.ID)
	d.TorrentURL = "/s/" + shop.ID + ".torrent"
	if base := s.m.Config().HTTPURL; base != "" {
		d.Button = market.ButtonSnippet(base, shop.ID)
	}
	d.ReceiptKey = receipt.EncodeKey(s.m.ReceiptKey())
	if t, err := s.m.Torrent(r.Context(), shop.ID); err == nil {
		d.Magnet = template.URL(t.Magnet) // our own magnet: a fixed scheme and escaped parameters
	} else {
		s.log.Warn("http: torrent", "shop", shop.ID, "err", err)
	}
	s.render(w, d)
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	s.render(w, s.common())
}

func (s *Server) common() pageData {
	cfg := s.m.Config()
	d := pageData{CSS: template.CSS(pageCSS), HostKeyFP: gossh.FingerprintSHA256(s.m.HostKey())}
	host, port, err := net.SplitHostPort(cfg.Host)
	if err != nil || port == "22" {
		host = strings.TrimSuffix(cfg.Host, ":22")
		d.SSH, d.SCP = "ssh "+host, "scp "+host+":"
	} else {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		d.SSH, d.SCP = "ssh -p "+port+" "+host, "scp -P "+port+" "+host+":"
	}
	return d
}

func (s *Server) render(w http.ResponseWriter, d pageData) {
	var buf bytes.Buffer
	if err := s.page.Execute(&buf, d); err != nil {
		s.log.Error("http: page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache") // the price is live
	_, _ = w.Write(buf.Bytes())
}

// Timeouts of the http.Server that serves this face.
const (
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 2 * time.Minute
)

// NewHTTPServer wraps h in an http.Server with conservative timeouts.
// There is no write timeout: containers may be large.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: ReadHeaderTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: 16 << 10}
}

const pageCSS = `body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fdfdfd}
h1{font-size:1.6rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{color:#666}dd{margin:0;overflow-wrap:anywhere}code,pre{font:14px/1.4 ui-monospace,monospace}
pre{background:#f2f2f2;padding:.8rem;overflow-x:auto;border-radius:4px}.price{font-weight:bold}footer{margin-top:2rem;color:#666;font-size:.9rem}`

const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{if .Shop.ID}}{{.Shop.Title}} · shopfile{{else}}shopfile{{end}}</title>
<style>{{.CSS}}</style></head><body>
{{if .Shop.ID}}<main>
<p>shop <code>{{.Shop.ID}}</code></p>
<h1>{{.Shop.Title}}</h1>
{{if .Shop.Description}}<p>{{.Shop.Description}}</p>{{end}}
<dl>
<dt>price</dt><dd class="price">{{.Shop.PriceSats}} sats</dd>
<dt>size</dt><dd>{{.Size}} ({{.Shop.Size}} bytes)</dd>
<dt>payee</dt><dd><code>{{.Shop.Payee}}</code></dd>
<dt>sales</dt><dd>{{.Shop.Sales}}</dd>
<dt>content id</dt><dd><code>{{.Shop.ContentID}}</code></dd>
<dt>shop host key</dt><dd><code>{{.HostKeyFP}}</code></dd>
<dt>receipt key</dt><dd><code id="receipt-key">{{.ReceiptKey}}</code> (Ed25519, base64url)</dd>
</dl>
<h2>Buy it over SSH</h2>
<p>Your SSH key is your account. Top up your wallet, buy, then download:</p>
<pre>{{.SSH}} wallet
{{.SSH}} buy {{.Shop.ID}}
{{.SCP}}{{.Shop.ID}} .</pre>
<p>Or open the encrypted file anywhere; it knows where its shop is:</p>
<pre>{{.SCP}}{{.Shop.ID}}.shop .
shopfile open {{.Shop.ID}}.shop</pre>
<p>Check that the shop's host key is <code>{{.HostKeyFP}}</code> when you connect.</p>
<h2>Download the encrypted file</h2>
<ul>
<li><a href="{{.ContainerURL}}" download>{{.Shop.ID}}.shop</a> (anyone may copy it; only buyers can open it)</li>
<li><a href="{{.TorrentURL}}">{{.Shop.ID}}.torrent</a>{{if .Magnet}} · <a href="{{.Magnet}}">magnet link</a>{{end}}</li>
</ul>
{{if .Button}}<h2>Sell it on your web page</h2>
<p>Paste this where the pay button should be. Readers with a paired browser pay with one click; your page gets a
<code>shopfile:paid</code> event whose receipt you verify with the receipt key above.</p>
<pre id="button-snippet">{{.Button}}</pre>{{end}}
</main>{{else}}<main>
<h1>shopfile</h1>
<p>Every file is its own shop. Browse and buy over SSH:</p>
<pre>{{.SSH}}
{{.SSH}} ls</pre>
<p>Sell a file: <code>{{.SCP}}</code></p>
<p>This shop's host key is <code>{{.HostKeyFP}}</code>.</p>
</main>{{end}}
<footer>shopfile · no scripts, no cookies</footer>
</body></html>
`
