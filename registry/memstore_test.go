package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"dalil"
)

// memStore is a small in-memory RecordStore for the registry's tests, with a
// switch to make PutRecords of a kind fail the way an unavailable store does.
type memStore struct {
	mu          sync.Mutex
	records     map[string]map[string][]byte
	failPutKind map[string]bool // PutRecords of these kinds fails
}

func newMemStore() *memStore {
	return &memStore{records: make(map[string]map[string][]byte)}
}

func (s *memStore) PutRecords(ctx context.Context, kind string, recs []dalil.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPutKind[kind] {
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

func (s *memStore) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.records[kind][id]
	if !ok {
		return nil, dalil.ErrNotFound
	}
	return d, nil
}

func (s *memStore) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	return s.ScanRecordsFrom(ctx, kind, "", fn)
}

// ScanRecordsFrom copies the matching records under the lock and calls fn
// without it, so that fn may call the store (as it may with the real ones).
func (s *memStore) ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	s.mu.Lock()
	var ids []string
	data := map[string][]byte{}
	for id, d := range s.records[kind] {
		if id >= from {
			ids = append(ids, id)
			data[id] = d
		}
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

func (s *memStore) DeleteRecord(ctx context.Context, kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.records[kind][id]; !ok {
		return dalil.ErrNotFound
	}
	delete(s.records[kind], id)
	return nil
}
