package ssh

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui"
)

// TUIFactory builds the root model for one session.
type TUIFactory func(tui.Session) tea.Model

// runTUI runs one Bubble Tea program for a PTY session. The program lives
// exactly as long as the channel: input EOF (the client closed the channel,
// even inside a multiplexed connection) cancels its context.
func (s *Server) runTUI(sess ssh.Session, actor *store.Account) {
	if s.tui == nil {
		wish.Fatalln(sess, "this shop has no terminal UI; run a command, e.g. ssh … ls")
		return
	}
	pty, winCh, _ := sess.Pty()
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	model := s.tui(tui.Session{Ctx: ctx, Actor: actor, Renderer: sessionRenderer(sess, pty), Width: pty.Window.Width,
		Height: pty.Window.Height, Dial: s.dial(), Stop: s.stop, Idle: s.cfg.TUIIdle})
	in := &eofReader{r: sess, onEOF: cancel}
	p := tea.NewProgram(newDrawer(model, sess, pty.Window.Width, pty.Window.Height),
		tea.WithInput(in),
		tea.WithOutput(io.Discard), // the drawer writes every frame itself
		tea.WithoutRenderer(),
		tea.WithContext(ctx),
		tea.WithoutSignalHandler(), // signals belong to the server process
	)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.Send(tea.WindowSizeMsg{Width: pty.Window.Width, Height: pty.Window.Height})
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.stop:
				p.Send(tui.ShutdownMsg{})
				return
			case w, ok := <-winCh:
				if !ok {
					return
				}
				p.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
			}
		}
	}()
	final, err := p.Run()
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
		s.log.Error("tui", "account", actor.ID, "err", err)
	}
	cancel()
	wg.Wait()
	_, _ = io.WriteString(sess, leaveScreen)
	// A session that ended on its own (shutdown, idle) says why on the
	// normal screen, after the alternate screen is gone.
	if d, ok := final.(*drawer); ok {
		if f, ok := d.inner.(interface{ Farewell() string }); ok && f.Farewell() != "" {
			_, _ = io.WriteString(sess, f.Farewell()+"\n")
		}
	}
	_ = sess.Exit(0)
}

// sessionRenderer builds the session's lipgloss renderer from the client's
// TERM and environment, without the terminal colour query wish would send:
// a client that never answers must not wait seconds for its first frame.
func sessionRenderer(sess ssh.Session, pty ssh.Pty) *lipgloss.Renderer {
	env := append(sess.Environ(), "TERM="+pty.Term)
	profile := termenv.Ascii
	if !hasEnv(env, "NO_COLOR") {
		switch {
		case pty.Term == "" || pty.Term == "dumb":
			profile = termenv.Ascii
		case hasEnv(env, "COLORTERM=truecolor"), hasEnv(env, "COLORTERM=24bit"):
			profile = termenv.TrueColor
		case strings.Contains(pty.Term, "256color"):
			profile = termenv.ANSI256
		default:
			profile = termenv.ANSI
		}
	}
	r := lipgloss.NewRenderer(sess, termenv.WithProfile(profile), termenv.WithUnsafe())
	r.SetColorProfile(profile)
	r.SetHasDarkBackground(true)
	return r
}

func hasEnv(env []string, want string) bool {
	for _, e := range env {
		if e == want || strings.HasPrefix(e, want+"=") {
			return true
		}
	}
	return false
}

// eofReader calls onEOF once when the client closes its side.
type eofReader struct {
	r     io.Reader
	once  sync.Once
	onEOF func()
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(e.onEOF)
	}
	return n, err
}
