// Package embedded is Dalil's default store: a Pebble LSM under one directory,
// with nothing to install or run beside the binary.
//
// Every AppendPositions and PutRecords commits with a WAL fsync before it
// returns. AppendPositions callers share one batch and one fsync per group
// (commit.go): one-fix requests from phones would otherwise each pay for a
// batch and a trip through Pebble's commit pipeline (docs/performance.md).
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"dalil"
	"dalil/store/internal/check"
)

// Options tune the embedded store; the zero value is the default.
type Options struct {
	// Logger receives Pebble's messages (info as Debug); nil discards them.
	Logger *slog.Logger
	// CacheSize is the block cache in bytes (default 64 MiB).
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes (default 128 MiB).
	// Larger memtables mean fewer, larger flushes and less compaction: at
	// 200,000 pings/s, 128 MiB against 32 took the server from 140 % to
	// 129 % of a core (docs/performance.md).
	MemTableSize uint64
	// CommitWindow is how long a group commit waits for more callers after
	// its first one before it syncs (default 200 µs; negative: no wait, a
	// group is whatever arrived while the previous one synced). At 64–256
	// one-fix callers the wait saves 20–30 % of the store's CPU per append
	// (BenchmarkOneFixAppend) for 0.2 ms of latency. MaxGroupRows bounds the
	// positions of one group (default 4096); a full group commits at once.
	CommitWindow time.Duration
	MaxGroupRows int
	// FS replaces the operating system's file system (tests, benchmarks).
	FS vfs.FS
}

// Store is the embedded store. It is safe for concurrent use.
type Store struct {
	db  *pebble.DB
	dir string
	seq *seqAlloc

	commit *committer

	// latestMu orders retention's read-then-delete of stale latest entries
	// against appends (shared, held until the append's group is durable),
	// so a delete cannot swallow a newer merge.
	latestMu sync.RWMutex

	// mu and inflight guard the handle: every call registers in inflight
	// while the store is open, and Close waits for them before closing
	// Pebble (which panics when used after Close). A counter rather than a
	// read lock, so that a callback that calls the store again (Latest's fn)
	// gets errClosed instead of deadlocking against a waiting Close.
	gate check.Gate // open/closed; Close waits for calls in progress
}

var _ dalil.Store = (*Store)(nil)

// Open opens (creating if missing) the store in dir with default options.
func Open(dir string) (*Store, error) { return OpenOptions(dir, Options{}) }

// OpenOptions opens (creating if missing) the store in dir.
func OpenOptions(dir string, o Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("embedded: empty directory")
	}
	if o.FS == nil {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("embedded: create %s: %w", dir, err)
		}
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 64 << 20
	}
	if o.MemTableSize == 0 {
		o.MemTableSize = 128 << 20
	}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref() // the DB holds its own reference
	opts := &pebble.Options{
		Cache:              cache,
		MemTableSize:       o.MemTableSize,
		Merger:             latestMerger,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{log: o.Logger},
		FS:                 o.FS,
	}
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionBalanced })
	db, err := pebble.Open(dir, opts)
	if err != nil {
		// A second process on the same directory lands here (Pebble's LOCK file).
		return nil, fmt.Errorf("embedded: open %s: %w", dir, err)
	}
	seq, err := newSeqAlloc(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: open %s: %w", dir, err)
	}
	if o.CommitWindow == 0 {
		o.CommitWindow = 200 * time.Microsecond
	}
	if o.MaxGroupRows <= 0 {
		o.MaxGroupRows = 4096
	}
	st := &Store{db: db, dir: dir, seq: seq}
	st.commit = newCommitter(db, seq, &latestWriter{}, o.CommitWindow, o.MaxGroupRows)
	return st, nil
}

// Dir is the directory the store lives in.
func (s *Store) Dir() string { return s.dir }

// errClosed is what every call after Close returns: the store is not there to
// take the write, so ingest answers 503 and the device retries.
var errClosed = fmt.Errorf("embedded: store closed: %w", dalil.ErrUnavailable)

// acquire registers a call; release it with s.gate.Leave().
func (s *Store) acquire() error { return s.gate.Enter(errClosed) }

// Ping reports whether the store can serve: it is open and its directory
// still answers a read.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	_, closer, err := s.db.Get(seqLeaseKey)
	if err == nil {
		closer.Close()
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return unavailable("ping", err)
	}
	return nil
}

// Close refuses new calls, waits for running ones, then closes Pebble (the
// WAL already holds every acknowledged write). Calling it again is a no-op.
func (s *Store) Close() error {
	if !s.gate.Close() {
		return nil
	}
	s.commit.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// unavailable marks a failed write or read as "try again later": the data the
// caller passed was not acknowledged, so nothing acknowledged is lost.
func unavailable(op string, err error) error {
	return fmt.Errorf("embedded: %s: %w: %w", op, dalil.ErrUnavailable, err)
}

// DiskUsage is the bytes the store occupies on disk: tables, the WAL
// (including the few recycled WAL files Pebble keeps for reuse, a fixed
// cost of about three memtables), manifest.
func (s *Store) DiskUsage(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	return int64(s.db.Metrics().DiskSpaceUsage()), nil
}

// TableBytes is the bytes of the store's tables (sstables) alone: the data,
// compressed, without logs. What grows with the number of positions.
func (s *Store) TableBytes(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := s.acquire(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	return s.db.Metrics().Total().TablesSize, nil
}

// Compact flushes the memtables and compacts the whole keyspace. Pebble
// compacts on its own; this is for operators who want the space of a large
// retention run back now, or a compact copy before a backup.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	if err := s.db.Flush(); err != nil {
		return unavailable("compact", err)
	}
	if err := s.db.Compact(ctx, []byte{0}, []byte{0xff}, true); err != nil {
		return unavailable("compact", err)
	}
	return nil
}

// Checkpoint writes a consistent, openable copy of the store into destDir
// (which must not exist) while the store keeps serving: an online backup.
// Files are hard-linked where possible, so it is fast and, on the same file
// system, initially takes little space; copy destDir elsewhere to make it a
// backup.
func (s *Store) Checkpoint(destDir string) error {
	if err := s.acquire(); err != nil {
		return err
	}
	defer s.gate.Leave()
	if err := s.db.Checkpoint(destDir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("embedded: checkpoint to %s: %w", destDir, err)
	}
	return nil
}
