package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"dalil"
	"dalil/store/internal/check"
)

// PutRecords writes all records of one kind with one INSERT … ON CONFLICT
// statement, which PostgreSQL applies whole or not at all. A repeated id in
// one batch: the last one wins (as in the embedded store).
func (s *Store) PutRecords(ctx context.Context, kind string, recs []dalil.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.Records(kind, recs); err != nil {
		return fmt.Errorf("postgres: put records: %w", err)
	}
	if len(recs) == 0 {
		return nil
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	// ON CONFLICT may not touch one row twice in a statement: keep the last
	// record of each id.
	last := make(map[string]int, len(recs))
	for i, r := range recs {
		last[r.ID] = i
	}
	ids := make([]string, 0, len(last))
	data := make([][]byte, 0, len(last))
	for i, r := range recs {
		if last[r.ID] != i {
			continue
		}
		ids = append(ids, r.ID)
		d := r.Data
		if d == nil {
			d = []byte{} // NOT NULL: an empty document, as the embedded store keeps it
		}
		data = append(data, d)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO records (kind, id, data)
		SELECT $1, r.id, r.data FROM unnest($2::text[], $3::bytea[]) AS r(id, data)
		ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data`, kind, ids, data)
	return wrap("put records", err)
}

// GetRecord returns the record's data, or tracking.ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, kind, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := check.Record(kind, id); err != nil {
		return nil, fmt.Errorf("postgres: get record: %w", err)
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM records WHERE kind = $1 AND id = $2`, kind, id).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: record %s/%s: %w", kind, id, dalil.ErrNotFound)
	}
	if err != nil {
		return nil, wrap("get record", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// ScanRecords calls fn for every record of kind in id byte order (the id
// column is COLLATE "C"). An error from fn stops the scan and is returned as
// is, except tracking.ErrStopScan, which stops it with nil.
func (s *Store) ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error {
	return s.ScanRecordsFrom(ctx, kind, "", fn)
}

// ScanRecordsFrom is ScanRecords from the first id >= from ("" is the
// start of the kind). The primary key
// (kind, id), COLLATE "C" like the comparison, serves it as one index range:
// the ids before from are never read.
func (s *Store) ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.ScanFrom(kind, from); err != nil {
		return fmt.Errorf("postgres: scan records: %w", err)
	}
	return s.scanRecords(ctx, kind, from, fn)
}

// scanFetch is how many rows one FETCH brings: a scan stopped early has
// read at most this many rows past its end, and a whole kind costs one round
// trip per batch.
const scanFetch = 1000

// scanRecords reads the records of kind with id >= from through a cursor.
// Not a plain query: pgx answers an early rows.Close by reading the rest of
// the result, so a caller stopping after 1,000 entries of a million-entry
// audit log would still pull the million over the wire. The cursor's one
// snapshot keeps the scan as consistent as a single SELECT (a PutRecords
// batch is seen whole or not at all). The caller has checked ctx, kind and
// from.
func (s *Store) scanRecords(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return wrap("scan records", err)
	}
	// Ending the transaction closes the cursor; a scan that stops early
	// leaves the rest of the range unread on the server.
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `DECLARE scan NO SCROLL CURSOR FOR
		SELECT id, data FROM records WHERE kind = $1 AND id >= $2 ORDER BY id`, kind, from); err != nil {
		return wrap("scan records", err)
	}
	fetch := fmt.Sprintf("FETCH %d FROM scan", scanFetch)
	for {
		rows, err := tx.Query(ctx, fetch)
		if err != nil {
			return wrap("scan records", err)
		}
		n := 0
		for rows.Next() {
			n++
			var id string
			var data []byte
			if err := rows.Scan(&id, &data); err != nil {
				rows.Close()
				return wrap("scan records", err)
			}
			if err := fn(id, data); err != nil {
				rows.Close()
				if errors.Is(err, dalil.ErrStopScan) {
					return nil
				}
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return wrap("scan records", err)
		}
		if n < scanFetch {
			return nil
		}
	}
}

// DeleteRecord removes a record; deleting a missing record is not an error.
func (s *Store) DeleteRecord(ctx context.Context, kind, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.Record(kind, id); err != nil {
		return fmt.Errorf("postgres: delete record: %w", err)
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	_, err := s.pool.Exec(ctx, `DELETE FROM records WHERE kind = $1 AND id = $2`, kind, id)
	return wrap("delete record", err)
}
