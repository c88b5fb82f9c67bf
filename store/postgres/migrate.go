package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migration is one step of the schema. Steps are append-only: a released step
// is never edited, a change is a new step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the schema steps in order.
func migrations() []migration {
	return []migration{{
		version: 1,
		name:    "positions (partitioned by day), latest_positions, records",
		sql: `
-- seq orders pings of one device that share a timestamp, in arrival order.
CREATE SEQUENCE positions_seq AS bigint CACHE 1000;

CREATE TABLE positions (
	device  text COLLATE "C" NOT NULL,
	ts      timestamptz NOT NULL,
	seq     bigint NOT NULL DEFAULT nextval('positions_seq'),
	lat     double precision NOT NULL,
	lon     double precision NOT NULL,
	acc     real NOT NULL,
	speed   real NOT NULL,
	heading real NOT NULL,
	alt     real NOT NULL,
	batt    real NOT NULL,
	source  smallint NOT NULL
) PARTITION BY RANGE (ts);

-- A trail is one index range per daily partition, already in order.
CREATE INDEX positions_device_ts ON positions (device, ts, seq);

CREATE TABLE latest_positions (
	device  text COLLATE "C" PRIMARY KEY,
	ts      timestamptz NOT NULL,
	lat     double precision NOT NULL,
	lon     double precision NOT NULL,
	acc     real NOT NULL,
	speed   real NOT NULL,
	heading real NOT NULL,
	alt     real NOT NULL,
	batt    real NOT NULL,
	source  smallint NOT NULL
) WITH (fillfactor = 70);
-- No index but the primary key: every append updates these rows, and with
-- free space in the page (fillfactor) and no indexed column changing, the
-- updates are HOT (no index writes). Retention scans it, which is cheap.

-- COLLATE "C": ids scan in byte order, exactly like the embedded store.
CREATE TABLE records (
	kind text COLLATE "C" NOT NULL,
	id   text COLLATE "C" NOT NULL,
	data bytea NOT NULL,
	PRIMARY KEY (kind, id)
);
`,
	}}
}

// Advisory lock keys (first int of the two-int form; the second is the
// schema's hash, so that stores in different schemas do not wait on each
// other).
const (
	lockMigrate    = 0x64616c31 // "dal1"
	lockPartitions = 0x64616c32 // "dal2"
	lockExpired    = 0x64616c33 // "dal3"
)

// lockSQL takes a transaction-scoped advisory lock for this schema.
const lockSQL = `SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))`

// migrate brings the schema to the newest version in one transaction. The
// advisory lock makes two processes starting together take turns: the second
// finds the work done. DDL is transactional in PostgreSQL, so a failed step
// leaves the schema as it was.
func migrate(ctx context.Context, pool *pgxpool.Pool) (version int, err error) {
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockSQL, lockMigrate); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS dalil_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM dalil_migrations`).Scan(&version); err != nil {
			return err
		}
		steps := migrations()
		if newest := steps[len(steps)-1].version; version > newest {
			return fmt.Errorf("schema is at version %d, newer than this binary knows (%d): upgrade dalil", version, newest)
		}
		for _, m := range steps {
			if m.version <= version {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO dalil_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
			version = m.version
		}
		return nil
	})
	return version, err
}
