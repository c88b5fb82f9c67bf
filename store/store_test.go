package store_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"dalil"
	"dalil/store"
	"dalil/store/embedded"
	"dalil/store/postgres"
)

func TestOpenDirectoryIsEmbedded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := store.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*embedded.Store); !ok {
		t.Fatalf("Open(%q) = %T, want *embedded.Store", dir, st)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("data directory not created: %v", err)
	}
}

func TestOpenPostgresURL(t *testing.T) {
	u := os.Getenv("DALIL_TEST_POSTGRES")
	if u == "" || !strings.Contains(u, "?") {
		t.Skip("DALIL_TEST_POSTGRES is not set; skipping (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	// A throwaway schema of our own, passed through the URL as search_path.
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	schema := fmt.Sprintf("dalil_test_storeopen_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, `CREATE SCHEMA "`+schema+`"`); err != nil {
		t.Fatal(err)
	}
	defer admin.Exec(ctx, `DROP SCHEMA "`+schema+`" CASCADE`)
	st, err := store.Open(ctx, u+"&search_path="+schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*postgres.Store); !ok {
		t.Fatalf("Open(postgres URL) = %T, want *postgres.Store", st)
	}
}

func TestOpenUnreachablePostgresIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, scheme := range []string{"postgres", "postgresql", "POSTGRES"} {
		_, err := store.Open(context.Background(), scheme+"://u@"+addr+"/db?sslmode=disable&connect_timeout=2", nil)
		if !errors.Is(err, dalil.ErrUnavailable) {
			t.Fatalf("%s URL to a closed port: %v, want ErrUnavailable", scheme, err)
		}
	}
}

func TestOpenEmptySpec(t *testing.T) {
	if _, err := store.Open(context.Background(), "", nil); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}
