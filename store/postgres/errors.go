package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"dalil"

	"github.com/jackc/pgx/v5/pgconn"
)

// wrap names the operation and marks errors that mean "the database is not
// there right now" with tracking.ErrUnavailable, so that ingest answers 503
// with Retry-After and the device keeps its pings and retries. A deadline
// that ran out waiting for the database counts as unavailable too; a caller
// that cancelled gets its context error alone.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, dalil.ErrUnavailable) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if isUnavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, dalil.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// isUnavailable reports whether err means the server cannot be reached or
// cannot take work now, as opposed to a bad statement or bad data.
func isUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: disk full, out of memory, too many connections
			"57", // operator intervention: shutdown, cannot connect now, statement timeout
			"58", // system error: I/O error
			"40": // transaction rollback: serialization failure, deadlock
			return true
		}
		return pgErr.Code == "25006" // read-only transaction: a standby after failover
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		pgconn.Timeout(err) ||
		pgconn.SafeToRetry(err)
}

// isNoPartition reports the error a COPY gets when a row's day has no
// partition (another process's retention dropped it after we cached it).
func isNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.Contains(pgErr.Message, "no partition")
}
