package tracking

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
	// ScanRecords calls fn for every record of a kind in id order.
	ScanRecords(ctx context.Context, kind string, fn func(id string, data []byte) error) error
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
