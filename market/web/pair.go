package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/shopfile/shopfile/market"
)

// pairData is what the pairing page shows.
type pairData struct {
	CSS      template.CSS
	Token    string
	Offer    market.PairingOffer
	Expires  string
	Session  market.BrowserSession
	Paired   bool
	Error    string
	SSH      string
	MaxCap   int64
	Limited  bool
	NotFound bool
}

// servePairPage shows what a pairing link offers. GET never uses the link:
// link previewers and prefetchers cannot pair anything.
func (s *Server) servePairPage(w http.ResponseWriter, r *http.Request) {
	d := pairData{CSS: template.CSS(pageCSS), Token: r.PathValue("token"), SSH: s.common().SSH, MaxCap: market.MaxBrowserCap}
	if !s.pay.pairLimit.allow(clientIP(r)) {
		d.Limited = true
		s.renderPair(w, http.StatusTooManyRequests, d)
		return
	}
	offer, err := s.m.PairingOffer(r.Context(), d.Token)
	if err != nil {
		s.pairFailed(w, r, d, err)
		return
	}
	d.Offer, d.Expires = offer, offer.ExpiresAt.UTC().Format(time.RFC3339)
	s.renderPair(w, http.StatusOK, d)
}

// servePair uses the link once: a same-origin form POST from the page
// above, rate limited per IP. It sets the session cookie.
func (s *Server) servePair(w http.ResponseWriter, r *http.Request) {
	d := pairData{CSS: template.CSS(pageCSS), Token: r.PathValue("token"), SSH: s.common().SSH, MaxCap: market.MaxBrowserCap}
	if !s.pay.pairLimit.allow(clientIP(r)) {
		d.Limited = true
		s.renderPair(w, http.StatusTooManyRequests, d)
		return
	}
	if !s.sameOrigin(r) {
		d.Error = "This form must be sent from the pairing page itself."
		s.renderPair(w, http.StatusForbidden, d)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxPayBody)
	if err := r.ParseForm(); err != nil {
		d.Error = "The form could not be read."
		s.renderPair(w, http.StatusBadRequest, d)
		return
	}
	var caps market.BrowserCaps
	var err error
	if caps.PerPurchaseSats, err = formSats(r, "per_purchase"); err == nil {
		caps.DailySats, err = formSats(r, "daily")
	}
	if err != nil {
		d.Error = "Caps must be whole numbers of satoshis."
		s.renderPair(w, http.StatusBadRequest, d)
		return
	}
	label := r.PostForm.Get("label")
	if label == "" {
		label = r.UserAgent()
	}
	sess, secret, err := s.m.Pair(r.Context(), d.Token, caps, market.CleanLabel(label))
	if err != nil {
		s.pairFailed(w, r, d, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.pay.cookieName, Value: secret, Path: "/pay", MaxAge: int(market.BrowserSessionTTL / time.Second),
		HttpOnly: true, Secure: s.pay.secure, SameSite: http.SameSiteStrictMode})
	d.Paired, d.Session = true, sess
	s.renderPair(w, http.StatusOK, d)
}

func formSats(r *http.Request, name string) (int64, error) {
	v := r.PostForm.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, errors.New("bad amount")
	}
	return n, nil
}

func (s *Server) pairFailed(w http.ResponseWriter, r *http.Request, d pairData, err error) {
	switch {
	case errors.Is(err, market.ErrNotFound):
		d.NotFound = true
		s.renderPair(w, http.StatusNotFound, d)
	case errors.Is(err, market.ErrInvalid):
		d.Error = err.Error()
		s.renderPair(w, http.StatusBadRequest, d)
	default:
		s.log.Error("http: pair", "err", err)
		d.Error = "Pairing is unavailable right now; try again."
		s.renderPair(w, http.StatusServiceUnavailable, d)
	}
}

func (s *Server) renderPair(w http.ResponseWriter, status int, d pairData) {
	var buf bytes.Buffer
	if err := s.pay.pairPage.Execute(&buf, d); err != nil {
		s.log.Error("http: pair page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", s.pay.pairCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// Same-origin referrers only, so the form's POST carries an Origin.
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

const pairPageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Pair this browser · shopfile</title>
<style>{{.CSS}}</style></head><body><main>
{{if .Paired}}
<h1 id="paired">This browser is paired</h1>
<p>Pay buttons of this shop on any web page now pay from the wallet of <code>{{.Session.Account}}</code>:
at once up to <strong>{{.Session.Caps.PerPurchaseSats}} sats</strong> a click and <strong>{{.Session.Caps.DailySats}} sats</strong> a day (UTC); above either, the button asks first.</p>
<dl><dt>session</dt><dd><code id="session">{{.Session.ID}}</code></dd><dt>browser</dt><dd>{{.Session.Label}}</dd></dl>
<p>Unpair it any time: <code>{{.SSH}} revoke {{.Session.ID}}</code>. You can close this tab.</p>
{{else if .Limited}}
<h1>Too many attempts</h1><p>Wait a minute and reload.</p>
{{else if .NotFound}}
<h1>This pairing link does not work</h1>
<p>It is unknown, already used or expired (links work once, within minutes). Make a new one: <code>{{.SSH}} pair</code></p>
{{else if .Error}}
<h1>Pairing failed</h1><p>{{.Error}}</p>
{{else}}
<h1>Pair this browser with a wallet?</h1>
<p>Account <code>{{.Offer.Account}}</code> asked to let this browser pay shopfile buttons on web pages from its wallet.
If you did not run <code>pair</code> yourself just now, close this page.</p>
<form method="post" action="/pair/{{.Token}}">
<dl>
<dt><label for="pp">pay at once up to</label></dt><dd><input id="pp" name="per_purchase" type="number" min="1" max="{{.MaxCap}}" value="{{.Offer.Caps.PerPurchaseSats}}" required> sats a click</dd>
<dt><label for="daily">and up to</label></dt><dd><input id="daily" name="daily" type="number" min="1" max="{{.MaxCap}}" value="{{.Offer.Caps.DailySats}}" required> sats a day (UTC)</dd>
<dt><label for="label">this browser</label></dt><dd><input id="label" name="label" maxlength="64" placeholder="e.g. laptop Firefox"></dd>
</dl>
<p>Above either cap the button asks before it pays. This link works once and expires at {{.Expires}}.</p>
<p><button id="pair" type="submit">Pair this browser</button></p>
</form>
{{end}}
</main><footer>shopfile · one HttpOnly cookie, sent only to this shop's pay button</footer></body></html>
`
