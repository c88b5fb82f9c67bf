package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dalil"
	"dalil/store/postgres"
)

// Several processes starting together on an empty database: the advisory
// lock makes them take turns, every one opens, and each migration is
// applied exactly once. Reopening changes nothing.
func TestMigrationsConcurrentAndIdempotent(t *testing.T) {
	db := newTestDB(t)
	u := db.urlFor(t)
	ctx := context.Background()
	const procs = 4
	stores := make([]*postgres.Store, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, u)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: Open: %v", i, err)
		}
		defer stores[i].Close()
	}
	rows, _ := db.admin.Query(ctx, "SELECT version FROM "+pgx.Identifier{db.schema(t), "dalil_migrations"}.Sanitize()+" ORDER BY version")
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(versions, []int{1}) {
		t.Fatalf("dalil_migrations after %d concurrent opens: %v, want [1]", procs, versions)
	}
	again, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	if v, err := again.SchemaVersion(ctx); err != nil || v != 1 {
		t.Fatalf("SchemaVersion after reopen = %d, %v; want 1", v, err)
	}
}

// A schema newer than the binary is refused rather than misused.
func TestNewerSchemaRefused(t *testing.T) {
	db := newTestDB(t)
	ctx := context.Background()
	st := db.open(t)
	st.Close()
	if _, err := db.admin.Exec(ctx, "INSERT INTO "+pgx.Identifier{db.schema(t), "dalil_migrations"}.Sanitize()+
		" (version, name) VALUES (999, 'from the future')"); err != nil {
		t.Fatal(err)
	}
	if st, err := postgres.Open(ctx, db.urlFor(t)); err == nil {
		st.Close()
		t.Fatal("Open accepted a schema at version 999")
	}
}

func partitionNames(t *testing.T, db *testDB) []string {
	t.Helper()
	rows, _ := db.admin.Query(context.Background(), `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1`, db.schema(t))
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Positions land in one partition per UTC day, created on demand; retention
// drops whole days.
func TestDailyPartitions(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	defer st.Close()
	ctx := context.Background()
	day0 := time.Date(2026, 5, 24, 23, 59, 59, 0, time.UTC)
	ps := []dalil.Position{
		{Device: "d", Time: day0, Lat: 21.4, Lon: 39.9},
		{Device: "d", Time: day0.Add(time.Second), Lat: 21.4, Lon: 39.9}, // midnight: the next day
		{Device: "d", Time: day0.Add(48 * time.Hour), Lat: 21.4, Lon: 39.9},
	}
	if err := st.AppendPositions(ctx, ps); err != nil {
		t.Fatal(err)
	}
	want := []string{"positions_20260524", "positions_20260525", "positions_20260526"}
	if got := partitionNames(t, db); !slices.Equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
	n, err := st.DeletePositionsBefore(ctx, time.Date(2026, 5, 26, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 2 {
		t.Fatalf("retention: removed %d, %v; want 2", n, err)
	}
	if got := partitionNames(t, db); !slices.Equal(got, want[2:]) {
		t.Fatalf("partitions after retention %v, want %v", got, want[2:])
	}
}

// Two processes share a database: one's retention drops a day the other has
// cached. The other's next append to that day must still succeed.
func TestPartitionDroppedByAnotherProcess(t *testing.T) {
	db := newTestDB(t)
	a, b := db.open(t), db.open(t)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	at := time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)
	p := dalil.Position{Device: "d", Time: at, Lat: 21.4, Lon: 39.9}
	if err := a.AppendPositions(ctx, []dalil.Position{p}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.DeletePositionsBefore(ctx, at.Add(24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("retention in b: %d, %v", n, err)
	}
	p.Time = at.Add(time.Minute)
	if err := a.AppendPositions(ctx, []dalil.Position{p}); err != nil {
		t.Fatalf("append into a day another process dropped: %v", err)
	}
	got, err := b.Trail(ctx, "d", at, at.Add(time.Hour), 0)
	if err != nil || len(got) != 1 || !got[0].Time.Equal(p.Time) {
		t.Fatalf("trail after re-creation: %v, %v", got, err)
	}
}
