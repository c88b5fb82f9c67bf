package dalil

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by stores for a missing record.
var ErrNotFound = errors.New("not found")

// ErrUnavailable wraps store errors that mean "try again later"; ingest answers
// them with 503 and Retry-After.
var ErrUnavailable = errors.New("store unavailable")

// ErrStopScan, returned by a scan callback, ends the scan early without an
// error: the store stops reading and the scan returns nil. A caller that has
// what it needs (the first limit entries of a log) stops the store from
// reading the rest of the kind.
var ErrStopScan = errors.New("stop scan")

// PositionStore keeps the history of every ping.
type PositionStore interface {
	// AppendPositions stores a batch durably: when it returns nil every
	// position survives a crash. Implementations batch concurrent callers
	// (group commit) so that many small requests cost one sync.
	AppendPositions(ctx context.Context, ps []Position) error
	// Trail returns a device's positions with since <= Time < until, oldest
	// first, at most limit (0 = no limit).
	Trail(ctx context.Context, device string, since, until time.Time, limit int) ([]Position, error)
	// Latest calls fn with the newest stored position of every device; the
	// tracker rebuilds its live state from it at start.
	Latest(ctx context.Context, fn func(Position) error) error
	// DeletePositionsBefore removes history older than t (retention) and
	// returns how many positions were removed.
	DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error)
}

// Record is one JSON document of a kind ("pilgrim", "group", "device", "case",
// "luggage", "token", "audit", …) keyed by ID.
type Record struct {
	ID   string
	Data []byte
}

// RecordStore keeps small documents: the registry, cases, luggage, tokens and
// the audit log. They are few (millions at most) next to positions.
type RecordStore interface {
	// PutRecords writes all records of one kind atomically: all or nothing.
	PutRecords(ctx context.Context, kind string, recs []Record) error
	// GetRecord returns ErrNotFound for a missing id.
	GetRecord(ctx context.Context, kind, id string) ([]byte, error)
	// ScanRecords calls fn for every record of a kind in id order. An error
	// from fn ends the scan and is returned, except ErrStopScan, which ends it
	// with nil.
	ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error
	// ScanRecordsFrom is ScanRecords starting at the first id >= from (byte
	// order; "" is the start of the kind). The store seeks to from instead of
	// reading the ids before it, so a caller with time-ordered ids (the audit
	// log) reads a recent range of a long log without the old part; fn
	// returns ErrStopScan at its end.
	ScanRecordsFrom(ctx context.Context, kind, from string, fn func(id string, data []byte) error) error
	DeleteRecord(ctx context.Context, kind, id string) error
}

// Store is the whole persistence boundary: the embedded default (Pebble) and
// PostgreSQL both implement it.
type Store interface {
	PositionStore
	RecordStore
	// Ping reports whether the store is reachable (readiness).
	Ping(ctx context.Context) error
	Close() error
}
