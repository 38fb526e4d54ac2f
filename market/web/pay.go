package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopfile/shopfile/market"
)

// The pay button (see docs/receipts.md for the threat model):
//
//	/button.js             the script a publisher's page loads
//	/pay/frame/SHOP        the shop-origin pay frame (?m=popup: the pay window)
//	/pay/pay.js, pay.css   its script and style (CSP 'self', no inline code)
//	/pay/state?shop=SHOP   the frame's view: price, paired?, owned?, CSRF token
//	POST /pay/buy          a click: {"shop","click","confirm"}
//	/pair/TOKEN            the one-time pairing page (GET shows, POST pairs)
//
// The session cookie is HttpOnly, SameSite=Strict, Path=/pay, host-only
// (no Domain), Secure with the __Secure- prefix when the face is https. It
// is sent only to /pay on this origin and only in same-site contexts.

//go:embed assets
var assets embed.FS

// payFace is the state of the pay side: immutable after New but for its
// rate limiters.
type payFace struct {
	origin     string // scheme://host[:port] of the HTTP face, "" when unknown
	secure     bool
	cookieName string
	pairLimit  *limiter // pairing pages, per client IP
	payLimit   *limiter // pay requests, per client IP
	framePage  *template.Template
	pairPage   *template.Template
	pairCSP    string
	frameCSP   string
	popupCSP   string
	buttonJS   []byte
	payJS      []byte
	payCSS     []byte
}

// Rate limits of the web pay side, per client IP and minute.
const (
	PairRequestsPerMinute = 10
	PayRequestsPerMinute  = 120
	maxPayBody            = 4 << 10
)

func newPayFace(httpURL string, now func() time.Time) *payFace {
	p := &payFace{cookieName: "shopfile_session", pairLimit: newLimiter(PairRequestsPerMinute, time.Minute, now),
		payLimit: newLimiter(PayRequestsPerMinute, time.Minute, now)}
	if u, err := url.Parse(httpURL); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		p.origin = u.Scheme + "://" + u.Host
		p.secure = u.Scheme == "https"
	}
	if p.secure {
		p.cookieName = "__Secure-shopfile_session"
	}
	p.buttonJS = mustAsset("assets/button.js")
	p.payJS = mustAsset("assets/pay.js")
	p.payCSS = mustAsset("assets/pay.css")
	p.framePage = template.Must(template.New("frame").Parse(framePageHTML))
	p.pairPage = template.Must(template.New("pair").Parse(pairPageHTML))
	const common = "default-src 'none'; base-uri 'none'; img-src 'none'; object-src 'none'; "
	p.frameCSP = common + "script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; " +
		"require-trusted-types-for 'script'; frame-ancestors *"
	p.popupCSP = common + "script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; " +
		"require-trusted-types-for 'script'; frame-ancestors 'none'"
	sum := sha256.Sum256([]byte(pageCSS))
	p.pairCSP = common + "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; form-action 'self'; frame-ancestors 'none'"
	return p
}

func mustAsset(name string) []byte {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}

func (s *Server) routePay() {
	s.mux.HandleFunc("GET /button.js", s.serveButtonJS)
	s.mux.HandleFunc("GET /pay/pay.js", s.serveAsset("text/javascript; charset=utf-8", func(p *payFace) []byte { return p.payJS }))
	s.mux.HandleFunc("GET /pay/pay.css", s.serveAsset("text/css; charset=utf-8", func(p *payFace) []byte { return p.payCSS }))
	s.mux.HandleFunc("GET /pay/frame/{shop}", s.serveFrame)
	s.mux.HandleFunc("GET /pay/state", s.servePayState)
	s.mux.HandleFunc("POST /pay/buy", s.servePayBuy)
	s.mux.HandleFunc("GET /pair/{token}", s.servePairPage)
	s.mux.HandleFunc("POST /pair/{token}", s.servePair)
	s.mux.HandleFunc("GET /s/{name}/content", s.serveContent)
	s.mux.HandleFunc("OPTIONS /s/{name}/content", s.serveContentPreflight)
	s.mux.HandleFunc("GET /.well-known/shopfile.json", s.serveWellKnown)
}

func (s *Server) serveButtonJS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin") // loaded by any publisher's page
	_, _ = w.Write(s.pay.buttonJS)
}

func (s *Server) serveAsset(ctype string, body func(*payFace) []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		_, _ = w.Write(body(s.pay))
	}
}

// frameData is what the pay frame and window show.
type frameData struct {
	Shop market.Shop
	Mode string // frame or popup
	SSH  string // "ssh -p 2222 host"
}

// serveFrame is the pay frame (embedded in any page; the click happens
// here) or, with ?m=popup, the shop's own pay window.
func (s *Server) serveFrame(w http.ResponseWriter, r *http.Request) {
	shop, err := s.m.PublicShop(r.Context(), r.PathValue("shop"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := frameData{Shop: shop, Mode: "frame", SSH: s.common().SSH}
	h := w.Header()
	if r.URL.Query().Get("m") == "popup" {
		d.Mode = "popup"
		h.Set("Content-Security-Policy", s.pay.popupCSP)
		// Keep window.opener: the frame that opened this window hands it
		// the reader's click over postMessage.
		h.Del("Cross-Origin-Opener-Policy")
	} else {
		h.Set("Content-Security-Policy", s.pay.frameCSP)
		h.Del("X-Frame-Options") // CSP frame-ancestors * is the rule here
	}
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	var buf strings.Builder
	if err := s.pay.framePage.Execute(&buf, d); err != nil {
		s.fail(w, r, err)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, buf.String())
}

// sameOrigin is the CSRF check every state-changing request passes before
// its token is even looked at: the browser must say the request comes from
// a page of this origin. Sec-Fetch-Site is sent by every current browser
// whatever the referrer policy; Origin, when it is not "null", must be ours.
func (s *Server) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	origin := r.Header.Get("Origin")
	if site != "" && site != "same-origin" {
		return false
	}
	if origin != "" && origin != "null" && (s.pay.origin == "" || origin != s.pay.origin) {
		return false
	}
	return site == "same-origin" || (origin != "" && origin == s.pay.origin)
}

// csrfToken is bound to the session: an HMAC of a fixed label under the
// cookie's secret. The cookie is HttpOnly, so only this origin's own
// scripts, through /pay/state, ever learn the token.
func csrfToken(secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("shopfile-csrf-v1"))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// session returns the browser's live session and its secret, if any.
func (s *Server) session(r *http.Request) (market.BrowserSession, string, bool) {
	c, err := r.Cookie(s.pay.cookieName)
	if err != nil || c.Value == "" {
		return market.BrowserSession{}, "", false
	}
	sess, err := s.m.BrowserSession(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, market.ErrNotPaired) {
			s.log.Warn("http: browser session", "err", err)
		}
		return market.BrowserSession{}, "", false
	}
	return sess, c.Value, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

type errorJSON struct {
	Error    string `json:"error"`
	PairHint string `json:"pair_hint,omitempty"`
}

type stateJSON struct {
	Shop           string `json:"shop"`
	Title          string `json:"title"`
	PriceSats      int64  `json:"price_sats"`
	Paired         bool   `json:"paired"`
	Owned          bool   `json:"owned"`
	Account        string `json:"account,omitempty"`
	CSRF           string `json:"csrf,omitempty"`
	PerPurchaseCap int64  `json:"per_purchase_cap_sats,omitempty"`
	DailyRemaining int64  `json:"daily_remaining_sats,omitempty"`
	PairHint       string `json:"pair_hint"`
}

// servePayState tells the frame what to show. It is same-origin only (no
// CORS headers), so a publisher's page can never read it.
func (s *Server) servePayState(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Cookie")
	shop, err := s.m.PublicShop(r.Context(), r.URL.Query().Get("shop"))
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	v := stateJSON{Shop: shop.ID, Title: shop.Title, PriceSats: shop.PriceSats, PairHint: s.common().SSH + " pair"}
	if sess, secret, ok := s.session(r); ok {
		v.Paired, v.Account, v.CSRF = true, sess.Account, csrfToken(secret)
		v.PerPurchaseCap, v.DailyRemaining = sess.Caps.PerPurchaseSats, sess.DailyRemaining
		if a, err := s.m.Account(r.Context(), sess.Account); err == nil {
			if v.Owned, err = s.m.Owns(r.Context(), a, shop.ID); err != nil {
				s.log.Warn("http: owns", "err", err)
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
}

type payRequest struct {
	Shop    string `json:"shop"`
	Click   string `json:"click"`
	Confirm string `json:"confirm"`
}

type payJSON struct {
	Shop      string `json:"shop"`
	Purchase  string `json:"purchase"`
	Account   string `json:"account"`
	PriceSats int64  `json:"price_sats"`
	Existing  bool   `json:"existing"`
	Receipt   string `json:"receipt"`
}

type confirmJSON struct {
	NeedConfirm  bool   `json:"need_confirm"`
	PriceSats    int64  `json:"price_sats"`
	Reason       string `json:"reason"`
	ConfirmToken string `json:"confirm_token"`
}

// servePayBuy is a click: same origin, the session's CSRF token, a JSON
// body (so a cross-site form can never produce it), then the market's
// PayFromBrowser, which checks the caps.
func (s *Server) servePayBuy(w http.ResponseWriter, r *http.Request) {
	if !s.pay.payLimit.allow(clientIP(r)) {
		writeJSON(w, http.StatusTooManyRequests, errorJSON{Error: "too many requests; wait a minute"})
		return
	}
	if !s.sameOrigin(r) {
		writeJSON(w, http.StatusForbidden, errorJSON{Error: "cross-origin request refused"})
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, errorJSON{Error: "send application/json"})
		return
	}
	sess, secret, ok := s.session(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, errorJSON{Error: market.ErrNotPaired.Error(), PairHint: s.common().SSH + " pair"})
		return
	}
	if !hmac.Equal([]byte(r.Header.Get("X-Shopfile-CSRF")), []byte(csrfToken(secret))) {
		writeJSON(w, http.StatusForbidden, errorJSON{Error: "missing or wrong CSRF token; reload the page"})
		return
	}
	var req payRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxPayBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorJSON{Error: "malformed request"})
		return
	}
	res, err := s.m.PayFromBrowser(r.Context(), sess, req.Shop, req.Click, req.Confirm)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	if res.NeedConfirm {
		writeJSON(w, http.StatusConflict, confirmJSON{NeedConfirm: true, PriceSats: res.PriceSats, Reason: res.Reason, ConfirmToken: res.ConfirmToken})
		return
	}
	writeJSON(w, http.StatusOK, payJSON{Shop: res.Purchase.Shop, Purchase: res.Purchase.ID, Account: res.Account,
		PriceSats: res.Purchase.PriceSats, Existing: res.Purchase.Existing, Receipt: res.Receipt})
}

// failJSON answers a market error as JSON with the status it deserves.
func (s *Server) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "internal error"
	switch {
	case errors.Is(err, market.ErrNotPaired):
		writeJSON(w, http.StatusUnauthorized, errorJSON{Error: market.ErrNotPaired.Error(), PairHint: s.common().SSH + " pair"})
		return
	case errors.Is(err, market.ErrInsufficientFunds):
		status, msg = http.StatusPaymentRequired, "not enough in your wallet: top it up with "+s.common().SSH+" wallet"
	case errors.Is(err, market.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, market.ErrForbidden), errors.Is(err, market.ErrPriceAboveMax):
		status, msg = http.StatusForbidden, err.Error()
	case errors.Is(err, market.ErrInvalid):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, market.ErrTooMany):
		status, msg = http.StatusTooManyRequests, err.Error()
	case errors.Is(err, market.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, "temporarily unavailable; try again"
		s.log.Error("http", "path", r.URL.Path, "err", err)
	default:
		s.log.Error("http", "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, errorJSON{Error: msg})
}

const framePageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Pay · {{.Shop.Title}} · shopfile</title>
<link rel="stylesheet" href="/pay/pay.css"><script src="/pay/pay.js" defer></script></head>
<body class="{{.Mode}}" data-shop="{{.Shop.ID}}" data-mode="{{.Mode}}"><main>
{{if eq .Mode "popup"}}<h1>{{.Shop.Title}}</h1><p>{{.Shop.PriceSats}} sats · shop <code>{{.Shop.ID}}</code></p>{{end}}
<button id="pay" type="button" data-shopfile-pay="{{.Shop.ID}}" disabled>Pay {{.Shop.PriceSats}} sats</button>
{{if eq .Mode "popup"}}<p id="note" role="status"></p>
<footer>Paying from your shopfile wallet. Paired browsers: <code>{{.SSH}} sessions</code>; unpair one: <code>{{.SSH}} revoke SESSION</code>.</footer>{{end}}
</main></body></html>
`
