package ssh

import (
	"net"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
)

// admission bounds concurrent connections per remote address. A connection
// over the bound waits for a slot before its handshake starts: a burst from
// one user is slowed, not refused. Only a connection that waited the whole
// AdmitWait, or one beyond a bounded wait queue, is dropped.
type admission struct {
	per     int
	wait    time.Duration
	maxWait int

	mu    sync.Mutex
	addrs map[string]*slots
}

type slots struct {
	sem     chan struct{}
	waiting int
	users   int // holders plus waiters; the entry is dropped at zero
}

func newAdmission(per int, wait time.Duration) *admission {
	return &admission{per: per, wait: wait, maxWait: 16 * per, addrs: map[string]*slots{}}
}

func hostOf(addr net.Addr) string {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// admit is the server's ConnCallback: it returns the connection once it
// holds a slot, or nil to drop it.
func (a *admission) admit(_ ssh.Context, c net.Conn) net.Conn {
	host := hostOf(c.RemoteAddr())
	a.mu.Lock()
	sl := a.addrs[host]
	if sl == nil {
		sl = &slots{sem: make(chan struct{}, a.per)}
		a.addrs[host] = sl
	}
	if sl.waiting >= a.maxWait {
		a.mu.Unlock()
		return nil
	}
	sl.users++
	sl.waiting++
	a.mu.Unlock()

	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case sl.sem <- struct{}{}:
		a.mu.Lock()
		sl.waiting--
		a.mu.Unlock()
		return &admitted{Conn: c, release: func() { a.release(host, sl, true) }}
	case <-t.C:
		a.mu.Lock()
		sl.waiting--
		a.mu.Unlock()
		a.release(host, sl, false)
		return nil
	}
}

func (a *admission) release(host string, sl *slots, held bool) {
	if held {
		<-sl.sem
	}
	a.mu.Lock()
	sl.users--
	if sl.users == 0 {
		delete(a.addrs, host)
	}
	a.mu.Unlock()
}

// tracked counts remote addresses with state (tests check it drains).
func (a *admission) tracked() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.addrs)
}

// admitted gives its slot back exactly once, when the connection closes.
type admitted struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *admitted) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
