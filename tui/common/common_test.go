package common

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/store"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567", 2100000000000000: "2,100,000,000,000,000"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParsePrice(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "2,500": 2500, " 300 sats ": 300, "1_000": 1000} {
		if got, err := ParsePrice(in); err != nil || got != want {
			t.Errorf("ParsePrice(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "1.5", "abc", "1e3", "99999999999999999999"} {
		if _, err := ParsePrice(in); err == nil {
			t.Errorf("ParsePrice(%q) accepted", in)
		}
	}
	if _, err := ParsePrice("2100000000000001"); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Errorf("a price above all bitcoin: %v", err)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"song.mp3": "song.mp3", "my song.mp3": "'my song.mp3'", "it's": `'it'\''s'`, "-rf": "'-rf'", "$(x)": "'$(x)'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestWrapCommandKeepsEveryWord(t *testing.T) {
	cmd := "shopfile open abcdefghijklmnopqrstuvwxyz.shop --licence abcdefghijklmnopqrstuvwxyz.slip --identity ~/.ssh/id_ed25519"
	for _, w := range []int{20, 40, 60, 200} {
		got := WrapCommand(cmd, w)
		joined := strings.Join(strings.Fields(strings.ReplaceAll(got, "\\\n", " ")), " ")
		if joined != cmd {
			t.Errorf("width %d: %q does not rejoin to the command", w, got)
		}
		for _, l := range strings.Split(got, "\n") {
			if words := strings.Fields(strings.TrimSuffix(l, "\\")); len(words) == 1 {
				continue // one word longer than the width: kept whole
			}
			if Width(l) > w {
				t.Errorf("width %d: line %q is too wide", w, l)
			}
		}
	}
}

func TestShortIDAndIdentity(t *testing.T) {
	if got := ShortID("SHA256:abcdefghijklmnop"); got != "SHA256:abcd…mnop" {
		t.Errorf("ShortID = %q", got)
	}
	if got := IdentityPath(&store.Account{PublicKey: "ssh-rsa AAAA"}); got != "~/.ssh/id_rsa" {
		t.Errorf("rsa identity = %q", got)
	}
	if got := IdentityPath(&store.Account{PublicKey: "ssh-ed25519 AAAA"}); got != "~/.ssh/id_ed25519" {
		t.Errorf("ed25519 identity = %q", got)
	}
}

func TestBlockIsExactlyTheSize(t *testing.T) {
	got := Block("a\nbbbbbbbbbb\nc\nd", 5, 3)
	if lines := strings.Split(got, "\n"); len(lines) != 3 || Width(lines[1]) > 5 {
		t.Fatalf("Block = %q", got)
	}
	if got := Block("a", 5, 3); strings.Count(got, "\n") != 2 {
		t.Fatalf("Block pads to the height: %q", got)
	}
}

func TestErrTextDropsTheSentinelWord(t *testing.T) {
	err := fmt.Errorf("match m1 covers 12%% of the upload; taking over its payments needs 50%%: %w", market.ErrInvalid)
	if got := ErrText(err); got != "match m1 covers 12% of the upload; taking over its payments needs 50%" {
		t.Errorf("ErrText = %q", got)
	}
	if got := ErrText(market.ErrForbidden); got != "not allowed" {
		t.Errorf("a bare sentinel: %q", got)
	}
}

func TestOverDialogNeverCutsTheDialog(t *testing.T) {
	if got := OverDialog("a\nb", "d1\nd2", 10); got != "a\nb\n\nd1\nd2" {
		t.Errorf("room for both: %q", got)
	}
	if got := OverDialog("a\nb", "d1\nd2", 4); got != "d1\nd2" {
		t.Errorf("no room for the head: %q", got)
	}
}
