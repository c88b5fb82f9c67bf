package embedded

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"dalil"
	"dalil/store/internal/check"
)

// PutRecords writes all records of one kind in one synced batch: Pebble
// applies a batch whole or not at all, and a batch with a bad id is refused
// before anything is written. A repeated id in one batch: the last one wins.
func (s *Store) PutRecords(ctx context.Context, kind string, recs []dalil.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.Records(kind, recs); err != nil {
		return fmt.Errorf("embedded: put records: %w", err)
	}
	if len(recs) == 0 {
		return nil
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	prefix := recordPrefix(kind)
	b := s.db.NewBatch()
	defer b.Close()
	for _, r := range recs {
		op := b.SetDeferred(len(prefix)+len(r.ID), len(r.Data))
		copy(op.Key, prefix)
		copy(op.Key[len(prefix):], r.ID)
		copy(op.Value, r.Data)
		if err := op.Finish(); err != nil {
			return fmt.Errorf("embedded: put records: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return unavailable("put records", err)
	}
	return nil
}

// GetRecord returns a copy of the record's data, or tracking.ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := check.Record(kind, id); err != nil {
		return nil, fmt.Errorf("embedded: get record: %w", err)
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	v, closer, err := s.db.Get(recordKey(kind, id))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("embedded: record %s/%s: %w", kind, id, dalil.ErrNotFound)
	}
	if err != nil {
		return nil, unavailable("get record", err)
	}
	data := append([]byte{}, v...)
	closer.Close()
	return data, nil
}

// ScanRecords calls fn for every record of kind in id byte order. fn's data
// is only valid during the call. An error from fn stops the scan and is
// returned as is, except tracking.ErrStopScan, which stops it with nil.
func (s *Store) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	return s.ScanRecordsFrom(ctx, kind, "", fn)
}

// ScanRecordsFrom is ScanRecords from the first id >= from ("" is the
// start of the kind): the iterator's
// lower bound is the key of (kind, from), so Pebble seeks straight to it and
// never reads the ids before it.
func (s *Store) ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.ScanFrom(kind, from); err != nil {
		return fmt.Errorf("embedded: scan records: %w", err)
	}
	return s.scanRecords(ctx, kind, from, fn)
}

// scanRecords iterates the keys of kind from (kind, from) to the end of the
// kind's prefix. The caller has checked ctx, kind and from.
func (s *Store) scanRecords(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	prefix := recordPrefix(kind)
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: recordKey(kind, from),
		UpperBound: prefixEnd(prefix),
	})
	if err != nil {
		return unavailable("scan records", err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return unavailable("scan records", err)
		}
		if err := fn(string(it.Key()[len(prefix):]), v); err != nil {
			if errors.Is(err, dalil.ErrStopScan) {
				return nil
			}
			return err
		}
	}
	if err := it.Error(); err != nil {
		return unavailable("scan records", err)
	}
	return nil
}

// DeleteRecord removes a record; deleting a missing record is not an error.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.Record(kind, id); err != nil {
		return fmt.Errorf("embedded: delete record: %w", err)
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	if err := s.db.Delete(recordKey(kind, id), pebble.Sync); err != nil {
		return unavailable("delete record", err)
	}
	return nil
}
