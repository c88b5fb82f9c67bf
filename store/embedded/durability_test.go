package embedded_test

import (
	"context"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"dalil"
	"dalil/store/embedded"
)

// Every acknowledged append has been fsynced: one writer doing N appends
// causes at least N syncs (nothing is left to a background flush).
func TestAppendReturnsAfterFsync(t *testing.T) {
	var syncs atomic.Int64
	st, err := embedded.OpenOptions(t.TempDir(), embedded.Options{FS: syncCountingFS{vfs.Default, &syncs}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	// The first append also syncs the sequence lease; start counting after it.
	if err := st.AppendPositions(ctx, []dalil.Position{{Device: "d", Time: at, Lat: 21.4, Lon: 39.9}}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		before := syncs.Load()
		p := dalil.Position{Device: "d", Time: at.Add(time.Duration(i+1) * time.Second), Lat: 21.4, Lon: 39.9}
		if err := st.AppendPositions(ctx, []dalil.Position{p}); err != nil {
			t.Fatal(err)
		}
		if syncs.Load() == before {
			t.Fatalf("append %d returned without an fsync", i)
		}
	}
}

// A process killed right after its appends were acknowledged (no Close, no
// flush) loses none of them: the WAL is replayed at the next Open.
func TestAcknowledgedSurvivesKill(t *testing.T) {
	if dir := os.Getenv("DALIL_EMBEDDED_CRASH_DIR"); dir != "" {
		st, err := embedded.Open(dir)
		if err != nil {
			os.Exit(3)
		}
		at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
		for i := range 100 {
			p := dalil.Position{Device: "crash", Time: at.Add(time.Duration(i) * time.Second), Lat: 21.4, Lon: 39.9}
			if err := st.AppendPositions(context.Background(), []dalil.Position{p}); err != nil {
				os.Exit(4)
			}
		}
		os.Exit(0) // no Close: the deferred flushes never run
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedSurvivesKill$")
	cmd.Env = append(os.Environ(), "DALIL_EMBEDDED_CRASH_DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	st, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	ps, err := st.Trail(context.Background(), "crash", at, at.Add(time.Hour), 0)
	if err != nil || len(ps) != 100 {
		t.Fatalf("after the kill: %d of 100 acknowledged positions, err %v", len(ps), err)
	}
}
