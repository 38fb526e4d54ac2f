package tui_test

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	"github.com/shopfile/shopfile/store"
	"github.com/shopfile/shopfile/tui"
	"github.com/shopfile/shopfile/tui/pages/browse"
)

// An idle session gets no messages at all: no tickers, no spinners, no
// polling — its only pending work is blocked on a channel or a timer.
func TestIdleSessionIsQuiet(t *testing.T) {
	t.Parallel()
	w, _, buyer := catalogue(t)
	s := w.open(buyer, 100, 30, opts{idle: time.Hour})
	s.settled("page 1/1 · 3 shops", "balance 5,000 sats")
	s.keys("/")
	s.typ("song")
	s.keys("enter")
	s.settled("page 1/1 · 2 shops")
	time.Sleep(2 * browse.Debounce) // the one debounce timer of the burst fires
	before := s.msgs.Load()
	time.Sleep(700 * time.Millisecond)
	if n := s.msgs.Load() - before; n != 0 {
		t.Fatalf("an idle session got %d messages in 0.7 s", n)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Not parallel: it counts every goroutine of the test binary.
//
// Sessions run the way the SSH server runs them, then end mid-work (a
// debounce timer pending, loads in flight): every goroutine they started
// ends and the event subscription is dropped.
func TestEndedSessionsLeaveNothingBehind(t *testing.T) {
	w, _, buyer := catalogue(t)
	runtime.GC()
	base, subs := runtime.NumGoroutine(), w.m.Events().Subscribers()
	for range 5 {
		runSession(t, w, buyer)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base || w.m.Events().Subscribers() != subs {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines %d (was %d), subscribers %d (was %d):\n%s", runtime.NumGoroutine(), base,
				w.m.Events().Subscribers(), subs, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runSession(t *testing.T, w *world, actor *store.Account) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in, keys := io.Pipe()
	out := &lockedBuffer{}
	model := tui.New(w.m, tui.Session{Ctx: ctx, Actor: actor, Renderer: renderer(termenv.Ascii), Width: 100,
		Height: 30, Dial: dial, Idle: time.Hour})
	p := tea.NewProgram(model, tea.WithInput(in), tea.WithOutput(out), tea.WithContext(ctx), tea.WithoutSignalHandler())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.Run()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "3 shops") {
		if time.Now().After(deadline) {
			t.Fatalf("no first page:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, _ = keys.Write([]byte("/so")) // a debounce timer is now pending
	cancel()                         // the channel closed
	<-done
	_ = keys.Close() // the SSH channel's input ends with it
}
