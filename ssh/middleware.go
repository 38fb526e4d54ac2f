package ssh

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/shopfile/shopfile/ssh/commands"
	"github.com/shopfile/shopfile/store"
)

type identityKey struct{}

// identity is a connection's account. Every channel of a connection
// authenticated with the same key, so it is looked up once per connection
// (and again when older than identityTTL, so granted roles show up) and
// shared by all channels: no channel ever sees another's half-set state.
type identity struct {
	mu    sync.Mutex
	actor *store.Account
	at    time.Time
}

// identityTTL bounds how stale a long-lived connection's roles may be.
const identityTTL = 5 * time.Second

// ActorFrom returns the session's account, set by the identity middleware.
func ActorFrom(ctx context.Context) *store.Account {
	id, _ := ctx.Value(identityKey{}).(*identity)
	if id == nil {
		return nil
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.actor
}

// identityMiddleware decides who the session is, after the handshake, from
// the key the connection actually authenticated with (never from a key
// merely offered during authentication).
func (s *Server) identityMiddleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) {
			key := sess.PublicKey()
			if key == nil {
				wish.Fatalln(sess, "shopfile accepts SSH public-key authentication only")
				return
			}
			if err := s.login(sess, key); err != nil {
				s.log.Error("login", "remote", sess.RemoteAddr().String(), "err", err)
				wish.Fatalln(sess, "error: the shop could not load your account; try again")
				return
			}
			next(sess)
		}
	}
}

// login loads (or refreshes) the connection's account.
func (s *Server) login(sess ssh.Session, key ssh.PublicKey) error {
	ctx := sess.Context()
	id, _ := ctx.Value(identityKey{}).(*identity)
	if id == nil {
		id = &identity{}
		ctx.SetValue(identityKey{}, id)
		// Two first channels racing may each set one; both are
		// equivalent and the loser's is simply not used again.
		if won, _ := ctx.Value(identityKey{}).(*identity); won != nil {
			id = won
		}
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	if id.actor != nil && time.Since(id.at) < identityTTL {
		return nil
	}
	actor, err := s.market.Login(ctx, key)
	if err != nil {
		return err
	}
	id.actor, id.at = actor, time.Now()
	return nil
}

// exitRecorder remembers the exit status a handler set, for the log.
type exitRecorder struct {
	ssh.Session
	code int
}

func (e *exitRecorder) Exit(code int) error {
	e.code = code
	return e.Session.Exit(code)
}

// parsedCommand is a session whose command was split once. The ssh
// package splits the raw command again (go-shlex) on every Command() call,
// and the middlewares below ask four or five times: that was about 7 % of
// the CPU of a purchase over SSH.
type parsedCommand struct {
	ssh.Session
	args []string
}

// Command returns a copy, as the ssh package does: callers may change it.
func (p *parsedCommand) Command() []string { return slices.Clone(p.args) }

// commandMiddleware hands every later middleware a parsedCommand.
func commandMiddleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) { next(&parsedCommand{Session: sess, args: sess.Command()}) }
	}
}

// loggingMiddleware logs each session once, when it ends.
func (s *Server) loggingMiddleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) {
			start := time.Now()
			rec := &exitRecorder{Session: sess}
			next(rec)
			actor := ActorFrom(sess.Context())
			id := ""
			if actor != nil {
				id = actor.ID
			}
			_, _, pty := sess.Pty()
			cmd := "tui"
			if args := sess.Command(); len(args) > 0 || !pty {
				cmd = strings.Join(firstN(args, 2), " ")
			}
			s.log.Info("session", "account", id, "remote", hostOf(sess.RemoteAddr()), "cmd", cmd,
				"exit", rec.code, "took", time.Since(start).Round(time.Microsecond))
		}
	}
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// sessionMiddleware routes a session: a terminal with no command gets the
// TUI, anything else the command router.
func (s *Server) sessionMiddleware() wish.Middleware {
	return func(next ssh.Handler) ssh.Handler {
		return func(sess ssh.Session) {
			actor := ActorFrom(sess.Context())
			if actor == nil {
				return
			}
			_, _, isPty := sess.Pty()
			if isPty && len(sess.Command()) == 0 && sess.Subsystem() == "" {
				s.runTUI(sess, actor)
				next(sess)
				return
			}
			ctx, cancel := context.WithCancel(sess.Context())
			defer cancel()
			env := commands.Env{Ctx: ctx, Market: s.market, Actor: actor, Stdin: sess, Stdout: sess, Stderr: sess.Stderr(), Dial: s.dial()}
			code := commands.Run(env, sess.Command())
			_ = sess.Exit(code)
			next(sess)
		}
	}
}

// dial is how a user reaches this shop, for help text.
func (s *Server) dial() string {
	host := s.market.Config().Host
	h, port, err := net.SplitHostPort(host)
	if err != nil || port == "22" {
		return "ssh " + strings.TrimSuffix(host, ":22")
	}
	return fmt.Sprintf("ssh -p %s %s", port, h)
}
