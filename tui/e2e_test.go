package tui_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/ssh/sshtest"
	"github.com/shopfile/shopfile/store"
)

// tmux drives a real terminal on its own server socket.
type tmux struct {
	t      *testing.T
	socket string
}

func (x tmux) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", x.socket}, args...)...)
	cmd.Env = append(os.Environ(), "TMUX=") // a test run inside tmux must not nest
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (x tmux) must(args ...string) {
	x.t.Helper()
	if out, err := x.run(args...); err != nil {
		x.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
}

// send types keys; literal text goes with -l so tmux does not read it as
// key names.
func (x tmux) send(keys ...string) { x.must(append([]string{"send-keys", "-t", "shop"}, keys...)...) }
func (x tmux) typ(text string)     { x.must("send-keys", "-t", "shop", "-l", text) }

// waitScreen polls the pane until every text shows (bounded, no sleeps as
// assertions).
func (x tmux) waitScreen(texts ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		out, err := x.run("capture-pane", "-p", "-t", "shop")
		screen = out
		if err == nil && containsAll(screen, texts) {
			return screen
		}
		time.Sleep(25 * time.Millisecond)
	}
	x.t.Fatalf("waiting for %q; the screen is:\n%s", texts, screen)
	return ""
}

// needTerminal skips a test where tmux or the OpenSSH client is missing.
func needTerminal(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"tmux", "ssh"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
}

// startTmux opens a 100×30 terminal running the OpenSSH client, logged in
// to shop with key; the test's end kills it.
func startTmux(t *testing.T, shop *sshtest.Shop, key *sshtest.Key) tmux {
	t.Helper()
	x := tmux{t: t, socket: fmt.Sprintf("shopfile-e2e-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() { _, _ = x.run("kill-server") })
	sshCmd := fmt.Sprintf("ssh -F /dev/null -tt -p %s -i %s -o IdentitiesOnly=yes -o IdentityAgent=none "+
		"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR 127.0.0.1", shop.Port, key.Path)
	x.must("new-session", "-d", "-s", "shop", "-x", "100", "-y", "30", sshCmd)
	return x
}

// TestOpenSSHThroughTmux drives the TUI the way a person does: the real
// OpenSSH client in a real terminal (tmux), against the real SSH server.
func TestOpenSSHThroughTmux(t *testing.T) {
	t.Parallel()
	needTerminal(t)
	shop := sshtest.Start(t, sshtest.Options{})
	key := sshtest.NewKey(t, "seller")
	ctx := context.Background()
	seller, err := shop.Market.Login(ctx, key.Signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	for _, up := range []market.UploadRequest{
		{Name: "other.txt", Title: "Something Else", PriceSats: 50},
		{Name: "treasure.bin", Title: "Tmux Treasure", PriceSats: 700},
	} {
		if _, err := shop.Market.Upload(ctx, seller, up, strings.NewReader("payload of "+up.Name)); err != nil {
			t.Fatal(err)
		}
	}
	x := startTmux(t, shop, key)

	x.waitScreen("shopfile", "page 1/1 · 2 shops", "balance 0 sats")
	x.send("/")
	x.typ("treasure")
	x.waitScreen("page 1/1 · 1 shop", "Tmux Treasure")
	x.send("Enter") // leave the search box
	x.send("Enter") // open the shop
	x.waitScreen("content", "700 sats", "✓ PAYEE")

	x.send("2")
	x.waitScreen("Your shops", "▸ Tmux Treasure")
	x.send("e")
	x.waitScreen("new price")
	x.send("C-u")
	x.typ("4242")
	x.send("Enter")
	x.waitScreen("“Tmux Treasure” now costs 4,242 sats")
	page, err := shop.Market.List(ctx, seller, market.ListQuery{Text: "treasure"})
	if err != nil || len(page.Shops) != 1 || page.Shops[0].PriceSats != 4242 {
		t.Fatalf("after the reprice the market says %+v, %v", page.Shops, err)
	}

	x.send("q")
	waitGone(t, x)
}

// TestOpenSSHShutdownMessage stops the server under an open session: the
// session says why it ends, and ssh exits promptly.
func TestOpenSSHShutdownMessage(t *testing.T) {
	t.Parallel()
	needTerminal(t)
	shop := sshtest.Start(t, sshtest.Options{})
	key := sshtest.NewKey(t, "visitor")
	x := startTmux(t, shop, key)
	// Everything the terminal receives, to see the last frame even after
	// the alternate screen is gone.
	raw := filepath.Join(t.TempDir(), "pane.raw")
	x.must("pipe-pane", "-t", "shop", "cat >> "+raw)
	x.waitScreen("shopfile", "no shops yet")
	start := time.Now()
	shop.Stop()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("shutdown with an open TUI took %s", took)
	}
	waitGone(t, x)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(raw)
		if strings.Contains(string(b), "the shop is restarting") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never got the farewell; it got:\n%q", b)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// waitGone waits for the tmux session to end: its only process is ssh.
func waitGone(t *testing.T, x tmux) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := x.run("has-session", "-t", "shop"); err != nil {
			return
		}
		if time.Now().After(deadline) {
			out, _ := x.run("capture-pane", "-p", "-t", "shop")
			t.Fatalf("ssh still running after 10 s:\n%s", out)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestOpenSSHRightsConsole approves a match from a real terminal: the
// holder's Rights tab, the review, the price and the confirmation.
func TestOpenSSHRightsConsole(t *testing.T) {
	t.Parallel()
	needTerminal(t)
	shop := sshtest.Start(t, sshtest.Options{})
	ctx := context.Background()
	uploader, err := shop.Market.Login(ctx, sshtest.NewKey(t, "uploader").Signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	key := sshtest.NewKey(t, "holder")
	holder, err := shop.Market.Login(ctx, key.Signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if err := shop.Market.Grant(ctx, holder.ID, store.RoleRightsHolder); err != nil {
		t.Fatal(err)
	}
	if holder, err = shop.Market.Account(ctx, holder.ID); err != nil {
		t.Fatal(err)
	}
	film := seeded(7, 600_000)
	copied := append(append([]byte{}, film[40_000:]...), seeded(8, 7000)...)
	s, err := shop.Market.Upload(ctx, uploader, market.UploadRequest{Name: "copy.bin", Title: "Tmux Copy", PriceSats: 300}, bytes.NewReader(copied))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := shop.Market.AddRef(ctx, holder, "film", bytes.NewReader(film)); err != nil {
		t.Fatal(err)
	}
	x := startTmux(t, shop, key)

	x.waitScreen("5 Rights", "6 Claims", "7 Help", "Tmux Copy")
	x.send("5")
	x.waitScreen("▸ 0.", "Tmux Copy", "1 open")
	x.send("Enter")
	x.waitScreen("REFERENCE", "SHOP FILE", "PRIOR ART", "█")
	x.send("a")
	x.waitScreen("price: 300")
	x.send("C-u")
	x.typ("1234")
	x.send("Enter")
	x.waitScreen("at 1,234 sats, for every copy")
	x.send("Enter")
	x.waitScreen("✓ CLAIMED")
	got, err := shop.Market.Show(ctx, uploader, s.ID)
	if err != nil || got.Payee != holder.ID || got.PriceSats != 1234 {
		t.Fatalf("after approving in the terminal the market says %+v, %v", got, err)
	}
	x.send("q")
	waitGone(t, x)
}
