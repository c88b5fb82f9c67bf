package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"dalil"
	"dalil/store/postgres"
)

// Concurrent callers share commits: 64 devices posting at once cost far
// fewer COPY+COMMIT round trips than 64, and every caller is answered only
// after its own positions are durable (all are readable afterwards).
func TestGroupCommitMergesCallers(t *testing.T) {
	db := newTestDB(t)
	st, err := postgres.OpenOptions(context.Background(), db.urlFor(t), postgres.Options{Committers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const callers, rounds = 64, 4
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
			}
		}()
	}
	wg.Wait()
	s := st.Stats()
	if s.Appends != callers*rounds || s.Positions != callers*rounds || s.Failures != 0 {
		t.Fatalf("stats %+v, want %d appends and positions, no failures", s, callers*rounds)
	}
	if s.Commits >= s.Appends {
		t.Fatalf("%d appends took %d commits: concurrent callers were not merged", s.Appends, s.Commits)
	}
	t.Logf("%d appends in %d commits (%.1f per commit)", s.Appends, s.Commits, float64(s.Appends)/float64(s.Commits))
	for c := range callers {
		ps, err := st.Trail(context.Background(), fmt.Sprintf("dev-%02d", c), at, at.Add(time.Hour), 0)
		if err != nil || len(ps) != rounds {
			t.Fatalf("dev-%02d: %d positions, %v; want %d", c, len(ps), err, rounds)
		}
	}
}
