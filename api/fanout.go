package api

import (
	"sync"
	"sync/atomic"

	"dalil/tracking"
)

// Fanout is a tracking.Publisher whose receivers can be added after the
// engine that publishes to it was built (the helpdesk adds its monitors when
// its routes are registered). Publish reads an immutable list: no lock.
type Fanout struct {
	mu sync.Mutex // serialises Add
	ps atomic.Pointer[tracking.Publishers]
}

// Add appends a receiver.
func (f *Fanout) Add(p tracking.Publisher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next tracking.Publishers
	if cur := f.ps.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, p)
	f.ps.Store(&next)
}

// Publish hands u to every receiver in the order they were added.
func (f *Fanout) Publish(u tracking.Update) {
	if ps := f.ps.Load(); ps != nil {
		ps.Publish(u)
	}
}
