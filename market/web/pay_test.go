package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/receipt"
	"github.com/shopfile/shopfile/store"
)

// browser is an HTTP client that behaves like a page of the shop's own
// origin: a cookie jar, and the headers a browser adds.
type browser struct {
	t      *testing.T
	c      *http.Client
	origin string
}

func newBrowser(t *testing.T, origin string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, origin: origin}
}

func (b *browser) do(method, u string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	b.t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return res, out
}

// pair pairs this browser through a link the market made, as the pairing
// page's form does.
func (b *browser) pair(link string, perPurchase, daily int64) *http.Response {
	b.t.Helper()
	res, page := b.do(http.MethodGet, link, nil)
	if res.StatusCode != 200 || !strings.Contains(string(page), `action="`+strings.TrimPrefix(link, b.origin)+`"`) {
		b.t.Fatalf("pairing page: %d %s", res.StatusCode, page)
	}
	form := url.Values{"per_purchase": {fmt.Sprint(perPurchase)}, "daily": {fmt.Sprint(daily)}, "label": {"test browser"}}
	res, page = b.do(http.MethodPost, link, strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded",
		"Origin", b.origin, "Sec-Fetch-Site", "same-origin")
	if res.StatusCode != 200 || !strings.Contains(string(page), "This browser is paired") {
		b.t.Fatalf("pair: %d %s", res.StatusCode, page)
	}
	return res
}

type payState struct {
	Paired    bool   `json:"paired"`
	Owned     bool   `json:"owned"`
	CSRF      string `json:"csrf"`
	PriceSats int64  `json:"price_sats"`
	Account   string `json:"account"`
}

func (b *browser) state(base, shop string) payState {
	b.t.Helper()
	res, body := b.do(http.MethodGet, base+"/pay/state?shop="+shop, nil, "Sec-Fetch-Site", "same-origin")
	var st payState
	if res.StatusCode != 200 || json.Unmarshal(body, &st) != nil {
		b.t.Fatalf("state: %d %s", res.StatusCode, body)
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		b.t.Fatal("pay state is readable cross-origin")
	}
	return st
}

type payResult struct {
	Receipt     string `json:"receipt"`
	Purchase    string `json:"purchase"`
	Account     string `json:"account"`
	Existing    bool   `json:"existing"`
	PriceSats   int64  `json:"price_sats"`
	NeedConfirm bool   `json:"need_confirm"`
	Confirm     string `json:"confirm_token"`
	Error       string `json:"error"`
}

func (b *browser) buy(base, shop, click, csrf, confirm string, hdr ...string) (int, payResult) {
	b.t.Helper()
	body, _ := json.Marshal(map[string]string{"shop": shop, "click": click, "confirm": confirm})
	h := []string{"Content-Type", "application/json", "Origin", b.origin, "Sec-Fetch-Site", "same-origin", "X-Shopfile-CSRF", csrf}
	h = append(h, hdr...)
	res, out := b.do(http.MethodPost, base+"/pay/buy", bytes.NewReader(body), h...)
	var p payResult
	_ = json.Unmarshal(out, &p)
	return res.StatusCode, p
}

func TestPairingPageAndCookie(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	reader := s.account(t)
	link, err := s.Market.NewPairing(ctx, reader, market.BrowserCaps{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, s.URL+"/pair/") {
		t.Fatalf("link %q", link.URL)
	}
	b := newBrowser(t, s.URL)
	res, page := b.do(http.MethodGet, link.URL, nil)
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || !strings.Contains(csp, "form-action 'self'") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || res.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("pairing page CSP %q", csp)
	}
	if !strings.Contains(html.UnescapeString(string(page)), reader.ID) || strings.Contains(string(page), "<script") {
		t.Fatalf("pairing page: %s", page)
	}
	// GET alone pairs nothing (link previewers), and a cross-site POST
	// (login CSRF) is refused without using the link.
	form := strings.NewReader(url.Values{"per_purchase": {"50"}}.Encode())
	res, _ = b.do(http.MethodPost, link.URL, form, "Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example",
		"Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
		t.Fatalf("cross-site pair: %d", res.StatusCode)
	}
	res = b.pair(link.URL, 50, 120)
	var c *http.Cookie
	for _, ck := range res.Cookies() {
		c = ck
	}
	raw := res.Header.Get("Set-Cookie")
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/pay" || c.Domain != "" || c.Secure ||
		strings.Contains(strings.ToLower(raw), "domain=") {
		t.Fatalf("cookie %q", raw)
	}
	// One time: the link is spent.
	res, _ = newBrowser(t, s.URL).do(http.MethodGet, link.URL, nil)
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("used link: %d", res.StatusCode)
	}
	st := b.state(s.URL, s.upload(t, "x", []byte("x")).ID)
	if !st.Paired || st.Account != reader.ID || st.CSRF == "" {
		t.Fatalf("state %+v", st)
	}
	sessions, err := s.Market.BrowserSessions(ctx, reader)
	if err != nil || len(sessions) != 1 || sessions[0].Caps.PerPurchaseSats != 50 || sessions[0].Caps.DailySats != 120 || sessions[0].Label != "test browser" {
		t.Fatalf("sessions %+v %v", sessions, err)
	}
}

func TestPairingRateLimitPerIP(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s.URL)
	limited := false
	for i := 0; i < 30 && !limited; i++ {
		res, _ := b.do(http.MethodGet, s.URL+"/pair/"+strings.Repeat("A", 43), nil)
		switch res.StatusCode {
		case http.StatusNotFound:
		case http.StatusTooManyRequests:
			limited = true
			if i < 10 {
				t.Fatalf("limited after %d requests", i)
			}
		default:
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	if !limited {
		t.Fatal("no rate limit on pairing")
	}
}

func TestPayCSRFAndCaps(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	reader := s.account(t)
	s.Fund(t, reader, 5000)
	seller := s.account(t)
	cheap := s.Upload(t, seller, "cheap", []byte("cheap content"), 40)
	dear := s.Upload(t, seller, "dear", []byte("dear content"), 400)
	link, err := s.Market.NewPairing(ctx, reader, market.BrowserCaps{})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.URL)
	b.pair(link.URL, 100, 1000)
	st := b.state(s.URL, cheap.ID)
	if st.Owned || st.PriceSats != 40 {
		t.Fatalf("state %+v", st)
	}
	click := "c0123456789abcdef0123"
	// Every CSRF defence refuses on its own.
	for name, h := range map[string][]string{
		"no token":         {"X-Shopfile-CSRF", ""},
		"wrong token":      {"X-Shopfile-CSRF", st.CSRF[:len(st.CSRF)-2] + "xx"},
		"cross-site":       {"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		"same-site":        {"Sec-Fetch-Site", "same-site", "Origin", "http://other.localhost"},
		"other origin":     {"Origin", "https://evil.example"},
		"form content":     {"Content-Type", "application/x-www-form-urlencoded"},
		"text/plain":       {"Content-Type", "text/plain"},
		"no fetch headers": {"Sec-Fetch-Site", "", "Origin", ""},
	} {
		code, p := b.buy(s.URL, cheap.ID, click, st.CSRF, "", h...)
		if code != http.StatusForbidden && code != http.StatusUnsupportedMediaType {
			t.Errorf("%s: %d %+v", name, code, p)
		}
	}
	// Without the cookie (another browser, or a cross-site frame): 401.
	if code, _ := newBrowser(t, s.URL).buy(s.URL, cheap.ID, click, st.CSRF, ""); code != http.StatusUnauthorized {
		t.Fatalf("no session: %d", code)
	}
	if bal, _ := s.Market.Balance(ctx, reader); bal != 5000 {
		t.Fatalf("a refused request charged: %d", bal)
	}
	code, p := b.buy(s.URL, cheap.ID, click, st.CSRF, "")
	if code != 200 || p.Existing || p.PriceSats != 40 || p.Account != reader.ID {
		t.Fatalf("buy: %d %+v", code, p)
	}
	c, err := receipt.Verify(s.Market.ReceiptKey(), p.Receipt)
	if err != nil || c.For(cheap.ID, reader.ID) != nil || c.Purchase != p.Purchase {
		t.Fatalf("receipt %+v %v", c, err)
	}
	code, again := b.buy(s.URL, cheap.ID, click, st.CSRF, "")
	if code != 200 || !again.Existing || again.Purchase != p.Purchase {
		t.Fatalf("same click: %d %+v", code, again)
	}
	if !b.state(s.URL, cheap.ID).Owned {
		t.Fatal("state does not show the purchase")
	}
	code, ask := b.buy(s.URL, dear.ID, "c1123456789abcdef0123", st.CSRF, "")
	if code != http.StatusConflict || !ask.NeedConfirm || ask.Confirm == "" || ask.PriceSats != 400 {
		t.Fatalf("above cap: %d %+v", code, ask)
	}
	if bal, _ := s.Market.Balance(ctx, reader); bal != 5000-40 {
		t.Fatalf("balance %d", bal)
	}
	// The pay endpoints are never readable cross-origin.
	res, _ := b.do(http.MethodOptions, s.URL+"/pay/buy", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS on /pay/buy")
	}
}

func TestFrameAndButtonHeaders(t *testing.T) {
	s := newSite(t)
	sh := s.upload(t, `T <b>"x"</b>`, []byte("x"))
	res, body := get(t, s.URL+"/button.js")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		res.Header.Get("Cross-Origin-Resource-Policy") != "cross-origin" || !bytes.Contains(body, []byte("shopfile:paid")) {
		t.Fatalf("button.js: %d %v", res.StatusCode, res.Header)
	}
	res, body = get(t, s.URL+"/pay/frame/"+sh.ID+"?o=https://news.example")
	csp := res.Header.Get("Content-Security-Policy")
	if res.StatusCode != 200 || res.Header.Get("X-Frame-Options") != "" || !strings.Contains(csp, "frame-ancestors *") ||
		!strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || strings.Contains(string(body), "<b>") {
		t.Fatalf("frame: %d %q %s", res.StatusCode, csp, body)
	}
	if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "style=") || strings.Contains(string(body), "onclick") {
		t.Fatal("inline code in the frame")
	}
	res, _ = get(t, s.URL+"/pay/frame/"+sh.ID+"?m=popup")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || res.Header.Get("Cross-Origin-Opener-Policy") != "" {
		t.Fatalf("popup: %q %v", csp, res.Header)
	}
	res, body = get(t, s.URL+"/s/"+sh.ID+".json")
	var js struct {
		PriceSats  int64  `json:"price_sats"`
		ReceiptKey string `json:"receipt_key"`
		Button     string `json:"button"`
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &js) != nil || js.PriceSats != 1234 || res.Header.Get("Access-Control-Allow-Origin") != "*" ||
		js.Button != `<script src="`+s.URL+`/button.js" data-shop="`+sh.ID+`" async></script>` {
		t.Fatalf("shop json: %d %s", res.StatusCode, body)
	}
	if k, err := receipt.ParseKey(js.ReceiptKey); err != nil || !k.Equal(s.Market.ReceiptKey()) {
		t.Fatalf("receipt key %q", js.ReceiptKey)
	}
	res, body = get(t, s.URL+"/.well-known/shopfile.json")
	var wk struct {
		HostKey    string `json:"host_key"`
		ReceiptKey string `json:"receipt_key"`
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &wk) != nil || res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("well-known: %d %s", res.StatusCode, body)
	}
	for _, k := range []string{wk.HostKey, wk.ReceiptKey} {
		if pk, err := receipt.ParseKey(k); err != nil || !pk.Equal(s.Market.ReceiptKey()) {
			t.Fatalf("well-known key %q", k)
		}
	}
	// The shop page shows the snippet (as text) and the receipt key.
	_, page := get(t, s.URL+"/s/"+sh.ID)
	if !strings.Contains(string(page), "&lt;script src=&#34;"+s.URL+"/button.js&#34; data-shop=&#34;"+sh.ID) ||
		!strings.Contains(string(page), js.ReceiptKey) {
		t.Fatalf("shop page lacks the snippet or key")
	}
}

func TestContent402(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	alice, bob, seller := s.account(t), s.account(t), s.account(t)
	s.Fund(t, alice, 1000)
	s.Fund(t, bob, 1000)
	data := randomBytes(t, 200_000)
	a := s.Upload(t, seller, "a.bin", data, 100)
	other := s.Upload(t, seller, "b.bin", []byte("other"), 100)
	u := s.URL + "/s/" + a.ID + "/content"

	res, body := get(t, u)
	var pr struct {
		PriceSats int64 `json:"price_sats"`
		Pay       struct {
			SSH string `json:"ssh"`
		} `json:"pay"`
	}
	if res.StatusCode != http.StatusPaymentRequired || json.Unmarshal(body, &pr) != nil || pr.PriceSats != 100 ||
		!strings.Contains(pr.Pay.SSH, "buy "+a.ID) {
		t.Fatalf("402: %d %s", res.StatusCode, body)
	}
	if _, err := s.Market.Buy(ctx, alice, a.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Market.Buy(ctx, bob, other.ID, "", 0); err != nil {
		t.Fatal(err)
	}
	tok, _, err := s.Market.Receipt(ctx, alice, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	res, body = get(t, u, "Authorization", "Bearer "+tok)
	if res.StatusCode != 200 || !bytes.Equal(body, data) || res.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("content: %d, %d bytes", res.StatusCode, len(body))
	}
	res, body = get(t, u, "Authorization", "Bearer "+tok, "Range", "bytes=1000-1999")
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(body, data[1000:2000]) {
		t.Fatalf("range: %d", res.StatusCode)
	}
	// Refused: bob's receipt (for another shop), alice's receipt on
	// another shop, a forged one, a receipt the host signed for a purchase
	// its buyer does not hold, and junk.
	bobTok, _, err := s.Market.Receipt(ctx, bob, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	bc, _ := receipt.Verify(s.Market.ReceiptKey(), bobTok)
	mixed, _ := receipt.Sign(receipt.SSH(s.Host), receipt.Claims{Shop: a.ID, Account: bob.ID, Purchase: bc.Purchase, At: bc.At})
	forged := tok[:len(tok)-4] + "AAAA"
	for name, c := range map[string][2]string{
		"another buyer's receipt for another shop": {u, bobTok},
		"a receipt for another shop":               {s.URL + "/s/" + other.ID + "/content", tok},
		"forged":                                   {u, forged},
		"mixed":                                    {u, mixed},
		"junk":                                     {u, "hello"},
	} {
		res, body := get(t, c[0], "Authorization", "Bearer "+c[1])
		if res.StatusCode != http.StatusUnauthorized || bytes.Contains(body, data[:100]) {
			t.Errorf("%s: %d", name, res.StatusCode)
		}
	}
	res, _ = get(t, u, "Authorization", "Basic eDp5")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("basic auth: %d", res.StatusCode)
	}
	// CORS without credentials, for publishers' pages.
	req, _ := http.NewRequest(http.MethodOptions, u, nil)
	req.Header.Set("Origin", "https://news.example")
	req.Header.Set("Access-Control-Request-Headers", "authorization,range")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "*" || pre.Header.Get("Access-Control-Allow-Credentials") != "" ||
		!strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	_ = store.BrowserPaid
}
