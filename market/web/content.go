package web

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/receipt"
	gossh "golang.org/x/crypto/ssh"
)

// HTTP 402 for programs: GET /s/SHOP/content answers 402 Payment Required
// with the price and how to pay; with "Authorization: Bearer RECEIPT" of
// the caller's own purchase of SHOP it serves the plaintext, with Range.
// The receipt must verify with the host key, name this shop, and name a
// purchase its buyer holds: a receipt for another shop, or a forged one,
// is refused with 401.

type paymentRequiredJSON struct {
	Error      string         `json:"error"`
	Shop       string         `json:"shop"`
	Title      string         `json:"title"`
	PriceSats  int64          `json:"price_sats"`
	Size       int64          `json:"size"`
	Pay        paymentMethods `json:"pay"`
	Accepts    string         `json:"accepts"`
	HostKey    string         `json:"host_key"`
	ReceiptKey string         `json:"receipt_key"`
}

type paymentMethods struct {
	SSH     string `json:"ssh"`     // buy over SSH
	Receipt string `json:"receipt"` // then get a receipt
	Page    string `json:"page"`    // or pay on the shop's page with a paired browser
	Button  string `json:"button"`  // the snippet for a publisher's page
}

func (s *Server) contentCORS(w http.ResponseWriter) {
	h := w.Header()
	// Readable from any page, never with cookies: the receipt is the
	// credential, sent explicitly.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Range, Content-Length, Accept-Ranges, Content-Disposition, ETag")
	h.Set("Vary", "Authorization")
}

func (s *Server) serveContentPreflight(w http.ResponseWriter, r *http.Request) {
	s.contentCORS(w)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, HEAD")
	h.Set("Access-Control-Allow-Headers", "Authorization, Range, If-Range")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) serveContent(w http.ResponseWriter, r *http.Request) {
	s.contentCORS(w)
	shop, err := s.m.PublicShop(r.Context(), r.PathValue("name"))
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		s.paymentRequired(w, shop)
		return
	}
	scheme, tok, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shopfile", error="invalid_request"`)
		writeJSON(w, http.StatusUnauthorized, errorJSON{Error: "send Authorization: Bearer RECEIPT"})
		return
	}
	buyer, _, err := s.m.CheckReceipt(r.Context(), strings.TrimSpace(tok), shop.ID)
	if err != nil {
		if errors.Is(err, market.ErrBadReceipt) || errors.Is(err, receipt.ErrInvalid) || errors.Is(err, market.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shopfile", error="invalid_token"`)
			writeJSON(w, http.StatusUnauthorized, errorJSON{Error: "receipt refused: " + err.Error()})
			return
		}
		s.failJSON(w, r, err)
		return
	}
	f, err := s.m.PlaintextFile(r.Context(), buyer, shop.ID)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	// Uploaded bytes are never rendered on this origin: a download, in a
	// sandbox, whatever they look like.
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+shop.ID+`"`)
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"p-`+f.ContentID+`"`)
	http.ServeContent(w, r, "", f.ModTime, io.NewSectionReader(f, 0, f.Size))
}

func (s *Server) paymentRequired(w http.ResponseWriter, shop market.Shop) {
	c := s.common()
	base := strings.TrimRight(s.m.Config().HTTPURL, "/")
	v := paymentRequiredJSON{Error: "payment required", Shop: shop.ID, Title: shop.Title, PriceSats: shop.PriceSats, Size: shop.Size,
		Pay:     paymentMethods{SSH: c.SSH + " buy " + shop.ID, Receipt: c.SSH + " receipt " + shop.ID + " --json"},
		Accepts: "Authorization: Bearer RECEIPT", HostKey: s.hostKeyLine(), ReceiptKey: receipt.EncodeKey(s.m.ReceiptKey())}
	if base != "" {
		v.Pay.Page = base + "/s/" + shop.ID
		v.Pay.Button = market.ButtonSnippet(base, shop.ID)
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="shopfile"`)
	writeJSON(w, http.StatusPaymentRequired, v)
}

func (s *Server) hostKeyLine() string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.m.HostKey())))
}

type wellKnownJSON struct {
	Host               string `json:"host"`
	HTTPURL            string `json:"http_url"`
	HostKey            string `json:"host_key"`
	HostKeyFingerprint string `json:"host_key_fingerprint"`
	ReceiptKey         string `json:"receipt_key"`
	ReceiptFormat      string `json:"receipt_format"`
	ButtonJS           string `json:"button_js,omitempty"`
}

// serveWellKnown publishes what a publisher needs to verify receipts
// offline: the host key, also as raw Ed25519 bytes in base64url.
func (s *Server) serveWellKnown(w http.ResponseWriter, r *http.Request) {
	cfg := s.m.Config()
	base := strings.TrimRight(cfg.HTTPURL, "/")
	v := wellKnownJSON{Host: cfg.Host, HTTPURL: base, HostKey: s.hostKeyLine(), HostKeyFingerprint: gossh.FingerprintSHA256(s.m.HostKey()),
		ReceiptKey: receipt.EncodeKey(s.m.ReceiptKey()), ReceiptFormat: receipt.Prefix + ".<payload>.<Ed25519 signature>, see docs/receipts.md"}
	if base != "" {
		v.ButtonJS = base + "/button.js"
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, v)
}

type shopJSON struct {
	Shop       string `json:"shop"`
	Title      string `json:"title"`
	PriceSats  int64  `json:"price_sats"`
	Size       int64  `json:"size"`
	Payee      string `json:"payee"`
	HostKey    string `json:"host_key"`
	ReceiptKey string `json:"receipt_key"`
	Button     string `json:"button,omitempty"`
	Content    string `json:"content,omitempty"`
}

// serveShopJSON is /s/SHOP.json: the live price for buttons, and the key
// receipts of this shop verify with.
func (s *Server) serveShopJSON(w http.ResponseWriter, r *http.Request, id string) {
	shop, err := s.m.PublicShop(r.Context(), id)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	base := strings.TrimRight(s.m.Config().HTTPURL, "/")
	v := shopJSON{Shop: shop.ID, Title: shop.Title, PriceSats: shop.PriceSats, Size: shop.Size, Payee: shop.Payee,
		HostKey: s.hostKeyLine(), ReceiptKey: receipt.EncodeKey(s.m.ReceiptKey())}
	if base != "" {
		v.Button, v.Content = market.ButtonSnippet(base, shop.ID), base+"/s/"+shop.ID+"/content"
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Cache-Control", "no-cache") // the price is live
	writeJSON(w, http.StatusOK, v)
}
