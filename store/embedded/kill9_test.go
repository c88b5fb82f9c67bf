package embedded_test

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"dalil"
	"dalil/store/embedded"
	"dalil/store/storetest"
)

// kill -9 under one-fix load from 64 writers: every acknowledged fix is in
// the trails after the store is reopened (group commit answers a caller only
// once its group is fsynced).
func TestKill9UnderOneFixLoad(t *testing.T) {
	if dir := os.Getenv(storetest.Kill9Env); dir != "" {
		st, err := embedded.Open(dir)
		if err != nil {
			os.Exit(3)
		}
		storetest.Kill9Child(st)
	}
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9UnderOneFixLoad$")
	cmd.Env = append(os.Environ(), storetest.Kill9Env+"="+dir)
	storetest.KillNine(t, cmd, 2*time.Second, func(t *testing.T) dalil.Store {
		st, err := embedded.Open(dir)
		if err != nil {
			t.Fatalf("reopen after kill -9: %v", err)
		}
		return st
	})
}
