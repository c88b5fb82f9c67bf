package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Positions are partitioned by UTC day: positions_YYYYMMDD holds
// [day 00:00Z, next day 00:00Z). Partitions are created on demand, just
// before a COPY that needs them, and retention drops whole ones.
const (
	partitionPrefix = "positions_"
	expiredPrefix   = "dalil_expired_" // detached by retention, not yet dropped
	day             = 24 * time.Hour
)

// dayOf is the UTC day number (days since 1970-01-01) of t.
func dayOf(t time.Time) int64 {
	return t.UTC().Unix() / int64(day/time.Second)
}

func dayStart(d int64) time.Time { return time.Unix(d*int64(day/time.Second), 0).UTC() }

func partitionName(d int64) string { return partitionPrefix + dayStart(d).Format("20060102") }

// parsePartitionName returns the day of a partition name, false for any other
// table.
func parsePartitionName(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, partitionPrefix)
	if !ok || len(rest) != 8 {
		return 0, false
	}
	t, err := time.Parse("20060102", rest)
	if err != nil {
		return 0, false
	}
	return dayOf(t), true
}

// partitions caches which daily partitions exist, so the append path asks
// the server only for a day it has not seen. Another process may drop a
// partition behind our back (retention); the COPY then fails with "no
// partition", and the committer refreshes the cache and retries.
type partitions struct {
	mu    sync.Mutex
	known map[int64]bool
}

func newPartitions() *partitions { return &partitions{known: make(map[int64]bool)} }

// missing returns the days of ps not known to exist, sorted, deduplicated.
func (p *partitions) missing(days []int64) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int64
	for _, d := range days {
		if !p.known[d] {
			out = append(out, d)
		}
	}
	return out
}

// ensure creates the partitions for days that do not exist yet.
func (p *partitions) ensure(ctx context.Context, pool *pgxpool.Pool, days []int64) error {
	miss := p.missing(days)
	if len(miss) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Serialises with other processes' creation and retention, so
		// IF NOT EXISTS never races a concurrent CREATE of the same name.
		if _, err := tx.Exec(ctx, lockSQL, lockPartitions); err != nil {
			return err
		}
		for _, d := range miss {
			sql := fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF positions FOR VALUES FROM ('%s') TO ('%s')`,
				pgx.Identifier{partitionName(d)}.Sanitize(),
				dayStart(d).Format(time.RFC3339), dayStart(d+1).Format(time.RFC3339))
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("create partition %s: %w", partitionName(d), err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	for _, d := range miss {
		p.known[d] = true
	}
	p.mu.Unlock()
	return nil
}

// list reads the partitions that exist now (names and days).
func listPartitions(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) (map[int64]string, error) {
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'positions'::regclass`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(names))
	for _, n := range names {
		if d, ok := parsePartitionName(n); ok {
			out[d] = n
		}
	}
	return out, nil
}

// refresh replaces the cache with what the server has.
func (p *partitions) refresh(ctx context.Context, pool *pgxpool.Pool) error {
	parts, err := listPartitions(ctx, pool)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.known)
	for d := range parts {
		p.known[d] = true
	}
	return nil
}

func (p *partitions) forget(d int64) {
	p.mu.Lock()
	delete(p.known, d)
	p.mu.Unlock()
}
