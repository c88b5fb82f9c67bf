package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"dalil"

	"github.com/jackc/pgx/v5"
)

// ScanRecordsFrom's query is one range of the primary key (kind, id): no
// sort, no scan of the ids before from. A change of collation on either side
// of the comparison would silently turn it into a scan of the whole kind.
func TestScanRecordsFromUsesPrimaryKey(t *testing.T) {
	db := newTestDB(t)
	st := db.open(t)
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, kind := range []string{"audit", "pilgrim"} {
		recs := make([]dalil.Record, 5000)
		for i := range recs {
			recs[i] = dalil.Record{ID: fmt.Sprintf("%020d", i), Data: []byte(`{}`)}
		}
		if err := st.PutRecords(ctx, kind, recs); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(ctx, db.urlFor(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "ANALYZE records"); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// The same statement the store declares (records.go), planned as a cursor.
	var plan strings.Builder
	rows, err := tx.Query(ctx, `EXPLAIN DECLARE scan NO SCROLL CURSOR FOR
		SELECT id, data FROM records WHERE kind = $1 AND id >= $2 ORDER BY id`, "audit", fmt.Sprintf("%020d", 2500))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := plan.String()
	if !strings.Contains(p, "Index Scan using records_pkey") || strings.Contains(p, "Sort") {
		t.Fatalf("range scan plan is not one primary-key range:\n%s", p)
	}
	if !strings.Contains(p, "id >=") {
		t.Fatalf("the id bound is not an index condition:\n%s", p)
	}
}
