package tracker

import (
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// refusals rate-limits failed logins (unknown IMEIs) per source address, so
// that nobody can try IMEIs one connection after another to learn which are
// registered. A source that spends its budget has its next connections
// closed at once (reason rate_limited) until the budget refills. Trackers
// behind one carrier NAT share an address, so the budget is generous: a
// real tracker fails only when it is not registered yet.
type refusals struct {
	mu      sync.Mutex
	sources map[string]*rate.Limiter
	every   rate.Limit
	burst   int
}

// maxSources bounds the addresses remembered; beyond it they are forgotten
// all at once (a flood of addresses gets a fresh budget each, at worst).
const maxSources = 100_000

func newRefusals(perMinute float64, burst int) *refusals {
	return &refusals{sources: map[string]*rate.Limiter{}, every: rate.Limit(perMinute / 60), burst: burst}
}

func sourceOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// blocked reports whether src has no budget left for another login attempt.
func (r *refusals) blocked(src string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.sources[src]
	return ok && l.TokensAt(now) < 1
}

// failed spends one unit of src's budget.
func (r *refusals) failed(src string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.sources[src]
	if !ok {
		if len(r.sources) >= maxSources {
			clear(r.sources)
		}
		l = rate.NewLimiter(r.every, r.burst)
		r.sources[src] = l
	}
	l.AllowN(now, 1)
}
