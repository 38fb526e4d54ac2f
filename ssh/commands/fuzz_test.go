package commands_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/shopfile/shopfile/market/markettest"
	"github.com/shopfile/shopfile/ssh/commands"
	"golang.org/x/crypto/ssh"
)

// FuzzCommandLine feeds arbitrary command lines to the router: it must
// never panic, must exit 0, 1 or 2, and must print one line on failure.
func FuzzCommandLine(f *testing.F) {
	for _, seed := range []string{
		"whoami --json", "ls", "ls a b --sort price", "show x", "price x -5", "price x --json 7",
		"upload a b --title T x --description", "buy x --max-price -1", "ref add", "approve m --price=-3",
		"--json", "-- -5", "history --limit -1", "ls --limit 99999999999999999999", "dispute c --reason",
	} {
		f.Add(seed, []byte("data"))
	}
	e := markettest.New(f, markettest.Options{})
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := ssh.NewPublicKey(pub)
	actor, err := e.Market.Login(context.Background(), key)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string, stdin []byte) {
		var out, errb bytes.Buffer
		env := commands.Env{Ctx: context.Background(), Market: e.Market, Actor: actor, Stdin: bytes.NewReader(stdin),
			Stdout: &out, Stderr: &errb, Dial: "ssh shop.test"}
		code := commands.Run(env, strings.Fields(line))
		switch code {
		case commands.ExitOK:
		case commands.ExitRefused, commands.ExitUsage:
			if msg := strings.TrimSpace(errb.String()); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("%q: exit %d with stderr %q, want one line", line, code, errb.String())
			}
		default:
			t.Fatalf("%q: exit %d", line, code)
		}
	})
}
