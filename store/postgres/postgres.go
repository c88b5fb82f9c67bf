// Package postgres keeps Dalil's positions and records in PostgreSQL (pgx/v5).
//
// Open runs the schema migrations (under an advisory lock, so several
// processes may start at once). Positions go to a table partitioned by UTC
// day; concurrent AppendPositions callers are merged into one COPY and one
// commit (group commit), and a call returns only after that commit, with
// synchronous_commit on. Errors that mean "the database is not reachable now"
// wrap tracking.ErrUnavailable.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"dalil"
	"dalil/store/internal/check"
)

// Options tune the PostgreSQL store; the zero value is the default.
type Options struct {
	// Logger receives warnings (a failed group commit); nil discards them.
	Logger *slog.Logger
	// MaxConns caps the pool (default: pgxpool's, max(4, GOMAXPROCS)),
	// unless the URL sets pool_max_conns.
	MaxConns int32
	// Committers is how many group commits may run at once (default 2).
	Committers int
	// MaxBatchRows caps the positions merged into one COPY (default 20,000).
	MaxBatchRows int
	// CommitTimeout bounds one group commit (default 30 s); callers' own
	// deadlines still apply while they wait.
	CommitTimeout time.Duration
}

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool  *pgxpool.Pool
	log   *slog.Logger
	opts  Options
	parts *partitions

	queue chan *appendReq
	stop  context.CancelFunc
	base  context.Context // lifetime of the committers' database work
	done  sync.WaitGroup  // committers

	gate check.Gate // open/closed; Close waits for calls in progress

	commits, appends, positions, failures atomic.Int64
}

// Stats counts group commits since Open; Appends/Commits is how many
// AppendPositions calls one commit carries on average.
type Stats struct {
	Commits   int64 // successful group commits
	Appends   int64 // AppendPositions calls in them
	Positions int64 // positions in them
	Failures  int64 // group commits that failed (their callers got the error)
}

// Stats returns the group-commit counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Appends: s.appends.Load(),
		Positions: s.positions.Load(), Failures: s.failures.Load()}
}

var _ dalil.Store = (*Store)(nil)

// Open connects to url, migrates the schema and starts the group committers.
// The schema lives in the first schema of the connection's search_path (set
// search_path=... in the URL to keep Dalil apart from other tables).
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenOptions(ctx, url, Options{})
}

// OpenOptions is Open with options.
func OpenOptions(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad URL: %w", err)
	}
	// An acknowledged ping must survive a crash of the database too; insist
	// on synchronous commit unless the URL says otherwise explicitly.
	if _, set := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !set {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.Committers <= 0 {
		o.Committers = 2
	}
	if o.MaxBatchRows <= 0 {
		o.MaxBatchRows = 20_000
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("open", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, wrap("connect", err)
	}
	if _, err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, wrap("migrate", err)
	}
	parts := newPartitions()
	if err := parts.refresh(ctx, pool); err != nil {
		pool.Close()
		return nil, wrap("list partitions", err)
	}
	base, stop := context.WithCancel(context.Background())
	s := &Store{
		pool:  pool,
		log:   o.Logger,
		opts:  o,
		parts: parts,
		queue: make(chan *appendReq, 4096),
		base:  base,
		stop:  stop,
	}
	for range o.Committers {
		s.done.Add(1)
		go s.commitLoop()
	}
	return s, nil
}

var errClosed = fmt.Errorf("postgres: store closed: %w", dalil.ErrUnavailable)

// acquire registers a call; release it with s.gate.Leave().
func (s *Store) acquire() error { return s.gate.Enter(errClosed) }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	return wrap("ping", s.pool.Ping(ctx))
}

// Close refuses new calls, lets running ones (and queued appends) finish,
// stops the committers and closes the pool. Calling it again is a no-op.
func (s *Store) Close() error {
	if !s.gate.Close() {
		return nil
	}
	close(s.queue)
	s.done.Wait()
	s.stop()
	s.pool.Close()
	return nil
}

// Pool exposes the connection pool for tools (backup checks, metrics); the
// store's tables are positions, latest_positions, records and
// dalil_migrations.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// SchemaVersion returns the migration version the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM dalil_migrations`).Scan(&v)
	return v, wrap("schema version", err)
}

// DiskUsage is the bytes Dalil's tables (with indexes and TOAST) occupy in
// the store's schema.
func (s *Store) DiskUsage(ctx context.Context) (int64, error) {
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'`).Scan(&n)
	return n, wrap("disk usage", err)
}
