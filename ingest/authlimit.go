package ingest

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// authLimiter bounds failed device authentications per source address, so
// that a stranger cannot try ids or tokens at line rate. Only failures spend
// the budget: the devices of a whole carrier-grade NAT share an address,
// and those that prove themselves never spend it. A source over its budget
// is refused without its credential being checked, so guessing does not go
// on behind the 429s.
type authLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	sources map[netip.Prefix]*rate.Limiter
}

// maxAuthSources bounds the limiter's memory (about 100 bytes a source).
// When it is full a random source is forgotten, which only gives that
// source a fresh budget.
const maxAuthSources = 100_000

func newAuthLimiter(perSecond float64, burst int, now func() time.Time) *authLimiter {
	if perSecond < 0 {
		return nil
	}
	return &authLimiter{limit: rate.Limit(perSecond), burst: burst, now: now, sources: map[netip.Prefix]*rate.Limiter{}}
}

// sourceOf is the request's source address: an IPv4 address, or the /64
// of an IPv6 one (a single subscriber usually holds a whole /64).
// RemoteAddr is the peer; behind a reverse proxy every device shares the
// proxy's address and the budget (docs/ingest.md).
func sourceOf(r *http.Request) (netip.Prefix, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, err := netip.ParseAddr(r.RemoteAddr)
		if err != nil {
			return netip.Prefix{}, false
		}
		ap = netip.AddrPortFrom(a, 0)
	}
	a := ap.Addr().Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// blocked reports whether the source has no failures left to spend, and
// if so how long until it has one.
func (l *authLimiter) blocked(r *http.Request) (time.Duration, bool) {
	if l == nil {
		return 0, false
	}
	src, ok := sourceOf(r)
	if !ok {
		return 0, false
	}
	l.mu.Lock()
	lim := l.sources[src]
	l.mu.Unlock()
	if lim == nil {
		return 0, false
	}
	now := l.now()
	if lim.TokensAt(now) >= 1 {
		return 0, false
	}
	wait := time.Second
	if l.limit > 0 {
		wait = time.Duration((1 - lim.TokensAt(now)) / float64(l.limit) * float64(time.Second))
	}
	return max(wait, time.Second), true
}

// failed spends one failure of the source's budget.
func (l *authLimiter) failed(r *http.Request) {
	if l == nil {
		return
	}
	src, ok := sourceOf(r)
	if !ok {
		return
	}
	l.mu.Lock()
	lim := l.sources[src]
	if lim == nil {
		if len(l.sources) >= maxAuthSources {
			for k := range l.sources { // map order is random: evict one
				delete(l.sources, k)
				break
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.sources[src] = lim
	}
	l.mu.Unlock()
	lim.AllowN(l.now(), 1)
}
