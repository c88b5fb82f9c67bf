// Package memstore is an in-memory dalil.Store for tests, with switches that
// make it fail the way an unavailable store does. It is not durable.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"dalil"
)

// Store is a small in-memory dalil.Store for tests. It is not durable and
// keeps everything; tests switch its faults on to see how callers answer an
// unavailable store.
type Store struct {
	mu        sync.Mutex
	positions map[string][]dalil.Position // by device, in arrival order
	records   map[string]map[string][]byte
	appends   int

	FailAppend  error           // AppendPositions fails with this when set
	FailPutKind map[string]bool // PutRecords of these kinds fails
	deleted     []time.Time     // DeletePositionsBefore calls
}

// New returns an empty store.
func New() *Store {
	return &Store{positions: make(map[string][]dalil.Position), records: make(map[string]map[string][]byte)}
}

func (s *Store) AppendPositions(ctx context.Context, ps []dalil.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailAppend != nil {
		return s.FailAppend
	}
	s.appends++
	for _, p := range ps {
		s.positions[p.Device] = append(s.positions[p.Device], p)
	}
	return nil
}

func (s *Store) Trail(ctx context.Context, device string, since, until time.Time, limit int) ([]dalil.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dalil.Position
	for _, p := range s.positions[device] {
		if !p.Time.Before(since) && p.Time.Before(until) {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *Store) Latest(ctx context.Context, fn func(dalil.Position) error) error {
	s.mu.Lock()
	var latest []dalil.Position
	for _, ps := range s.positions {
		best := ps[0]
		for _, p := range ps[1:] {
			if p.Time.After(best.Time) {
				best = p
			}
		}
		latest = append(latest, best)
	}
	s.mu.Unlock()
	slices.SortFunc(latest, func(a, b dalil.Position) int { return strings.Compare(a.Device, b.Device) })
	for _, p := range latest {
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleted = append(s.deleted, t)
	var n int64
	for dev, ps := range s.positions {
		kept := ps[:0]
		for _, p := range ps {
			if p.Time.Before(t) {
				n++
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) == 0 {
			delete(s.positions, dev)
		} else {
			s.positions[dev] = kept
		}
	}
	return n, nil
}

func (s *Store) PutRecords(ctx context.Context, kind string, recs []dalil.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailPutKind[kind] {
		return fmt.Errorf("put %s: %w", kind, dalil.ErrUnavailable)
	}
	m := s.records[kind]
	if m == nil {
		m = make(map[string][]byte)
		s.records[kind] = m
	}
	for _, r := range recs {
		m[r.ID] = slices.Clone(r.Data)
	}
	return nil
}

func (s *Store) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.records[kind][id]
	if !ok {
		return nil, dalil.ErrNotFound
	}
	return d, nil
}

func (s *Store) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	return s.ScanRecordsFrom(ctx, kind, "", fn)
}

// ScanRecordsFrom copies the matching records under the lock and calls fn
// without it, so that fn may call the store (as it may with the real ones).
func (s *Store) ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.records[kind]))
	for id := range s.records[kind] {
		if id >= from {
			ids = append(ids, id)
		}
	}
	data := make(map[string][]byte, len(ids))
	for _, id := range ids {
		data[id] = s.records[kind][id]
	}
	s.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if err := fn(id, data[id]); err != nil {
			if errors.Is(err, dalil.ErrStopScan) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[kind][id]; !ok {
		return dalil.ErrNotFound
	}
	delete(s.records[kind], id)
	return nil
}

func (s *Store) Ping(ctx context.Context) error { return nil }
func (s *Store) Close() error                   { return nil }

// Count is how many positions of device the store holds.
func (s *Store) Count(device string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.positions[device])
}

// NumRecords is how many records of kind the store holds.
func (s *Store) NumRecords(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records[kind])
}
