package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/shopfile/shopfile/market"
	"github.com/shopfile/shopfile/market/container"
	"github.com/shopfile/shopfile/market/ids"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/term"
)

func openCmd() *cobra.Command {
	var slip, identity, out string
	var yes bool
	cmd := &cobra.Command{
		Use:   "open FILE.shop [--identity KEY] [--yes] [-o OUT] | open FILE.shop --licence SLIP --identity KEY [-o OUT]",
		Short: "open a .shop file: buy it from the shop it names, or decrypt it with a key slip you have",
		Long: `With --licence, open decrypts FILE.shop with a key slip and your SSH private key.

Without one, the file is its own shop: open verifies its signed header,
connects over SSH to the shop it names (pinning the shop's host key to the
one in the header), shows the live price and payee, buys after you confirm
(or with --yes), fetches your key slip and decrypts. Your SSH key is your
account: --identity KEY, else your ssh-agent (SSH_AUTH_SOCK), else
~/.ssh/id_ed25519 or ~/.ssh/id_rsa.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				out = strings.TrimSuffix(filepath.Base(args[0]), ".shop")
			}
			if slip != "" {
				if identity == "" {
					return exitError{2, fmt.Errorf("--identity KEY (your SSH private key) is required")}
				}
				if err := container.OpenFile(args[0], slip, identity, out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "opened %s → %s\n", args[0], out)
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			o := newOpener(cmd.ErrOrStderr())
			o.identity, o.yes = identity, yes
			return o.run(ctx, args[0], out)
		},
	}
	cmd.Flags().StringVar(&slip, "licence", "", "the key slip from `ssh … licence SHOP`")
	cmd.Flags().StringVar(&slip, "license", "", "alias of --licence")
	cmd.Flags().StringVarP(&identity, "identity", "i", "", "your SSH private key (default: ssh-agent, then ~/.ssh/id_ed25519, ~/.ssh/id_rsa)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "where to write the plaintext")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "buy at the live price without asking")
	return cmd
}

// opener buys and opens a .shop file from the shop it names.
type opener struct {
	identity string // private key file; "" for the agent or default keys
	yes      bool   // buy without asking
	stderr   io.Writer
	progress bool // draw a progress bar on stderr

	// Seams for tests; newOpener fills them from the real environment.
	home       string
	agentSock  string
	confirm    func(question string) (bool, error)
	passphrase func(prompt string) ([]byte, error)
	dial       func(network, addr string, cfg *gossh.ClientConfig) (*gossh.Client, error)
}

func newOpener(stderr io.Writer) *opener {
	home, _ := os.UserHomeDir()
	o := &opener{stderr: stderr, home: home, agentSock: os.Getenv("SSH_AUTH_SOCK"), dial: gossh.Dial}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		o.progress = true
	}
	o.confirm = func(q string) (bool, error) { return askTerminal(stderr, q) }
	o.passphrase = func(p string) ([]byte, error) { return readPassphrase(stderr, p) }
	return o
}

// liveShop is what open reads from `show SHOP --json`.
type liveShop struct {
	Shop      string `json:"shop"`
	Title     string `json:"title"`
	PriceSats int64  `json:"price_sats"`
	Size      int64  `json:"size"`
	Payee     string `json:"payee"`
	Uploader  string `json:"uploader"`
	ContentID string `json:"content_id"`
	Frozen    bool   `json:"frozen"`
}

type libraryLine struct {
	Shop string `json:"shop"`
}

type whoami struct {
	Account     string `json:"account"`
	BalanceSats int64  `json:"balance_sats"`
}

type bought struct {
	Purchase    string `json:"purchase"`
	PriceSats   int64  `json:"price_sats"`
	BalanceSats int64  `json:"balance_sats"`
	Existing    bool   `json:"existing"`
}

// run is the self-opening path: verify, connect (pinned), show, buy, slip,
// decrypt. Nothing from the file is used before its signature checks out,
// and nothing is charged before the user agreed to the live price.
func (o *opener) run(ctx context.Context, path, out string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h, err := container.ReadHeader(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	shopID := ids.Shop(h.ItemID)
	addr, err := dialAddr(h.PayAddr)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	wantFP := gossh.FingerprintSHA256(h.HostKey)
	fmt.Fprintf(o.stderr, "%s: shop %s at %s (host key %s), signature ok\n", filepath.Base(path), shopID, addr, wantFP)

	auth, err := o.auth()
	if err != nil {
		return exitError{2, err}
	}
	defer auth.close()
	c, err := o.connect(addr, h.HostKey, auth.methods, path)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	var me whoami
	if err := runJSON(c, "whoami --json", &me); err != nil {
		return err
	}
	var live liveShop
	if err := runJSON(c, "show "+shopID+" --json", &live); err != nil {
		return fmt.Errorf("%s no longer sells %s: %w", addr, shopID, err)
	}
	if cid := hex.EncodeToString(h.ContentID[:]); live.ContentID != cid {
		return fmt.Errorf("%s now sells another edition of %s (content id %s; this file is %s): a key slip would not open this file; "+
			"fetch the current one with: scp %s:%s.shop .", addr, shopID, short(live.ContentID), short(cid), scpHost(addr), shopID)
	}
	owned, err := o.owns(c, me.Account, &live)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stderr, "%q, %s, %d sats to %s\n", live.Title, market.FormatBytes(live.Size), live.PriceSats, live.Payee)
	if owned {
		fmt.Fprintf(o.stderr, "you already own it: nothing to pay\n")
	} else if err := o.buy(c, addr, &live, &me); err != nil {
		return err
	}

	slip, code, errText, err := runCmd(c, nil, "licence "+shopID)
	if err != nil {
		return fmt.Errorf("licence %s: %w", shopID, err)
	}
	id, err := auth.decrypter(o, me.Account)
	if err != nil {
		return err
	}
	if code != 0 || id == nil {
		// No private key to open a slip with (an agent can sign but not
		// decrypt, and some keys cannot take slips): let the shop decrypt,
		// over the channel pinned to the key that signed this file.
		why := "your key type cannot open a key slip"
		switch {
		case id == nil && auth.agent != nil:
			why = "your agent can log in but not open a key slip, and its key's private file is not in ~/.ssh"
		case code != 0 && errText != "":
			why = strings.TrimPrefix(errText, "error: ")
		}
		fmt.Fprintf(o.stderr, "%s; downloading the plaintext from the shop instead\n", why)
		if err := o.download(ctx, c, shopID, h.PlaintextSize, out); err != nil {
			return err
		}
		fmt.Fprintf(o.stderr, "opened %s → %s\n", path, out)
		return nil
	}
	key, err := container.UnwrapSlip(slip, id)
	if err != nil {
		return fmt.Errorf("licence %s: %w", shopID, err)
	}
	if err := container.CheckKey(f, h, key); err != nil {
		return fmt.Errorf("licence %s: %w", shopID, err)
	}
	if err := o.decrypt(ctx, f, h, key, out); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(o.stderr, "opened %s → %s\n", path, out)
	return nil
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// dialAddr turns the envelope's pay address (ssh://host[:port]) into a
// dial address.
func dialAddr(payAddr string) (string, error) {
	rest, ok := strings.CutPrefix(payAddr, "ssh://")
	if !ok || rest == "" {
		return "", fmt.Errorf("the shop address %q is not ssh://host[:port]", payAddr)
	}
	if _, _, err := net.SplitHostPort(rest); err == nil {
		return rest, nil
	}
	return net.JoinHostPort(strings.Trim(rest, "[]"), "22"), nil
}

// scpHost is how a user names the shop to scp.
func scpHost(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "22" {
		return host
	}
	return "-P " + port + " " + host
}

// hostKeyError is a shop presenting another key than the one that signed
// the file.
type hostKeyError struct {
	addr, got, want, file string
}

func (e *hostKeyError) Error() string {
	return fmt.Sprintf("WARNING: HOST KEY MISMATCH. The shop at %s presented host key %s, but %s was signed by %s. "+
		"Someone may be impersonating the shop, or it changed its key. Not connecting; nothing was bought.",
		e.addr, e.got, filepath.Base(e.file), e.want)
}

// connect dials the shop and accepts only the host key in the envelope.
func (o *opener) connect(addr string, want gossh.PublicKey, methods []gossh.AuthMethod, path string) (*gossh.Client, error) {
	var mismatch *hostKeyError
	algs := []string{want.Type()}
	if want.Type() == gossh.KeyAlgoRSA {
		algs = []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA}
	}
	cfg := &gossh.ClientConfig{
		User: "shopfile",
		Auth: methods,
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			if bytes.Equal(key.Marshal(), want.Marshal()) {
				return nil
			}
			mismatch = &hostKeyError{addr: addr, got: gossh.FingerprintSHA256(key), want: gossh.FingerprintSHA256(want), file: path}
			return mismatch
		},
		HostKeyAlgorithms: algs,
		Timeout:           15 * time.Second,
	}
	c, err := o.dial("tcp", addr, cfg)
	if mismatch != nil {
		return nil, mismatch
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to the shop at %s: %w", addr, err)
	}
	return c, nil
}

// owns reports whether the account may already open the shop.
func (o *opener) owns(c *gossh.Client, account string, live *liveShop) (bool, error) {
	if account == live.Payee || account == live.Uploader {
		return true, nil
	}
	var lib []libraryLine
	if err := runJSON(c, "library --json", &lib); err != nil {
		return false, err
	}
	for _, l := range lib {
		if l.Shop == live.Shop {
			return true, nil
		}
	}
	return false, nil
}

// buy asks, then buys at the price shown (never above it).
func (o *opener) buy(c *gossh.Client, addr string, live *liveShop, me *whoami) error {
	if !o.yes {
		ok, err := o.confirm(fmt.Sprintf("buy for %d sats? [y/N] ", live.PriceSats))
		if err != nil {
			return exitError{2, fmt.Errorf("%w; pass --yes to buy without asking", err)}
		}
		if !ok {
			return errors.New("not bought: nothing was charged")
		}
	}
	var p bought
	err := runJSON(c, fmt.Sprintf("buy %s --max-price %d --json", live.Shop, live.PriceSats), &p)
	if err != nil {
		if strings.Contains(err.Error(), "insufficient funds") {
			return fmt.Errorf("%w (balance %d sats); top up with: %s wallet", err, me.BalanceSats, sshCmd(addr))
		}
		return err
	}
	if p.Existing {
		fmt.Fprintf(o.stderr, "you already owned it: nothing was charged\n")
	} else {
		fmt.Fprintf(o.stderr, "bought for %d sats (purchase %s); balance %d sats\n", p.PriceSats, p.Purchase, p.BalanceSats)
	}
	return nil
}

func sshCmd(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if port == "22" {
		return "ssh " + host
	}
	return "ssh -p " + port + " " + host
}

// runCmd runs one shop command on its own channel.
func runCmd(c *gossh.Client, stdin io.Reader, command string) (stdout []byte, code int, stderr string, err error) {
	var out bytes.Buffer
	var errb limitedBuffer
	code, err = runTo(c, stdin, &out, &errb, command)
	return out.Bytes(), code, errb.line(), err
}

func runTo(c *gossh.Client, stdin io.Reader, stdout io.Writer, stderr io.Writer, command string) (int, error) {
	sess, err := c.NewSession()
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, stdout, stderr
	err = sess.Run(command)
	var exit *gossh.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitStatus(), nil
	}
	return 0, err
}

// runJSON runs a command that must succeed and decodes its JSON.
func runJSON(c *gossh.Client, command string, v any) error {
	out, code, errText, err := runCmd(c, nil, command)
	if err != nil {
		return fmt.Errorf("%s: %w", firstWord(command), err)
	}
	if code != 0 {
		if errText == "" {
			errText = fmt.Sprintf("exit status %d", code)
		}
		return errors.New(strings.TrimPrefix(errText, "error: "))
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s: the shop's answer is not JSON: %w", firstWord(command), err)
	}
	return nil
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// limitedBuffer keeps the first few KiB of a stream (a shop's stderr).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(len(p), room)]...)
	}
	return len(p), nil
}

// line is the first line, without control characters (it came from afar).
func (l *limitedBuffer) line() string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(l.b)), "\n")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// authSet is how we log in, and where the key that opens slips comes from.
type authSet struct {
	methods []gossh.AuthMethod
	id      age.Identity // from a key file; nil with the agent
	agent   agent.ExtendedAgent
	conn    net.Conn
}

func (a *authSet) close() {
	if a.conn != nil {
		a.conn.Close()
	}
}

// auth picks the SSH key: --identity, else the agent, else default files.
func (o *opener) auth() (*authSet, error) {
	if o.identity != "" {
		return o.keyFile(o.identity)
	}
	if o.agentSock != "" {
		conn, err := net.Dial("unix", o.agentSock)
		if err == nil {
			ag := agent.NewClient(conn)
			if keys, err := ag.List(); err == nil && len(keys) > 0 {
				return &authSet{methods: []gossh.AuthMethod{gossh.PublicKeysCallback(ag.Signers)}, agent: ag, conn: conn}, nil
			}
			conn.Close()
		}
	}
	for _, name := range []string{"id_ed25519", "id_rsa"} {
		p := filepath.Join(o.home, ".ssh", name)
		if _, err := os.Stat(p); err == nil {
			return o.keyFile(p)
		}
	}
	return nil, errors.New("no SSH key: pass --identity KEY, or run an ssh-agent with your key")
}

// keyFile loads a private key for both logging in and opening slips.
func (o *opener) keyFile(path string) (*authSet, error) {
	raw, err := o.loadKey(path)
	if err != nil {
		return nil, err
	}
	signer, err := gossh.NewSignerFromKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	a := &authSet{methods: []gossh.AuthMethod{gossh.PublicKeys(signer)}}
	// A key type that cannot take slips still logs in; the shop then
	// decrypts for us (see run).
	if id, err := ageIdentity(raw); err == nil {
		a.id = id
	}
	return a, nil
}

// loadKey reads a private key file, asking for its passphrase if needed.
func (o *opener) loadKey(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if len(data) > 64<<10 {
		return nil, fmt.Errorf("identity %s is not an SSH private key", path)
	}
	k, err := gossh.ParseRawPrivateKey(data)
	var pm *gossh.PassphraseMissingError
	if errors.As(err, &pm) {
		pass, perr := o.passphrase(fmt.Sprintf("passphrase for %s: ", path))
		if perr != nil {
			return nil, fmt.Errorf("identity %s is protected by a passphrase: %w", path, perr)
		}
		k, err = gossh.ParseRawPrivateKeyWithPassphrase(data, pass)
	}
	if err != nil {
		return nil, fmt.Errorf("identity %s: %w", path, err)
	}
	return k, nil
}

// ageIdentity turns a private key into the identity that opens key slips,
// through the container's own parser (its key types and size limits).
func ageIdentity(raw any) (age.Identity, error) {
	block, err := gossh.MarshalPrivateKey(raw, "")
	if err != nil {
		return nil, err
	}
	return container.ParseIdentityFile(pem.EncodeToMemory(block))
}

// decrypter returns the identity that opens the account's key slips, or nil
// when there is none (an agent key without its private key file at hand).
func (a *authSet) decrypter(o *opener, account string) (age.Identity, error) {
	if a.agent == nil {
		return a.id, nil
	}
	keys, err := a.agent.List()
	if err != nil {
		return nil, fmt.Errorf("ssh-agent: %w", err)
	}
	var mine gossh.PublicKey
	for _, k := range keys {
		if gossh.FingerprintSHA256(k) == account {
			mine = k
		}
	}
	if mine == nil {
		return nil, nil
	}
	pubs, _ := filepath.Glob(filepath.Join(o.home, ".ssh", "*.pub"))
	for _, p := range pubs {
		data, err := os.ReadFile(p)
		if err != nil || len(data) > 16<<10 {
			continue
		}
		pub, _, _, _, err := gossh.ParseAuthorizedKey(data)
		if err != nil || !bytes.Equal(pub.Marshal(), mine.Marshal()) {
			continue
		}
		raw, err := o.loadKey(strings.TrimSuffix(p, ".pub"))
		if err != nil {
			return nil, err
		}
		return ageIdentity(raw)
	}
	return nil, nil
}

// decrypt writes the plaintext to a temporary file beside out and renames
// it into place only after the last chunk and the content id checked out.
func (o *opener) decrypt(ctx context.Context, f io.ReaderAt, h *container.Header, key []byte, out string) error {
	return o.writeOut(ctx, out, h.PlaintextSize, func(w io.Writer) (int64, error) {
		return container.Decrypt(w, f, h, key)
	})
}

// download fetches the plaintext with `get` (the agent fallback).
func (o *opener) download(ctx context.Context, c *gossh.Client, shopID string, size int64, out string) error {
	return o.writeOut(ctx, out, size, func(w io.Writer) (int64, error) {
		cw := &countWriter{w: w}
		var errb limitedBuffer
		code, err := runTo(c, nil, cw, &errb, "get "+shopID)
		if err == nil && code != 0 {
			err = fmt.Errorf("get %s: %s", shopID, strings.TrimPrefix(errb.line(), "error: "))
		}
		if err == nil && cw.n != size {
			err = fmt.Errorf("get %s: the shop sent %d bytes, the file declares %d", shopID, cw.n, size)
		}
		return cw.n, err
	})
}

// writeOut runs fill into a temp file beside out (0600), with a progress
// bar, and renames it to out on success; on any failure, or an interrupt,
// nothing is left behind.
func (o *opener) writeOut(ctx context.Context, out string, size int64, fill func(io.Writer) (int64, error)) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bar := newProgressBar(o.stderr, filepath.Base(out), size, o.progress)
	w := &ctxWriter{ctx: ctx, w: tmp, bar: bar}
	_, err = fill(w)
	bar.finish(err == nil)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: %w", ctx.Err())
		}
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
	bar *progressBar
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.bar.add(int64(n))
	return n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// askTerminal asks a yes/no question on the controlling terminal; it never
// reads an answer from a pipe.
func askTerminal(w io.Writer, question string) (bool, error) {
	tty, err := openTerminal()
	if err != nil {
		return false, err
	}
	defer tty.Close()
	fmt.Fprint(w, question)
	var line []byte
	buf := make([]byte, 1)
	for len(line) < 64 {
		n, err := tty.Read(buf)
		if n == 0 || err != nil || buf[0] == '\n' {
			break
		}
		line = append(line, buf[0])
	}
	ans := strings.ToLower(strings.TrimSpace(string(line)))
	return ans == "y" || ans == "yes", nil
}

// readPassphrase reads a passphrase from the terminal without echo.
func readPassphrase(w io.Writer, prompt string) ([]byte, error) {
	tty, err := openTerminal()
	if err != nil {
		return nil, err
	}
	defer tty.Close()
	fmt.Fprint(w, prompt)
	p, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(w)
	return p, err
}

func openTerminal() (*os.File, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil || !term.IsTerminal(int(tty.Fd())) {
		if tty != nil {
			tty.Close()
		}
		return nil, errors.New("no terminal to ask on")
	}
	return tty, nil
}

// progressBar draws "name [=====>    ]  45%  12.3 MiB / 27 MiB  4.5 MiB/s"
// on stderr, at most ten times a second, only when stderr is a terminal.
type progressBar struct {
	w       io.Writer
	label   string
	total   int64
	on      bool
	done    int64
	start   time.Time
	last    time.Time
	drawn   bool
	nowFunc func() time.Time
}

func newProgressBar(w io.Writer, label string, total int64, on bool) *progressBar {
	if len(label) > 24 {
		label = label[:23] + "…"
	}
	now := time.Now()
	return &progressBar{w: w, label: label, total: total, on: on, start: now, nowFunc: time.Now}
}

func (p *progressBar) add(n int64) {
	p.done += n
	if !p.on {
		return
	}
	if now := p.nowFunc(); now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.draw()
	}
}

func (p *progressBar) draw() {
	const width = 24
	frac := 1.0
	if p.total > 0 {
		frac = min(1, float64(p.done)/float64(p.total))
	}
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	rate := ""
	if el := p.nowFunc().Sub(p.start).Seconds(); el > 0.2 {
		rate = "  " + market.FormatBytes(int64(float64(p.done)/el)) + "/s"
	}
	fmt.Fprintf(p.w, "\r%s [%s] %3.0f%%  %s / %s%s\x1b[K", p.label, bar, frac*100,
		market.FormatBytes(p.done), market.FormatBytes(p.total), rate)
	p.drawn = true
}

// finish draws the final state and ends the line.
func (p *progressBar) finish(ok bool) {
	if !p.on {
		return
	}
	if ok {
		p.draw()
	}
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
