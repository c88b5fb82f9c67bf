package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"dalil"
	"dalil/store/internal/check"
)

// ctxEvery is how many keys a scan reads between context checks.
const ctxEvery = 256

// retentionBatchDevices bounds one retention batch, so a store with a million
// devices does not build one giant batch.
const retentionBatchDevices = 1024

// AppendPositions writes every position and each device's newest into its
// latest key, in the open group commit (commit.go), and returns after that
// group is durable: concurrent callers share one batch and one fsync. A
// batch with a bad device id is refused whole. The caller may reuse ps once
// the call returns.
func (s *Store) AppendPositions(ctx context.Context, ps []dalil.Position) error {
	if len(ps) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.Positions(ps); err != nil {
		return fmt.Errorf("embedded: append: %w", err)
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	s.latestMu.RLock()
	defer s.latestMu.RUnlock()

	return s.commit.append(ctx, ps)
}

// Trail returns device's positions with since <= Time < until, oldest first
// (same-time pings in arrival order), at most limit (0 = all).
func (s *Store) Trail(ctx context.Context, device string, since, until time.Time, limit int) ([]dalil.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	since, until, empty, err := check.TrailRange(device, since, until)
	if err != nil {
		return nil, fmt.Errorf("embedded: trail: %w", err)
	}
	if empty {
		return nil, nil
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: positionBound(device, since),
		UpperBound: positionBound(device, until),
	})
	if err != nil {
		return nil, unavailable("trail", err)
	}
	var out []dalil.Position
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				it.Close()
				return nil, err
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return nil, unavailable("trail", err)
		}
		p := dalil.Position{Device: device, Time: positionKeyTime(it.Key())}
		if err := decodeValue(v, &p); err != nil {
			it.Close()
			return nil, fmt.Errorf("embedded: trail %q: %w", device, err)
		}
		out = append(out, p)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if err := it.Close(); err != nil {
		return nil, unavailable("trail", err)
	}
	return out, nil
}

// Latest calls fn with the newest position of every device, in device id
// order. An error from fn stops the scan and is returned as is.
func (s *Store) Latest(ctx context.Context, fn func(dalil.Position) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	lower := []byte{prefixLatest}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return unavailable("latest", err)
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
			return unavailable("latest", err)
		}
		device := string(it.Key()[1:])
		p, err := decodeLatestValue(device, v)
		if err != nil {
			return fmt.Errorf("embedded: latest %q: %w", device, err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return unavailable("latest", err)
	}
	return nil
}

// DeletePositionsBefore removes every position older than t with one range
// deletion per device (devices are found by skipping through the position
// keyspace, one seek per device), then drops latest entries older than t so
// that Latest never names a position that no longer exists. It counts what
// it deletes by reading the doomed keys once; Pebble reclaims the space in
// compaction, dropping whole files the tombstones cover.
func (s *Store) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	t = check.Clamp(t) // microseconds, the precision positions are kept at, as in PostgreSQL
	removed, err := s.deleteTrailsBefore(ctx, t)
	if err != nil {
		return removed, err
	}
	return removed, s.deleteStaleLatest(ctx, t)
}

func (s *Store) deleteTrailsBefore(ctx context.Context, t time.Time) (int64, error) {
	lower := []byte{prefixPosition}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return 0, unavailable("retention", err)
	}
	defer it.Close()
	var removed, pending int64 // committed, in the open batch
	b := s.db.NewBatch()
	defer func() { b.Close() }()
	devices := 0
	commit := func() error {
		if b.Empty() {
			return nil
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return unavailable("retention", err)
		}
		removed, pending = removed+pending, 0
		b.Close()
		b = s.db.NewBatch()
		return nil
	}
	for ok := it.First(); ok; {
		if err := ctx.Err(); err != nil {
			cerr := commit()
			return removed, errors.Join(err, cerr)
		}
		key := it.Key()
		sep := bytes.IndexByte(key[1:], 0)
		if sep < 0 {
			return removed, fmt.Errorf("embedded: retention: malformed position key %q", key)
		}
		prefix := append([]byte(nil), key[:1+sep+1]...)
		device := string(prefix[1 : len(prefix)-1])
		var n int64
		for ; ok && bytes.HasPrefix(it.Key(), prefix) && positionKeyTime(it.Key()).Before(t); ok = it.Next() {
			n++
		}
		if n > 0 {
			if err := b.DeleteRange(prefix, positionBound(device, t), nil); err != nil {
				return removed, fmt.Errorf("embedded: retention: %w", err)
			}
			pending += n
			if devices++; devices%retentionBatchDevices == 0 {
				if err := commit(); err != nil {
					return removed, err
				}
			}
		}
		ok = it.SeekGE(prefixEnd(prefix))
	}
	if err := it.Error(); err != nil {
		return removed, unavailable("retention", err)
	}
	err = commit()
	return removed, err
}

// deleteStaleLatest drops latest entries older than t. Candidates are found
// without blocking appends; each is re-read and deleted while appends wait,
// so a newer ping that raced in is never deleted.
func (s *Store) deleteStaleLatest(ctx context.Context, t time.Time) error {
	lower := []byte{prefixLatest}
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return unavailable("retention", err)
	}
	var stale [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return unavailable("retention", err)
		}
		if len(v) >= timeLen && decodeTime(v).Before(t) {
			stale = append(stale, append([]byte(nil), it.Key()...))
		}
	}
	if err := it.Close(); err != nil {
		return unavailable("retention", err)
	}
	if len(stale) == 0 {
		return ctx.Err()
	}
	s.latestMu.Lock()
	defer s.latestMu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	for _, k := range stale {
		v, closer, err := s.db.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			continue
		}
		if err != nil {
			return unavailable("retention", err)
		}
		old := len(v) >= timeLen && decodeTime(v).Before(t)
		closer.Close()
		if old {
			if err := b.Delete(k, nil); err != nil {
				return fmt.Errorf("embedded: retention: %w", err)
			}
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return unavailable("retention", err)
	}
	return nil
}
