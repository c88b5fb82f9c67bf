package check

import (
	"sync"
	"time"
)

// Gate is the open/closed state both stores share: calls enter while the
// store is open, Close refuses new ones and waits for those in progress, so
// no call ever runs against a closed database.
type Gate struct {
	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// Enter registers a call, or returns closedErr once Close has begun. Pair a
// nil return with Leave.
func (g *Gate) Enter(closedErr error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return closedErr
	}
	g.inflight.Add(1)
	return nil
}

// Leave ends a call registered by Enter.
func (g *Gate) Leave() { g.inflight.Done() }

// Close refuses new calls and waits for running ones. It reports false when
// the gate was already closed, so that the caller's Close is a no-op twice.
func (g *Gate) Close() bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.closed = true
	g.mu.Unlock()
	g.inflight.Wait()
	return true
}

// TrailRange checks a Trail call's arguments the way both stores answer
// them: a bad device name is an error, times are clamped to what the stores
// keep, and an empty range (empty true) answers no positions.
func TrailRange(device string, since, until time.Time) (s, u time.Time, empty bool, err error) {
	if err := Name("device", device); err != nil {
		return since, until, true, err
	}
	s, u = Clamp(since), Clamp(until)
	return s, u, !s.Before(u), nil
}
