package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	gossh "golang.org/x/crypto/ssh"
)

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve --http-addr starts the HTTP face, derives its public URL from
// --host and the HTTP port, writes it into torrents, and stops with the
// shop.
func TestServeStartsTheHTTPFace(t *testing.T) {
	sshAddr, httpAddr := freePort(t), freePort(t)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	cfg := serveConfig{data: t.TempDir(), sshAddr: sshAddr, httpAddr: httpAddr, host: sshAddr, chain: "none",
		maxUpload: "1MiB", dbDriver: "sqlite", logLevel: "error", confirmations: 1, shutdown: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	}()

	base := "http://127.0.0.1:" + httpPort
	var res *http.Response
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if res, err = http.Get(base + "/"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("index: %d, CSP %q", res.StatusCode, res.Header.Get("Content-Security-Policy"))
	}

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	var c *gossh.Client
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c, err = gossh.Dial("tcp", sshAddr, &gossh.ClientConfig{User: "t", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, code, errText, err := runCmd(c, bytes.NewReader([]byte("some bytes")), "upload x.bin --json")
	if err != nil || code != 0 {
		t.Fatalf("upload: %v %d %s", err, code, errText)
	}
	var up struct{ Shop string }
	if err := json.Unmarshal(out, &up); err != nil {
		t.Fatal(err)
	}
	var show struct{ Torrent, Magnet string }
	if err := runJSON(c, "show "+up.Shop+" --json", &show); err != nil {
		t.Fatal(err)
	}
	if show.Torrent != base+"/s/"+up.Shop+".torrent" || !strings.Contains(show.Magnet, "ws=") {
		t.Fatalf("show: %+v", show)
	}
	res, err = http.Get(show.Torrent)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	mi, err := metainfo.Load(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(mi.UrlList) != 1 || mi.UrlList[0] != base+"/s/"+up.Shop+".shop" {
		t.Fatalf("url-list %q", mi.UrlList)
	}
}

func TestServeRefusesHTTPURLWithoutHTTP(t *testing.T) {
	cfg := serveConfig{data: t.TempDir(), sshAddr: "127.0.0.1:0", httpURL: "https://shop.example", chain: "none",
		maxUpload: "1MiB", dbDriver: "sqlite", logLevel: "error", confirmations: 1}
	err := serve(context.Background(), cfg)
	if ee, ok := err.(exitError); !ok || ee.code != 2 || !strings.Contains(err.Error(), "--http-addr") {
		t.Fatalf("err %v", err)
	}
}
