package tui_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui"
	"github.com/shopfile/shopfile/tui/common"
)

// -update-golden, not -update: teatest's golden package owns that name.
var updateGolden = flag.Bool("update-golden", false, "rewrite tui/testdata/*.golden")

const dial = "ssh -p 2222 shop.example"

// world is a real market on real SQLite with the real ledger.
type world struct {
	t   *testing.T
	env *markettest.Env
	m   *market.Market
	// masks turns random ids into stable names for golden files.
	masks []string
}

func newWorld(t *testing.T, o sshtest.Options) *world {
	t.Helper()
	s := sshtest.Start(t, o)
	return &world{t: t, env: s.Env, m: s.Market}
}

// account logs a fresh key in.
func (w *world) account(name string) *store.Account {
	w.t.Helper()
	k := sshtest.NewKey(w.t, name)
	a, err := w.m.Login(context.Background(), k.Signer.PublicKey())
	if err != nil {
		w.t.Fatal(err)
	}
	w.mask(common.ShortID(a.ID), "<"+name+">")
	return a
}

// fund credits a wallet as a confirmed deposit would: a ledger transfer
// from the on-chain asset account.
func (w *world) fund(a *store.Account, sats int64) {
	w.t.Helper()
	ctx := context.Background()
	onchain, err := w.env.Store.SystemAccount(ctx, store.AccountOnchain, store.KindAsset)
	if err != nil {
		w.t.Fatal(err)
	}
	op := store.TransferOp{Transfers: []store.Transfer{{ID: "test-fund:" + w.m.NewPurchaseKey(), Debit: onchain,
		Credit: a.WalletID, Amount: sats, Code: store.CodeDeposit, Ref: "test"}}}
	res, err := w.env.Ledger.Submit(ctx, op)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) upload(a *store.Account, name, title, desc string, price int64) market.Shop {
	w.t.Helper()
	s, err := w.m.Upload(context.Background(), a, market.UploadRequest{Name: name, Title: title, Description: desc, PriceSats: price},
		strings.NewReader("the contents of "+name))
	if err != nil {
		w.t.Fatal(err)
	}
	w.mask(s.ID, fmt.Sprintf("<shop-%s>", name))
	return s
}

func (w *world) balance(a *store.Account) int64 {
	w.t.Helper()
	b, err := w.m.Balance(context.Background(), a)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) mask(from, to string) { w.masks = append(w.masks, from, to) }

var (
	reHex      = regexp.MustCompile(`[0-9a-f]{20,}…?`)
	rePurchase = regexp.MustCompile(`\bp[0-9a-z]{26}\b`)
	rePayout   = regexp.MustCompile(`\bw[0-9a-z]{26}\b`)
	reDate     = regexp.MustCompile(`\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?`)
)

// stable replaces everything random in a view.
func (w *world) stable(view string) string {
	view = strings.NewReplacer(w.masks...).Replace(view)
	view = reHex.ReplaceAllString(view, "<hex>")
	view = rePurchase.ReplaceAllString(view, "<purchase>")
	view = rePayout.ReplaceAllString(view, "<payout>")
	return reDate.ReplaceAllString(view, "<date>")
}

// probe wraps the app so a test can read its view on the program's own
// goroutine, without racing it.
// It also counts the other messages the app gets, to show an idle
// session gets none.
type probe struct {
	tea.Model
	msgs *atomic.Int64
}

type viewReq chan string

func (p probe) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if r, ok := msg.(viewReq); ok {
		r <- p.Model.View()
		return p, nil
	}
	p.msgs.Add(1)
	m, cmd := p.Model.Update(msg)
	return probe{m, p.msgs}, cmd
}

type session struct {
	msgs   *atomic.Int64
	t      *testing.T
	tm     *teatest.TestModel
	cancel context.CancelFunc
}

type opts struct {
	color bool // ANSI256 instead of no colour at all
	idle  time.Duration
}

func renderer(p termenv.Profile) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	r.SetHasDarkBackground(true)
	return r
}

// open runs the TUI for actor at w×h.
func (w *world) open(actor *store.Account, width, height int, o ...opts) *session {
	w.t.Helper()
	var op opts
	if len(o) > 0 {
		op = o[0]
	}
	profile := termenv.Ascii
	if op.color {
		profile = termenv.ANSI256
	}
	ctx, cancel := context.WithCancel(context.Background())
	model := tui.New(w.m, tui.Session{Ctx: ctx, Actor: actor, Renderer: renderer(profile), Width: width, Height: height,
		Dial: dial, Idle: op.idle})
	msgs := &atomic.Int64{}
	tm := teatest.NewTestModel(w.t, probe{model, msgs}, teatest.WithInitialTermSize(width, height))
	s := &session{t: w.t, tm: tm, cancel: cancel, msgs: msgs}
	w.t.Cleanup(s.close)
	return s
}

func (s *session) close() {
	s.cancel()
	_ = s.tm.Quit()
	s.tm.WaitFinished(s.t, teatest.WithFinalTimeout(5*time.Second))
}

// view reads the current screen.
func (s *session) view() string {
	r := make(viewReq, 1)
	s.tm.Send(r)
	select {
	case v := <-r:
		return v
	case <-time.After(5 * time.Second):
		s.t.Fatal("no view: the program is not running")
		return ""
	}
}

// waitFor polls the view until ok holds, for up to 10 s.
func (s *session) waitFor(what string, ok func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := s.view()
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s; the screen is:\n%s", what, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitText waits until every text shows.
func (s *session) waitText(texts ...string) string {
	s.t.Helper()
	return s.waitFor(strings.Join(texts, " & "), func(v string) bool { return containsAll(v, texts) })
}

// settled waits for the texts and for every load to finish.
func (s *session) settled(texts ...string) string {
	s.t.Helper()
	return s.waitFor(strings.Join(texts, " & ")+" without loading", func(v string) bool {
		return !loading(v) && containsAll(v, texts)
	})
}

// loading reports whether a view still waits for a load (a page's or the
// header's balance).
func loading(v string) bool {
	return strings.Contains(v, "loading") || strings.Contains(v, "balance …")
}

func containsAll(s string, texts []string) bool {
	for _, t := range texts {
		if !strings.Contains(s, t) {
			return false
		}
	}
	return true
}

func (s *session) keys(ks ...string) {
	for _, k := range ks {
		s.tm.Send(keyMsg(k))
	}
}

func (s *session) typ(text string) { s.tm.Type(text) }

// namedKeys are the keys a test names; any other string is typed as text.
var namedKeys = map[string]tea.KeyType{
	"enter":     tea.KeyEnter,
	"esc":       tea.KeyEsc,
	"down":      tea.KeyDown,
	"up":        tea.KeyUp,
	"tab":       tea.KeyTab,
	"shift+tab": tea.KeyShiftTab,
	"ctrl+c":    tea.KeyCtrlC,
	"ctrl+u":    tea.KeyCtrlU,
	"backspace": tea.KeyBackspace,
	"pgdown":    tea.KeyPgDown,
	"pgup":      tea.KeyPgUp,
}

func keyMsg(k string) tea.KeyMsg {
	if t, ok := namedKeys[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// golden compares a view with tui/testdata/NAME.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update-golden to create it)", err)
	}
	if !bytes.Equal(want, []byte(got)) {
		t.Errorf("view differs from %s (go test ./tui -update-golden rewrites it):\n%s", path, diff(string(want), got))
	}
}

// diff lists the lines that differ, numbered.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "%3d - %q\n%3d + %q\n", i+1, w, i+1, g)
		}
	}
	return b.String()
}
