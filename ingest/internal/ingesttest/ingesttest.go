// Package ingesttest has the fakes that the stream-protocol packages'
// tests share: a recording sink, a device map and a counter reader.
package ingesttest

import (
	"context"
	"sync"
	"testing"
	"time"

	"dalil"

	"github.com/prometheus/client_golang/prometheus"
)

// Sink records what it stores; Fail makes it refuse with an error.
type Sink struct {
	mu       sync.Mutex
	stored   []dalil.Position
	attempts int
	err      error
}

func (s *Sink) Accept(_ context.Context, ps []dalil.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.err != nil {
		return s.err
	}
	s.stored = append(s.stored, ps...)
	return nil
}

// Fail makes every Accept return err (nil: store again).
func (s *Sink) Fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Stored returns a copy of everything stored.
func (s *Sink) Stored() []dalil.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dalil.Position(nil), s.stored...)
}

// Attempts is how many times Accept was called.
func (s *Sink) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// WaitStored waits until at least n positions are stored and returns them.
func (s *Sink) WaitStored(t testing.TB, n int, within time.Duration) []dalil.Position {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ps := s.Stored(); len(ps) >= n {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %d positions stored, want %d", within, len(s.Stored()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Devices is a registry of devices by id.
type Devices map[string]dalil.Device

func (d Devices) Device(id string) (dalil.Device, bool) {
	dev, ok := d[id]
	return dev, ok
}

// Counter returns the value of the counter series name{label=value} in reg
// (0 if absent); label "" takes the series' sum.
func Counter(t testing.TB, reg prometheus.Gatherer, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if match {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
