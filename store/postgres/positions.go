package postgres

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"dalil"
	"dalil/store/internal/check"
)

// AppendPositions queues the batch for the next group commit and returns once
// that commit is durable. The batch is copied, so the caller may reuse ps as
// soon as the call returns, even on a cancelled context. A caller that gives
// up (context done) gets its context error; if its batch was already being
// written it may still be stored: delivery is at least once, never lost once
// acknowledged. A batch with a bad device id is refused whole.
func (s *Store) AppendPositions(ctx context.Context, ps []dalil.Position) error {
	if len(ps) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check.Positions(ps); err != nil {
		return fmt.Errorf("postgres: append: %w", err)
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	r := &appendReq{ctx: ctx, ps: slices.Clone(ps), done: make(chan error, 1)}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		return wrap("append", ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return wrap("append", ctx.Err())
	}
}

const positionSelect = `ts, lat, lon, acc, speed, heading, alt, batt, source`

// scanPosition reads positionSelect's columns into p.
func scanPosition(rows pgx.Rows, p *dalil.Position, extra ...any) error {
	var src int16
	dest := append(extra, &p.Time, &p.Lat, &p.Lon, &p.Accuracy, &p.Speed, &p.Heading, &p.Altitude, &p.Battery, &src)
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	p.Time = p.Time.UTC()
	p.Source = dalil.Source(src)
	return nil
}

// Trail returns device's positions with since <= Time < until, oldest first
// (same-time pings in arrival order), at most limit (0 = all).
func (s *Store) Trail(ctx context.Context, device string, since, until time.Time, limit int) ([]dalil.Position, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	since, until, empty, err := check.TrailRange(device, since, until)
	if err != nil {
		return nil, fmt.Errorf("postgres: trail: %w", err)
	}
	if empty {
		return nil, nil
	}
	if err := s.acquire(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	var lim any // NULL: LIMIT ALL
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+positionSelect+` FROM positions
		WHERE device = $1 AND ts >= $2 AND ts < $3 ORDER BY ts, seq LIMIT $4`, device, since, until, lim)
	if err != nil {
		return nil, wrap("trail", err)
	}
	defer rows.Close()
	var out []dalil.Position
	for rows.Next() {
		p := dalil.Position{Device: device}
		if err := scanPosition(rows, &p); err != nil {
			return nil, wrap("trail", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("trail", err)
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
	rows, err := s.pool.Query(ctx, `SELECT device, `+positionSelect+` FROM latest_positions ORDER BY device`)
	if err != nil {
		return wrap("latest", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p dalil.Position
		if err := scanPosition(rows, &p, &p.Device); err != nil {
			return wrap("latest", err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return wrap("latest", rows.Err())
}

// DeletePositionsBefore removes history older than t. Whole daily partitions
// that end at or before t are detached (a brief lock on positions, no scan),
// counted and dropped; the rest is deleted row by row from the partition t
// falls in. Latest entries older than t go too, so Latest never names a
// position that no longer exists.
func (s *Store) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	t = check.Clamp(t)
	removed, err := s.dropExpired(ctx) // left over by an interrupted run
	if err != nil {
		return removed, err
	}
	parts, err := listPartitions(ctx, s.pool)
	if err != nil {
		return removed, wrap("retention", err)
	}
	days := make([]int64, 0, len(parts))
	for d := range parts {
		if !dayStart(d + 1).After(t) {
			days = append(days, d)
		}
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, d := range days {
		if err := s.detach(ctx, d); err != nil {
			return removed, wrap("retention", err)
		}
		n, err := s.dropExpired(ctx)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM positions WHERE ts < $1`, t)
	if err != nil {
		return removed, wrap("retention", err)
	}
	removed += tag.RowsAffected()
	if _, err := s.pool.Exec(ctx, `DELETE FROM latest_positions WHERE ts < $1`, t); err != nil {
		return removed, wrap("retention", err)
	}
	return removed, nil
}

// detach takes day's partition out of positions and renames it for
// dropExpired. Detaching needs only a short exclusive lock on positions,
// taken before the partition's, the same order a COPY takes them; the
// rename frees the name so a late ping of that day gets a new partition.
func (s *Store) detach(ctx context.Context, d int64) error {
	name := partitionName(d)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockSQL, lockPartitions); err != nil {
			return err
		}
		parts, err := listPartitions(ctx, tx)
		if err != nil {
			return err
		}
		if _, ok := parts[d]; !ok {
			return nil // another process got there first
		}
		id := pgx.Identifier{name}.Sanitize()
		if _, err := tx.Exec(ctx, `ALTER TABLE positions DETACH PARTITION `+id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `ALTER TABLE `+id+` RENAME TO `+pgx.Identifier{expiredPrefix + name}.Sanitize())
		return err
	})
	s.parts.forget(d)
	return err
}

// dropExpired counts and drops every detached partition. Nothing writes to
// them any more, so counting does not hold up ingest.
func (s *Store) dropExpired(ctx context.Context) (int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
		AND starts_with(c.relname, $1)`, expiredPrefix)
	if err != nil {
		return 0, wrap("retention", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, wrap("retention", err)
	}
	var removed int64
	for _, name := range names {
		var n int64
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// Another process's retention may be dropping the same table.
			if _, err := tx.Exec(ctx, lockSQL, lockExpired); err != nil {
				return err
			}
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil || !exists {
				return err
			}
			id := pgx.Identifier{name}.Sanitize()
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+id).Scan(&n); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DROP TABLE `+id)
			return err
		})
		if err != nil {
			return removed, wrap("retention", err)
		}
		removed += n
	}
	return removed, nil
}
