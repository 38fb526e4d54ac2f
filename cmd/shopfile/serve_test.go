package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A bad account key stops the shop at start with a message that says why.
func TestServeRefusesBadAccountKeys(t *testing.T) {
	cases := map[string]struct{ xpub, want string }{
		"garbage":      {"not-a-key", "--xpub"},
		"private key":  {"tprv8ZgxMBicQKsPd7Uf69XL1XwhmjHopUGep8GuEiJDZmbQz6o58LninorQAfcKZWARbtRtfnLcJ5MQ2AtHcQJCCRUcMRvmDUjyEmNUWwx8UbK", "private key"},
		"mainnet xpub": {"xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8", "mainnet"},
	}
	for name, c := range cases {
		cfg := serveConfig{data: t.TempDir(), sshAddr: "127.0.0.1:0", chain: "regtest", xpub: c.xpub, btcdRPC: "127.0.0.1:1",
			maxUpload: "1MiB", dbDriver: "sqlite", logLevel: "error", confirmations: 1}
		err := serve(context.Background(), cfg)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("%s: err %v, want a refusal at start (exit 2)", name, err)
			continue
		}
		if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("%s: message %q does not say %q", name, err, c.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{"2GiB": 2 << 30, "500MB": 500_000_000, "64k": 64 << 10, "1048576": 1 << 20}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "0", "lots", "1.5GB", "99999999999TiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
