package embedded_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"dalil/store/embedded"
	"dalil/store/storetest"
	"dalil/tracking"
)

// opener gives each test its own directory; a second open for the same test
// reopens that directory.
func opener(t *testing.T) func(t *testing.T) tracking.Store {
	var mu sync.Mutex
	dirs := make(map[*testing.T]string)
	return func(t *testing.T) tracking.Store {
		t.Helper()
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		mu.Unlock()
		st, err := embedded.Open(dir)
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
	err = st.AppendPositions(context.Background(), []tracking.Position{{Device: "d", Time: time.Now(), Lat: 21.4, Lon: 39.9}})
	if !errors.Is(err, tracking.ErrUnavailable) {
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
				p := tracking.Position{Device: "d", Time: time.Unix(int64(w*100000+i), 0), Lat: 21.4, Lon: 39.9}
				err := st.AppendPositions(context.Background(), []tracking.Position{p})
				if errors.Is(err, tracking.ErrUnavailable) {
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
