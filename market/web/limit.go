package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// limiter allows n events per key in each fixed window. It forgets keys
// whose window has passed, so memory stays bounded by recent clients.
type limiter struct {
	n      int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]*slot
	last time.Time // last sweep
}

type slot struct {
	start time.Time
	count int
}

// maxTracked bounds the keys kept between sweeps; past it, unknown keys
// are refused until the next window (fail closed under a flood).
const maxTracked = 100_000

func newLimiter(n int, window time.Duration, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{n: n, window: window, now: now, seen: map[string]*slot{}}
}

func (l *limiter) allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) >= l.window {
		for k, s := range l.seen {
			if now.Sub(s.start) >= l.window {
				delete(l.seen, k)
			}
		}
		l.last = now
	}
	s := l.seen[key]
	if s == nil || now.Sub(s.start) >= l.window {
		if s == nil && len(l.seen) >= maxTracked {
			return false
		}
		s = &slot{start: now}
		l.seen[key] = s
	}
	if s.count >= l.n {
		return false
	}
	s.count++
	return true
}

// clientIP is the peer's address. Behind a reverse proxy every client
// shares the proxy's address; the limits are per IP by design and the
// proxy should apply its own.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
