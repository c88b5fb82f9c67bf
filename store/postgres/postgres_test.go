package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"dalil"
	"dalil/store/postgres"
	"dalil/store/storetest"
)

// testDB is a PostgreSQL server for tests: DALIL_TEST_POSTGRES, or skip.
type testDB struct {
	url   string
	admin *pgxpool.Pool
	run   string // random per test run, so parallel runs and reruns never share a schema

	mu      sync.Mutex
	n       int
	schemas map[testing.TB]string
}

func newTestDB(tb testing.TB) *testDB {
	tb.Helper()
	u := os.Getenv("DALIL_TEST_POSTGRES")
	if u == "" {
		tb.Skip("DALIL_TEST_POSTGRES is not set; skipping PostgreSQL tests " +
			"(e.g. DALIL_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	admin, err := pgxpool.New(context.Background(), u)
	if err != nil {
		tb.Fatalf("connect to DALIL_TEST_POSTGRES: %v", err)
	}
	tb.Cleanup(admin.Close)
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &testDB{url: u, admin: admin, run: hex.EncodeToString(b[:]), schemas: make(map[testing.TB]string)}
}

// schema returns tb's own schema, created on first use and dropped when tb
// ends (after the stores opened in it are closed: cleanups run last-in
// first-out).
func (db *testDB) schema(tb testing.TB) string {
	tb.Helper()
	db.mu.Lock()
	s, ok := db.schemas[tb]
	db.mu.Unlock()
	if ok {
		return s
	}
	s = db.newSchema(tb)
	db.mu.Lock()
	db.schemas[tb] = s
	db.mu.Unlock()
	return s
}

// newSchema creates an empty schema, dropped when tb ends.
func (db *testDB) newSchema(tb testing.TB) string {
	tb.Helper()
	db.mu.Lock()
	db.n++
	s := fmt.Sprintf("dalil_test_%s_%d", db.run, db.n)
	db.mu.Unlock()
	ctx := context.Background()
	if _, err := db.admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{s}.Sanitize()); err != nil {
		tb.Fatalf("create schema %s: %v", s, err)
	}
	tb.Cleanup(func() {
		if _, err := db.admin.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", s, err)
		}
	})
	return s
}

// urlFor is the server URL with search_path set to tb's schema.
func (db *testDB) urlFor(tb testing.TB) string {
	return withParam(tb, db.url, "search_path", db.schema(tb))
}

func withParam(tb testing.TB, raw, key, value string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatalf("parse DALIL_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func (db *testDB) open(tb testing.TB) *postgres.Store {
	tb.Helper()
	st, err := postgres.Open(context.Background(), db.urlFor(tb))
	if err != nil {
		tb.Fatalf("postgres.Open: %v", err)
	}
	return st
}

func TestConformance(t *testing.T) {
	db := newTestDB(t)
	storetest.Run(t, func(t *testing.T) dalil.Store { return db.open(t) })
}
