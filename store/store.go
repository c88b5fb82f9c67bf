// Package store opens Dalil's persistence: the embedded Pebble store by
// default, PostgreSQL when given a postgres:// URL. Both implement
// tracking.Store and pass the same conformance suite (store/storetest).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"dalil"
	"dalil/store/embedded"
	"dalil/store/postgres"
)

// Open opens the store named by spec: a "postgres://" or "postgresql://" URL
// opens PostgreSQL (migrating its schema); anything else is a directory for
// the embedded store, created if missing. log may be nil.
func Open(ctx context.Context, spec string, log *slog.Logger) (dalil.Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if spec == "" {
		return nil, errors.New("store: empty spec: give a data directory or a postgres:// URL")
	}
	if IsPostgres(spec) {
		// pgx only knows the lower-case schemes.
		scheme, rest, _ := strings.Cut(spec, "://")
		spec = strings.ToLower(scheme) + "://" + rest
		st, err := postgres.OpenOptions(ctx, spec, postgres.Options{Logger: log})
		if err != nil {
			return nil, err // names the cause; never echoes the URL (it may hold a password)
		}
		log.Info("store opened", "kind", "postgres")
		return st, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st, err := embedded.OpenOptions(spec, embedded.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	log.Info("store opened", "kind", "embedded", "dir", spec)
	return st, nil
}

// IsPostgres reports whether spec names a PostgreSQL database.
func IsPostgres(spec string) bool {
	s := strings.ToLower(spec)
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}
