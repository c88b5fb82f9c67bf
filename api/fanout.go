package api

import (
	"sync"
	"sync/atomic"

	"dalil"
)

// Fanout is a tracking.Publisher whose receivers can be added after the
// engine that publishes to it was built (the helpdesk adds its monitors when
// its routes are registered). Publish reads an immutable list: no lock.
type Fanout struct {
	mu sync.Mutex // serialises Add
	ps atomic.Pointer[dalil.Publishers]
}

// Add appends a receiver.
func (f *Fanout) Add(p dalil.Publisher) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next dalil.Publishers
	if cur := f.ps.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, p)
	f.ps.Store(&next)
}

// Publish hands u to every receiver in the order they were added.
func (f *Fanout) Publish(u dalil.Update) {
	if ps := f.ps.Load(); ps != nil {
		ps.Publish(u)
	}
}
