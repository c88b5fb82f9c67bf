package postgres_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"dalil"
	"dalil/store/postgres"
	"dalil/store/storetest"
)

// kill -9 under one-fix load from 64 writers: every acknowledged fix is in
// the trails after the store is reopened (the group committer answers a
// caller only after its transaction committed).
func TestKill9UnderOneFixLoad(t *testing.T) {
	if u := os.Getenv(storetest.Kill9Env); u != "" {
		st, err := postgres.Open(context.Background(), u)
		if err != nil {
			os.Exit(3)
		}
		storetest.Kill9Child(st)
	}
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	db := newTestDB(t)
	u := db.urlFor(t)
	// Create the schema here, so that the child only appends.
	st, err := postgres.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9UnderOneFixLoad$")
	cmd.Env = append(os.Environ(), storetest.Kill9Env+"="+u)
	storetest.KillNine(t, cmd, 2*time.Second, func(t *testing.T) dalil.Store {
		st, err := postgres.Open(context.Background(), u)
		if err != nil {
			t.Fatalf("reopen after kill -9: %v", err)
		}
		return st
	})
}
