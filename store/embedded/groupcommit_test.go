package embedded_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/store/embedded"
)

// Concurrent one-fix callers share group commits: 64 devices posting at once
// cost far fewer commits than calls, and each caller, answered only after
// its group is durable, finds its fixes stored.
func TestGroupCommitMergesCallers(t *testing.T) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const callers, rounds = 64, 8
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				p := dalil.Position{Device: fmt.Sprintf("dev-%02d", c), Time: at.Add(time.Duration(r) * time.Second), Lat: 21.4, Lon: 39.9}
				if err := st.AppendPositions(context.Background(), []dalil.Position{p}); err != nil {
					t.Error(err)
					return
				}
				ps, err := st.Trail(context.Background(), p.Device, at, at.Add(time.Hour), 0)
				if err != nil || len(ps) != r+1 {
					t.Errorf("%s after append %d: %d fixes, %v", p.Device, r, len(ps), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s := st.CommitStats()
	if s.Appends != callers*rounds || s.Positions != callers*rounds {
		t.Fatalf("stats %+v, want %d appends and positions", s, callers*rounds)
	}
	if s.Commits >= s.Appends {
		t.Fatalf("%d appends took %d commits: concurrent callers were not grouped", s.Appends, s.Commits)
	}
	t.Logf("%d appends in %d group commits (%.1f per commit)", s.Appends, s.Commits, float64(s.Appends)/float64(s.Commits))
}

// A caller that gives up while its group waits gets its context error, and
// Close still commits what was queued and returns.
func TestGroupCommitCancelledCaller(t *testing.T) {
	st, err := embedded.OpenOptions(t.TempDir(), embedded.Options{CommitWindow: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	at := time.Date(2026, 5, 26, 8, 0, 0, 0, time.UTC)
	err = st.AppendPositions(ctx, []dalil.Position{{Device: "d", Time: at, Lat: 21.4, Lon: 39.9}})
	if err == nil {
		t.Fatal("append answered before its 50 ms window passed, with a 5 ms deadline")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
