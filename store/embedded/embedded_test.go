package embedded_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/store/embedded"
	"dalil/store/storetest"
)

// opener gives each test its own directory; a second open for the same test
// reopens that directory.
func opener(t *testing.T) func(t *testing.T) dalil.Store {
	return openerWith(embedded.Options{})
}

// openerWith is opener with options.
func openerWith(o embedded.Options) func(t *testing.T) dalil.Store {
	var mu sync.Mutex
	dirs := make(map[*testing.T]string)
	return func(t *testing.T) dalil.Store {
		t.Helper()
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		mu.Unlock()
		st, err := embedded.OpenOptions(dir, o)
		if err != nil {
			t.Fatalf("Open(%s): %v", dir, err)
		}
		return st
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener(t))
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "data")
	st, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("data directory not created: %v", err)
	}
}

// A second process on the same directory must be refused, not corrupt it.
func TestOpenLockedDirectory(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st2, err := embedded.Open(dir); err == nil {
		st2.Close()
		t.Fatal("second Open of a directory in use succeeded")
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	err = st.AppendPositions(context.Background(), []dalil.Position{{Device: "d", Time: time.Now(), Lat: 21.4, Lon: 39.9}})
	if !errors.Is(err, dalil.ErrUnavailable) {
		t.Fatalf("append after Close: %v, want ErrUnavailable", err)
	}
}

// Close waits for calls in progress instead of pulling Pebble from under
// them (Pebble panics on use after close).
func TestCloseDuringAppends(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				p := dalil.Position{Device: "d", Time: time.Unix(int64(w*100000+i), 0), Lat: 21.4, Lon: 39.9}
				err := st.AppendPositions(context.Background(), []dalil.Position{p})
				if errors.Is(err, dalil.ErrUnavailable) {
					return
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// A checkpoint taken while the store serves opens as a store of its own
// holding everything acknowledged before it.
func TestCheckpointIsABackup(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	p := dalil.Position{Device: "d", Time: at, Lat: 21.4, Lon: 39.9, Speed: -1, Heading: -1, Altitude: -1, Battery: -1}
	if err := st.AppendPositions(ctx, []dalil.Position{p}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRecords(ctx, "pilgrim", []dalil.Record{{ID: "BD-1", Data: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup")
	if err := st.Checkpoint(backup); err != nil {
		t.Fatal(err)
	}
	p.Time = at.Add(time.Minute) // after the checkpoint: not in it
	if err := st.AppendPositions(ctx, []dalil.Position{p}); err != nil {
		t.Fatal(err)
	}
	b, err := embedded.Open(backup)
	if err != nil {
		t.Fatalf("open checkpoint: %v", err)
	}
	defer b.Close()
	ps, err := b.Trail(ctx, "d", at, at.Add(time.Hour), 0)
	if err != nil || len(ps) != 1 || !ps[0].Time.Equal(at) {
		t.Fatalf("checkpoint trail: %v, %v; want the one ping before the checkpoint", ps, err)
	}
	if _, err := b.GetRecord(ctx, "pilgrim", "BD-1"); err != nil {
		t.Fatalf("checkpoint record: %v", err)
	}
}
